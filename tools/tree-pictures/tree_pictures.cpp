// tools/tree-pictures - builds small trees and writes the Graphviz DOT of
// the pictures in docs/images/tree/ (scripts/tree-pictures.sh renders them).
//
//   maple-tree-pictures OUTDIR     writes OUTDIR/NAME.dot for every picture
//
// Small geometries make readable pictures: 4-slot nodes (basic_raw_tree<4>)
// for the plain trees, 6-slot nodes for the allocation tree (3 children per
// internal node). Each scenario checks that the tree validates and that the
// write changed the shape the way its picture says (a leaf more, a leaf
// less, a store across leaves), and fails otherwise, so an engine change
// that moves a picture's point does not go unnoticed. The output names
// nodes by preorder and draws no addresses: the same engine gives the same
// text every run.
#include "tree/raw_tree_impl.h"
#include "tree/tree_access.h"

#include <maple/cursor.h>
#include <maple/raw_tree.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using maple::detail::dot_style;
using maple::detail::write_kind;
using small_tree = maple::basic_raw_tree<4>;
using alloc_tree = maple::basic_raw_tree<6>;
using node_list = std::vector<const void *>;

// Fills: nodes a write is about to replace, nodes it made (the nodes it
// changes in place get dot_style's second colour).
constexpr const char *kReplaced = "#f4cccc";
constexpr const char *kCreated = "#d9ead3";

struct picture {
  std::string name;  // file name without .dot
  std::string dot;
};

void *val(std::uint64_t v) { return maple::make_value_entry(v); }

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

std::string range_text(std::uint64_t first, std::uint64_t last) {
  return "[" + std::to_string(first) + ", " + std::to_string(last) + "]";
}

template <unsigned S>
void must_validate(const maple::basic_raw_tree<S> &t, const std::string &when) {
  if (auto r = t.validate(); !r) fail(when + ": the tree does not validate: " + r.message);
}

template <unsigned S>
void must_store(maple::basic_raw_tree<S> &t, std::uint64_t first, std::uint64_t last, void *e) {
  if (auto ec = t.store(first, last, e))
    fail("store" + range_text(first, last) + ": " + ec.message());
}

/// Stores v(i) over [step*i, step*i + len - 1] for i in [0, n).
template <unsigned S>
void fill(maple::basic_raw_tree<S> &t, std::uint64_t n, std::uint64_t step, std::uint64_t len) {
  for (std::uint64_t i = 0; i < n; ++i) must_store(t, step * i, step * i + len - 1, val(i));
  must_validate(t, "after filling");
}

template <unsigned S>
std::string dot_of(const maple::basic_raw_tree<S> &t, const dot_style &style) {
  std::ostringstream os;
  maple::detail::dumper<S>::dump_dot(maple::detail::tree_access::core(t), os, style);
  return os.str();
}

/// The tree's nodes in preorder (the order of their DOT names).
template <unsigned S>
node_list nodes_of(const maple::basic_raw_tree<S> &t) {
  return maple::detail::dumper<S>::nodes(maple::detail::tree_access::core(t));
}

/// Says what is wrong with a write's effect (before, after), or "".
using shape_check =
    std::function<std::string(const maple::tree_stats &, const maple::tree_stats &)>;

/// A node's pivots and slots: its words but the parent link (which changes
/// when only its parent was replaced), without the alignment padding.
template <unsigned S>
std::string contents(const void *n) {
  const auto *node = static_cast<const maple::detail::node<S> *>(n);
  const auto *p = reinterpret_cast<const char *>(node->pivot);
  return std::string(p, reinterpret_cast<const char *>(node->slot + S));
}

/// With the engine's test hooks (test builds: MAPLE_TEST_HOOKS) its
/// per-thread write-kind counters confirm what the shape check saw.
void reset_kinds() {
#ifdef MAPLE_TEST_HOOKS
  maple::detail::thread_write_trace().reset();
#endif
}
void confirm_kind([[maybe_unused]] write_kind kind, [[maybe_unused]] const std::string &what) {
#ifdef MAPLE_TEST_HOOKS
  if (maple::detail::thread_write_trace()[kind] == 0)
    fail(what + " was not counted as " + maple::detail::write_kind_name(kind));
#endif
}

/// One write drawn before and after: the nodes it replaces filled in the
/// first picture; the nodes it made, and the old ones it changed in place,
/// in the second.
template <unsigned S>
void before_after(std::vector<picture> &out, const std::string &name, maple::basic_raw_tree<S> &t,
                  const std::string &what, write_kind kind, const shape_check &check,
                  const std::function<void(maple::basic_raw_tree<S> &)> &write) {
  // dup() copies node for node: the copy keeps the old shape in the same
  // preorder, to be drawn once the write has told which nodes it replaced.
  maple::basic_raw_tree<S> old(t.flags());
  if (auto ec = t.dup(old)) fail(name + ": dup: " + ec.message());
  const node_list before = nodes_of(t), old_nodes = nodes_of(old);
  std::vector<std::string> old_words;
  for (const void *n : before) old_words.push_back(contents<S>(n));
  const maple::tree_stats stats_before = t.stats();
  reset_kinds();
  write(t);
  confirm_kind(kind, name + ": " + what);
  must_validate(t, name + " after " + what);
  if (std::string why = check(stats_before, t.stats()); !why.empty())
    fail(name + ": " + what + ": " + why);
  // Every node a write makes is allocated while the nodes it replaces are
  // still in the tree, so an address found before and after is an old node.
  const node_list after = nodes_of(t);
  dot_style b, a;
  b.path.clear();  // no path edges: the fills mark sets, not a walk
  a.path.clear();
  b.fill = kReplaced;
  a.fill = kCreated;
  for (std::size_t i = 0; i < before.size(); ++i) {
    auto at = std::find(after.begin(), after.end(), before[i]);
    if (at == after.end())
      b.filled.push_back(old_nodes[i]);
    else if (contents<S>(*at) != old_words[i]) {
      a.changed.push_back(*at);
      b.changed.push_back(old_nodes[i]);  // rewritten in place (a split's left half)
    }
  }
  for (const void *n : after)
    if (std::find(before.begin(), before.end(), n) == before.end()) a.filled.push_back(n);
  if (a.filled.empty() && a.changed.empty()) fail(name + ": " + what + " changed no node");
  b.title = "before " + what + ": " +
            (b.filled.empty() ? std::string("no node is replaced") : "the red nodes are replaced") +
            (b.changed.empty() ? "" : ", the yellow ones are rewritten in place");
  a.title = "after " + what + ": the green nodes are new" +
            (a.changed.empty() ? "" : ", the yellow ones changed in place");
  out.push_back({name + "-before", dot_of(old, b)});
  out.push_back({name + "-after", dot_of(t, a)});
}

/// Reaches the cursor's leaf and slot (protected in basic_cursor).
template <unsigned S>
struct cursor_probe : maple::basic_cursor<S> {
  explicit cursor_probe(const maple::basic_cursor<S> &c) : maple::basic_cursor<S>(c) {}
  const void *leaf() const { return this->node_; }
  unsigned slot() const { return this->offset_; }
};

/// A read cursor's walk() at `index`: the nodes from the root down to its
/// leaf filled (read back through the leaf's parent links: the walk that
/// put the cursor there), the slot it stands on marked, and the range it
/// stands on in [first, last]. The title is left to the caller.
template <unsigned S>
dot_style cursor_path(const maple::basic_raw_tree<S> &t, std::uint64_t index, std::uint64_t &first,
                      std::uint64_t &last) {
  using node_t = maple::detail::node<S>;
  maple::basic_read_guard<S> g(t);
  cursor_probe<S> c(g.cursor(index));
  c.walk();
  if (c.state() != maple::cursor_state::active) fail("walk(): the cursor is not active");
  dot_style s;
  for (auto *n = static_cast<const node_t *>(c.leaf()); n; n = n->parent_node()) {
    s.filled.insert(s.filled.begin(), n);
    if (n->is_root()) break;
  }
  if (s.filled.size() != t.height()) fail("walk(): the path is not as long as the tree is high");
  s.mark_node = c.leaf();
  s.mark_slot = c.slot();
  first = c.index();
  last = c.last();
  return s;
}

/// The first candidate whose write, on a fresh tree from `build`, passes
/// `check`: the engine decides where a split or a merge happens, so the
/// pictures ask it rather than guess.
template <class Tree>
std::uint64_t first_hit(const std::function<void(Tree &)> &build,
                        const std::vector<std::uint64_t> &candidates,
                        const std::function<void(Tree &, std::uint64_t)> &write,
                        const shape_check &check, const std::string &what) {
  for (std::uint64_t c : candidates) {
    Tree t;
    build(t);
    const maple::tree_stats before = t.stats();
    write(t, c);
    if (check(before, t.stats()).empty()) return c;
  }
  fail("no candidate write was " + what);
}

std::vector<std::uint64_t> upto(std::uint64_t n) {
  std::vector<std::uint64_t> v(n);
  for (std::uint64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::string same_height(const maple::tree_stats &b, const maple::tree_stats &a) {
  return a.height == b.height ? "" : "the height changed";
}

void spanning(std::vector<picture> &out) {
  small_tree t;
  fill(t, 12, 10, 5);
  const std::uint64_t first = 23, last = 67;
  std::uint64_t lf = 0, ll = 0, rf = 0, rl = 0;
  if (cursor_path(t, first, lf, ll).mark_node == cursor_path(t, last, rf, rl).mark_node)
    fail("spanning store: [23, 67] lies in one leaf");
  before_after<4>(out, "spanning-store", t, "store(23, 67, v99)", write_kind::spanning, same_height,
                  [&](small_tree &w) { must_store(w, first, last, val(99)); });
}

void leaf_split(std::vector<picture> &out) {
  // Contiguous ranges appended left to right leave full leaves: a range cut
  // in three inside one of them needs a leaf more (unless a neighbour takes
  // the overflow: then the next range is tried).
  auto build = [](small_tree &t) { fill(t, 10, 10, 10); };
  auto cut = [](small_tree &t, std::uint64_t j) { must_store(t, 10 * j + 3, 10 * j + 5, val(99)); };
  shape_check one_more_leaf = [](const maple::tree_stats &b, const maple::tree_stats &a) {
    if (!same_height(b, a).empty()) return same_height(b, a);
    if (a.leaves != b.leaves + 1) return std::string("the leaves did not grow by one");
    if (a.nodes - a.leaves != b.nodes - b.leaves) return std::string("an internal node split");
    return std::string();
  };
  const std::uint64_t j =
      first_hit<small_tree>(build, upto(10), cut, one_more_leaf, "a leaf split");
  small_tree t;
  build(t);
  before_after<4>(
      out, "leaf-split", t,
      "store(" + std::to_string(10 * j + 3) + ", " + std::to_string(10 * j + 5) + ", v99)",
      write_kind::leaf_split, one_more_leaf, [&](small_tree &w) { cut(w, j); });
}

void rebalance(std::vector<picture> &out) {
  // Stored from the top down, the ranges leave leaves of two items and, on
  // the right, parents of two children. An erase merges the range with the
  // empty ranges beside it and its leaf with the next one; the parent, left
  // with one child, is under its minimum and takes in its neighbour.
  auto build = [](small_tree &t) {
    for (std::uint64_t i = 8; i-- > 0;) must_store(t, 10 * i, 10 * i + 4, val(i));
    must_validate(t, "after filling");
  };
  auto erase = [](small_tree &t, std::uint64_t j) { t.erase(10 * j); };
  shape_check merged = [](const maple::tree_stats &b, const maple::tree_stats &a) {
    if (!same_height(b, a).empty()) return same_height(b, a);
    if (a.leaves + 1 != b.leaves) return std::string("no leaf went");
    if (a.nodes - a.leaves + 1 != b.nodes - b.leaves) return std::string("no internal node went");
    return std::string();
  };
  const std::uint64_t j = first_hit<small_tree>(build, upto(8), erase, merged, "a rebalance");
  small_tree t;
  build(t);
  before_after<4>(out, "rebalance", t, "erase(" + std::to_string(10 * j) + ")",
                  write_kind::rebalance, merged, [&](small_tree &w) { erase(w, j); });
}

void allocation_tree(std::vector<picture> &out) {
  alloc_tree t(maple::tree_flags::alloc);
  // Free ranges of several sizes; the last range runs to max_index, so no
  // gap record is 2^64-sized.
  const std::pair<std::uint64_t, std::uint64_t> ranges[] = {{0, 9},     {12, 19},
                                                            {30, 39},   {41, 49},
                                                            {70, 79},   {80, 84},
                                                            {100, 109}, {115, 119},
                                                            {150, 159}, {163, 169},
                                                            {175, 179}, {200, 209},
                                                            {214, 219}, {240, maple::max_index}};
  std::uint64_t v = 0;
  for (auto [first, last] : ranges) must_store(t, first, last, val(v++));
  must_validate(t, "allocation tree");
  if (t.height() < 3) fail("allocation tree: fewer than two internal levels");
  const std::uint64_t size = 25;
  std::uint64_t start = 0;
  if (auto ec = t.empty_area(0, maple::max_index, size, start)) fail("empty_area: " + ec.message());
  std::uint64_t first = 0, last = 0;
  dot_style s = cursor_path(t, start, first, last);
  s.title =
      "allocation tree: below each child the largest free range under it, the node's "
      "largest in bold\nempty_area(size " +
      std::to_string(size) + ") found " + range_text(start, start + size - 1) +
      " in the free range " + range_text(first, last) + "; the blue nodes are the path to it";
  out.push_back({"allocation-tree", dot_of(t, s)});
}

void cursor_walk(std::vector<picture> &out) {
  small_tree t;
  fill(t, 12, 10, 5);
  std::uint64_t first = 0, last = 0;
  dot_style s = cursor_path(t, 62, first, last);
  s.title = "cursor at 62, walk(): it stands on " + range_text(first, last) +
            " (dark cell); the blue nodes are its path from the root";
  out.push_back({"cursor-path", dot_of(t, s)});
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR   (writes OUTDIR/NAME.dot for every picture)\n",
                 argv[0]);
    return 2;
  }
  std::vector<picture> out;
  try {
    spanning(out);
    leaf_split(out);
    rebalance(out);
    allocation_tree(out);
    cursor_walk(out);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "maple-tree-pictures: %s\n", e.what());
    return 1;
  }
  for (const picture &p : out) {
    const std::string path = std::string(argv[1]) + "/" + p.name + ".dot";
    std::ofstream f(path);
    f << p.dot;
    if (!f.flush()) {
      std::fprintf(stderr, "maple-tree-pictures: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s\n", p.name.c_str());
  }
  return 0;
}
