// Text dump (in the layout of the kernel's mt_dump, reference section 8)
// and Graphviz DOT rendering of a tree, plus the shape statistics.
#pragma once

#include "engine/engine.h"
#include "engine/walk.h"

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace maple::detail {

/// What dump_dot() draws besides the tree: a title, nodes to fill (a
/// cursor's path, the nodes a write replaced or made; edges between two
/// filled nodes are drawn as a path), nodes to fill in a second colour (a
/// write's in-place rewrites) and one slot to mark.
struct dot_style {
  std::string title;
  std::vector<const void *> filled;  // node addresses
  std::string fill = "#cfe2f3";
  std::string path = "#3d85c6";  // empty: no path edges
  std::vector<const void *> changed;
  std::string change = "#fff2cc";
  const void *mark_node = nullptr;  // slot mark_slot of this node is marked
  unsigned mark_slot = 0;
  std::string mark = "#6fa8dc";
};

template <unsigned S>
struct dumper {
  using E = engine<S>;
  using W = walker<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  static constexpr unsigned P = S - 1;

  struct num {
    std::uint64_t v;
    dump_format f;
    friend std::ostream &operator<<(std::ostream &os, num n) {
      if (n.f == dump_format::hex) return os << "0x" << std::hex << n.v << std::dec;
      return os << std::dec << n.v;
    }
  };
  static const void *ptr(const void *p) { return p; }

  static void print_range(std::ostream &os, std::uint64_t min, std::uint64_t max, dump_format f) {
    os << num{min, f};
    if (min != max) os << "-" << num{max, f};
  }

  static void print_entry(std::ostream &os, word e) {
    const void *p = reinterpret_cast<const void *>(e);
    if (e == 0)
      os << "(empty)";
    else if (is_value_entry(p))
      os << "value " << value_of_entry(p) << " (0x" << std::hex << value_of_entry(p) << std::dec
         << ") [" << p << "]";
    else if (is_reserved_entry(p))
      os << "UNKNOWN ENTRY (" << p << ")";
    else
      os << p;
  }

  static void dump_node_line(std::ostream &os, const node_t *n, std::uint64_t min,
                             std::uint64_t max, unsigned depth, bool leaf, dump_format f,
                             bool gap_node = false) {
    unsigned end = gap_node ? n->meta_end() : n->end(max);
    print_range(os, min, max, f);
    os << ": node " << ptr(n) << " depth " << depth << " type "
       << (leaf       ? 1
           : gap_node ? 3
                      : 2)
       << " parent " << reinterpret_cast<const void *>(n->parent) << " contents:";
    for (unsigned i = 0; i <= end && i < S; ++i) {
      os << " " << reinterpret_cast<const void *>(n->slot[i]);
      if (i < end) os << " " << num{n->pivot[i], f};
    }
    if (gap_node) {
      os << " | gaps";
      for (unsigned i = 0; i <= end && i < node_t::A; ++i) os << " " << n->gap(i);
      os << " | largest " << n->gap_offset();
    }
    os << " | end " << end << "\n";
  }

  static void dump_node(std::ostream &os, word ref, std::uint64_t min, std::uint64_t max,
                        unsigned depth, dump_format f) {
    const node_t *n = node_t::from_ref(ref);
    const bool leaf = node_t::ref_is_leaf(ref);
    os << std::string(2 * depth, ' ');
    dump_node_line(os, n, min, max, depth, leaf, f,
                   node_t::kind_of(ref) == node_kind::gap_internal);
    unsigned end = node_t::end_of(ref, max);
    std::uint64_t lo = min;
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      if (leaf) {
        os << std::string(2 * depth + 2, ' ');
        print_range(os, lo, hi, f);
        os << ": ";
        print_entry(os, n->slot[i]);
        os << "\n";
      } else {
        dump_node(os, n->slot[i], lo, hi, depth + 1, f);
      }
      if (hi == max_index) break;
      lo = hi + 1;
    }
  }

  static void dump(const tree_t &t, std::ostream &os, dump_format f) {
    word root = E::root(t);
    os << "maple_tree(" << ptr(&t) << ") flags " << static_cast<unsigned>(E::flags(t))
       << ", height " << E::height(t) << " root " << reinterpret_cast<const void *>(root) << "\n";
    if (!is_node_word(root)) {
      if (root) {
        os << "0: ";
        print_entry(os, root);
        os << "\n";
      }
      return;
    }
    dump_node(os, root, 0, max_index, 0, f);
  }

  // ---- Graphviz DOT -----------------------------------------------------
  // Nodes are named by their preorder number (n0 is the root) and entries
  // are drawn without addresses, so the same tree shape always gives the
  // same text (docs/images/tree/ is generated from it).

  /// An index as drawn: "max" and "max-k" near the top of the index space
  /// keep labels of the rightmost nodes (and their gaps) short.
  static std::string dot_index(std::uint64_t v) {
    if (v == max_index) return "max";
    // Appending (not "literal" + string): GCC 12 reports a false -Wrestrict
    // for operator+ on a literal once this is inlined.
    if (max_index - v < (std::uint64_t{1} << 20))
      return std::string("max-").append(std::to_string(max_index - v));
    return std::to_string(v);
  }
  static std::string dot_range(std::uint64_t lo, std::uint64_t hi) {
    return lo == hi ? dot_index(lo) : dot_index(lo) + "-" + dot_index(hi);
  }
  static std::string dot_entry(word e) {
    const void *p = reinterpret_cast<const void *>(e);
    if (e == 0) return "empty";
    if (is_value_entry(p)) return std::string("v").append(std::to_string(value_of_entry(p)));
    return "ptr";  // never the address: the text must not change between runs
  }
  static std::string dot_quoted(const std::string &s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '\n') {
        q += "\\n";  // DOT's line break
        continue;
      }
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\"";
  }

  struct dot_walk {
    std::ostream &os;
    const dot_style &style;
    unsigned next = 0;  // preorder number of the next node drawn
    static bool in(const std::vector<const void *> &set, const node_t *n) {
      return std::find(set.begin(), set.end(), n) != set.end();
    }
    bool filled(const node_t *n) const { return in(style.filled, n); }
    const std::string *colour(const node_t *n) const {
      if (filled(n)) return &style.fill;
      return in(style.changed, n) ? &style.change : nullptr;
    }
  };

  /// One node as an HTML-like table: its range, then one cell per slot:
  /// the slot's range, below it a leaf's entry or an allocation node's gap
  /// record (the node's largest in bold).
  static void dot_label(dot_walk &w, word ref, std::uint64_t min, std::uint64_t max, unsigned end) {
    const node_t *n = node_t::from_ref(ref);
    const bool leaf = node_t::ref_is_leaf(ref);
    const bool gaps = node_t::kind_of(ref) == node_kind::gap_internal;
    std::ostream &os = w.os;
    os << "<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\"";
    if (const std::string *c = w.colour(n)) os << " BGCOLOR=\"" << *c << "\"";
    os << "><TR><TD COLSPAN=\"" << end + 1 << "\"><B>" << dot_range(min, max)
       << "</B></TD></TR><TR>";
    std::uint64_t lo = min;
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      os << "<TD PORT=\"s" << i << "\"";
      const bool marked = n == w.style.mark_node && i == w.style.mark_slot;
      if (marked)
        os << " BGCOLOR=\"" << w.style.mark << "\"";
      else if (leaf && n->slot[i] == 0)
        os << " BGCOLOR=\"#eeeeee\"";
      os << ">" << (marked ? "<B>" : "") << dot_range(lo, hi);
      if (leaf) os << "<BR/>" << dot_entry(n->slot[i]);
      if (gaps && i == n->gap_offset())
        os << "<BR/><B>gap " << dot_index(n->gap(i)) << "</B>";
      else if (gaps)
        os << "<BR/>gap " << dot_index(n->gap(i));
      os << (marked ? "</B>" : "") << "</TD>";
      if (hi == max_index) break;
      lo = hi + 1;
    }
    os << "</TR></TABLE>>";
  }

  /// Draws the subtree at `ref`; returns its node's number.
  static unsigned dot_node(dot_walk &w, word ref, std::uint64_t min, std::uint64_t max) {
    const unsigned id = w.next++;
    const node_t *n = node_t::from_ref(ref);
    const unsigned end = node_t::end_of(ref, max);
    w.os << "  n" << id << " [label=";
    dot_label(w, ref, min, max, end);
    w.os << "];\n";
    if (node_t::ref_is_leaf(ref)) return id;
    std::uint64_t lo = min;
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      const unsigned child = dot_node(w, n->slot[i], lo, hi);
      w.os << "  n" << id << ":s" << i << ":s -> n" << child << ":n";
      // An edge between two filled nodes is part of the path being shown.
      if (!w.style.path.empty() && w.filled(n) && w.filled(node_t::from_ref(n->slot[i])))
        w.os << " [penwidth=2.5, color=\"" << w.style.path << "\"]";
      w.os << ";\n";
      if (hi == max_index) break;
      lo = hi + 1;
    }
    return id;
  }

  static void dump_dot(const tree_t &t, std::ostream &os, const dot_style &style = {}) {
    os << "digraph maple {\n  graph [ordering=out, nodesep=0.2, ranksep=0.45, "
          "fontname=\"Helvetica\", fontsize=12";
    if (!style.title.empty()) os << ", labelloc=t, label=" << dot_quoted(style.title);
    os << "];\n  node [shape=plain, fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [arrowsize=0.6];\n";
    word root = E::root(t);
    if (is_node_word(root)) {
      dot_walk w{os, style};
      dot_node(w, root, 0, max_index);
    } else if (root) {
      os << "  root [shape=box, label=\"0: " << dot_entry(root) << "\"];\n";
    } else {
      os << "  root [shape=box, label=\"empty tree\"];\n";
    }
    os << "}\n";
  }

  /// The tree's nodes in preorder (the order of their DOT names n0, n1, ...).
  static void collect_nodes(word ref, std::uint64_t max, std::vector<const void *> &out) {
    const node_t *n = node_t::from_ref(ref);
    out.push_back(n);
    if (node_t::ref_is_leaf(ref)) return;
    const unsigned end = node_t::end_of(ref, max);
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      collect_nodes(n->slot[i], hi, out);
      if (hi == max_index) break;
    }
  }
  static std::vector<const void *> nodes(const tree_t &t) {
    std::vector<const void *> out;
    if (word root = E::root(t); is_node_word(root)) collect_nodes(root, max_index, out);
    return out;
  }

  static void stats_node(tree_stats &s, word ref, std::uint64_t max) {
    const node_t *n = node_t::from_ref(ref);
    unsigned end = node_t::end_of(ref, max);
    ++s.nodes;
    if (node_t::ref_is_leaf(ref)) {
      ++s.leaves;
      s.leaf_slots += end + 1;
      for (unsigned i = 0; i <= end; ++i) s.ranges += n->slot[i] != 0;
      return;
    }
    for (unsigned i = 0; i <= end; ++i) stats_node(s, n->slot[i], n->slot_max(i, end, max));
  }

  static tree_stats stats(const tree_t &t) {
    tree_stats s;
    s.height = E::height(t);
    word root = E::root(t);
    if (!is_node_word(root)) {
      s.ranges = root != 0;
      return s;
    }
    stats_node(s, root, max_index);
    s.bytes = s.nodes * sizeof(node_t);
    return s;
  }
};

}  // namespace maple::detail
