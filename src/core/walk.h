// Read-side walks: descend to an index, step between leaves through parent
// links, and the lookups built on them (load, lookup, find, find_rev).
//
// A node's minimum is never stored and its maximum only when it is not full,
// so walks carry [min, max] down from the root; stepping sideways recovers a
// node's bounds from its parent's pivots (node_min / node_max).
#pragma once

#include "core/engine.h"

#include <optional>

namespace maple::detail {

template <unsigned S>
struct walker {
  using E = engine<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  static constexpr unsigned P = S - 1;

  /// A position in a leaf: the leaf, its bounds and data end, and a slot.
  struct leaf_pos {
    node_t *leaf = nullptr;
    std::uint64_t min = 0, max = 0;
    unsigned end = 0, off = 0;

    std::uint64_t first() const noexcept { return leaf->slot_min(off, min); }
    std::uint64_t last() const noexcept { return leaf->slot_max(off, end, max); }
    void *entry() const noexcept { return reinterpret_cast<void *>(load_acquire(leaf->slot[off])); }
  };

  /// Data end of an internal node (either kind), from its own words: a full
  /// node's last slot holds a child reference (a node address, far above
  /// 0xFFFF); otherwise it holds the metadata (end | gap offset << 8).
  static unsigned internal_end(const node_t *n) noexcept {
    word w = load_relaxed(n->slot[S - 1]);
    return w > 0xFFFF ? S - 1 : static_cast<unsigned>(w & 0xFF);
  }

  /// Implied bounds of a node, recovered through parent links.
  static std::uint64_t node_max(const node_t *n) noexcept {
    while (!n->is_root()) {
      unsigned s = n->parent_slot();
      const node_t *p = n->parent_node();
      if (s < P) return load_relaxed(p->pivot[s]);
      n = p;
    }
    return max_index;
  }
  static std::uint64_t node_min(const node_t *n) noexcept {
    while (!n->is_root()) {
      unsigned s = n->parent_slot();
      const node_t *p = n->parent_node();
      if (s > 0) return load_relaxed(p->pivot[s - 1]) + 1;
      n = p;
    }
    return 0;
  }

  /// Descends from `root_ref` to the leaf holding index.
  static void descend(word ref, std::uint64_t index, leaf_pos &pos) noexcept {
    std::uint64_t min = 0, max = max_index;
    for (;;) {
      node_t *n = node_t::from_ref(ref);
      prefetch_node(n);
      unsigned end = node_t::end_of(ref, max);
      unsigned off = n->slot_for(index, end);
      if (node_t::ref_is_leaf(ref)) {
        pos = {n, min, max, end, off};
        return;
      }
      std::uint64_t cmin = n->slot_min(off, min);
      max = n->slot_max(off, end, max);
      min = cmin;
      ref = load_acquire(n->slot[off]);
    }
  }

  /// Asks for all of a node's cache lines at once so that the misses of
  /// the pivot scan and the slot read overlap instead of queueing.
  static void prefetch_node(const node_t *n, unsigned from = 64) noexcept {
    const char *c = reinterpret_cast<const char *>(n);
    for (unsigned i = from; i < sizeof(node_t); i += 64) __builtin_prefetch(c + i);
  }

  static void *load(const tree_t &t, std::uint64_t index) noexcept {
    word ref = E::root(t);
    if (!is_node_word(ref)) return index == 0 ? reinterpret_cast<void *>(ref) : nullptr;
    for (;;) {
      const node_t *n = node_t::from_ref(ref);
      prefetch_node(n);
      unsigned off = 0;
      // pivot[end] >= index always stops the scan at or before the end.
      while (off < P && load_relaxed(n->pivot[off]) < index) ++off;
      word w = load_acquire(n->slot[off]);
      if (node_t::ref_is_leaf(ref)) return reinterpret_cast<void *>(w);
      ref = w;
    }
  }

  static range_entry lookup(const tree_t &t, std::uint64_t index) noexcept {
    word ref = E::root(t);
    if (!is_node_word(ref)) {
      if (ref == 0) return {0, max_index, nullptr};
      if (index == 0) return {0, 0, reinterpret_cast<void *>(ref)};
      return {1, max_index, nullptr};
    }
    leaf_pos p;
    descend(ref, index, p);
    return {p.first(), p.last(), p.entry()};
  }

  /// Moves to the first slot of the next leaf; false at the right edge.
  static bool next_leaf(leaf_pos &p) noexcept {
    if (p.max == max_index) return false;
    const node_t *n = p.leaf;
    node_t *par = n->parent_node();
    unsigned s = n->parent_slot();
    const unsigned pe = internal_end(par);
    if (s < pe) {  // the common case: a sibling leaf
      node_t *leaf = node_t::from_ref(load_acquire(par->slot[s + 1]));
      // Scans go on: ask for the leaf after this one while this one is read.
      if (s + 2 <= pe) prefetch_node(node_t::from_ref(load_relaxed(par->slot[s + 2])), 0);
      p.min = p.max + 1;
      p.max = s + 1 < P ? load_relaxed(par->pivot[s + 1]) : node_max(par);
      p.leaf = leaf;
      p.end = leaf->end(p.max);
      p.off = 0;
      return true;
    }
    for (;;) {
      par = n->parent_node();
      s = n->parent_slot();
      if (s < internal_end(par)) break;
      n = par;
    }
    word ref = load_acquire(par->slot[s + 1]);
    while (!node_t::ref_is_leaf(ref)) ref = load_acquire(node_t::from_ref(ref)->slot[0]);
    node_t *leaf = node_t::from_ref(ref);
    p.min = p.max + 1;
    p.max = node_max(leaf);
    p.leaf = leaf;
    p.end = leaf->end(p.max);
    p.off = 0;
    return true;
  }

  /// Moves to the last slot of the previous leaf; false at the left edge.
  static bool prev_leaf(leaf_pos &p) noexcept {
    if (p.min == 0) return false;
    const node_t *n = p.leaf;
    node_t *par;
    unsigned s;
    for (;;) {
      par = n->parent_node();
      s = n->parent_slot();
      if (s > 0) break;
      n = par;
    }
    word ref = load_acquire(par->slot[s - 1]);
    while (!node_t::ref_is_leaf(ref)) {
      node_t *c = node_t::from_ref(ref);
      ref = load_acquire(c->slot[internal_end(c)]);
    }
    node_t *leaf = node_t::from_ref(ref);
    p.max = p.min - 1;
    p.min = node_min(leaf);
    p.leaf = leaf;
    p.end = leaf->end(p.max);
    p.off = p.end;
    return true;
  }

  /// From p, the first stored range at or after p's slot starting <= max.
  static bool scan_forward(leaf_pos &p, std::uint64_t max) noexcept {
    for (;;) {
      for (; p.off <= p.end; ++p.off) {
        if (p.first() > max) return false;
        if (p.entry()) return true;
      }
      if (!next_leaf(p)) return false;
    }
  }
  /// From p, the last stored range at or before p's slot ending >= min.
  static bool scan_backward(leaf_pos &p, std::uint64_t min) noexcept {
    for (;;) {
      for (;;) {
        if (p.last() < min) return false;
        if (p.entry()) return true;
        if (p.off == 0) break;
        --p.off;
      }
      if (!prev_leaf(p)) return false;
    }
  }

  /// Root-entry trees ([0,0] in the root word) have no leaf to stand on.
  static std::optional<range_entry> root_entry(word ref) noexcept {
    if (ref == 0) return std::nullopt;
    return range_entry{0, 0, reinterpret_cast<void *>(ref)};
  }

  static std::optional<range_entry> find(const tree_t &t, std::uint64_t index,
                                         std::uint64_t max) noexcept {
    if (index > max) return std::nullopt;
    word ref = E::root(t);
    if (!is_node_word(ref)) return index == 0 ? root_entry(ref) : std::nullopt;
    leaf_pos p;
    descend(ref, index, p);
    if (!scan_forward(p, max)) return std::nullopt;
    return range_entry{p.first(), p.last(), p.entry()};
  }

  static std::optional<range_entry> find_rev(const tree_t &t, std::uint64_t index,
                                             std::uint64_t min) noexcept {
    if (index < min) return std::nullopt;
    word ref = E::root(t);
    if (!is_node_word(ref)) return min == 0 ? root_entry(ref) : std::nullopt;
    leaf_pos p;
    descend(ref, index, p);
    if (!scan_backward(p, min)) return std::nullopt;
    return range_entry{p.first(), p.last(), p.entry()};
  }
};

}  // namespace maple::detail
