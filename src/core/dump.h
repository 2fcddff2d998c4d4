// Text dump (in the layout of the kernel's mt_dump, reference section 8)
// and Graphviz DOT rendering of a tree, plus the shape statistics.
#pragma once

#include "core/engine.h"
#include "core/walk.h"

#include <ostream>

namespace maple::detail {

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
    os << "maple_tree(" << ptr(&t) << ") flags " << static_cast<unsigned>(t.flags()) << ", height "
       << E::height(t) << " root " << reinterpret_cast<const void *>(root) << "\n";
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

  static void dot_node(std::ostream &os, word ref, std::uint64_t min, std::uint64_t max) {
    const node_t *n = node_t::from_ref(ref);
    const bool leaf = node_t::ref_is_leaf(ref);
    unsigned end = node_t::end_of(ref, max);
    os << "  n" << ptr(n) << " [label=\"{" << min << "-" << max << "|{";
    for (unsigned i = 0; i <= end; ++i) {
      if (i) os << "|";
      os << "<s" << i << ">";
      if (leaf) {
        word e = n->slot[i];
        if (e == 0)
          os << "-";
        else if (is_value_entry(reinterpret_cast<void *>(e)))
          os << "v" << value_of_entry(reinterpret_cast<void *>(e));
        else
          os << "*";
      }
      os << " " << n->slot_max(i, end, max);
    }
    os << "}}\"];\n";
    if (leaf) return;
    std::uint64_t lo = min;
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      const node_t *c = node_t::from_ref(n->slot[i]);
      os << "  n" << ptr(n) << ":s" << i << " -> n" << ptr(c) << ";\n";
      dot_node(os, n->slot[i], lo, hi);
      if (hi == max_index) break;
      lo = hi + 1;
    }
  }

  static void dump_dot(const tree_t &t, std::ostream &os) {
    os << "digraph maple {\n  node [shape=record, fontsize=10];\n";
    word root = E::root(t);
    if (is_node_word(root))
      dot_node(os, root, 0, max_index);
    else if (root)
      os << "  root [label=\"0: entry\"];\n";
    os << "}\n";
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
