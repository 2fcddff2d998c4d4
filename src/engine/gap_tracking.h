// Gap tracking in allocation trees: every internal node records, beside each
// child, the size of the largest empty range under that child, and the
// offset of its own largest one (kernel: ma_gaps / ma_meta_gap, reference
// sections 1.3 and 1.6). Adjacent empty ranges always coalesce and a
// non-rightmost leaf never ends empty, so every maximal empty range is one
// leaf slot and a leaf's largest gap is its largest empty slot.
//
// New internal nodes compute their gaps when built (their children are
// complete by then: levels are built bottom-up). A write that changes a
// node without replacing its parent's record (an in-place leaf write, one
// node published in its parent's slot) propagates the new largest gap up
// the parent links while the recorded value changes (kernel:
// mas_update_gap).
#pragma once

#include "engine/node.h"

#include <algorithm>

namespace maple::detail {

template <unsigned S>
struct gap_tracker {
  using node_t = node<S>;

  /// Indices in [lo, hi], saturating (only an empty tree is 2^64 wide).
  static std::uint64_t span(std::uint64_t lo, std::uint64_t hi) noexcept {
    return hi - lo == max_index ? max_index : hi - lo + 1;
  }

  /// Largest empty range of leaf n, whose bounds are [min, max].
  static std::uint64_t leaf_gap(const node_t *n, std::uint64_t min, std::uint64_t max) noexcept {
    const unsigned e = n->end(max);
    std::uint64_t best = 0, lo = min;
    for (unsigned i = 0; i <= e; ++i) {
      std::uint64_t hi = n->slot_max(i, e, max);
      if (load_relaxed(n->slot[i]) == 0) best = std::max(best, span(lo, hi));
      lo = hi + 1;
    }
    return best;
  }

  /// Largest empty range under the node `ref` refers to.
  static std::uint64_t node_gap(word ref, std::uint64_t min, std::uint64_t max) noexcept {
    const node_t *n = node_t::from_ref(ref);
    return node_t::ref_is_leaf(ref) ? leaf_gap(n, min, max) : n->max_gap();
  }

  /// Offset of the first largest recorded gap of gap node n.
  static unsigned largest(const node_t *n, unsigned end) noexcept {
    unsigned off = 0;
    std::uint64_t best = n->gap(0);
    for (unsigned i = 1; i <= end; ++i)
      if (n->gap(i) > best) best = n->gap(i), off = i;
    return off;
  }

  /// Computes every gap record of gap node n (bounds [min, max]) from its
  /// children, zeroes the unused ones and sets the metadata.
  static void compute(node_t *n, std::uint64_t min, std::uint64_t max) noexcept {
    const unsigned e = n->meta_end();
    std::uint64_t lo = min;
    for (unsigned i = 0; i <= e; ++i) {
      std::uint64_t hi = n->slot_max(i, e, max);
      n->set_gap(i, node_gap(load_relaxed(n->slot[i]), lo, hi));
      lo = hi + 1;
    }
    for (unsigned i = e + 1; i < node_t::A; ++i) n->set_gap(i, 0);
    n->set_meta(e, largest(n, e));
  }

  /// Node n (bounds [min, max]) changed in place or replaced its old copy
  /// in the parent's slot: brings the ancestors' records up to date.
  static void propagate(node_t *n, bool leaf, std::uint64_t min, std::uint64_t max) noexcept {
    std::uint64_t g = leaf ? leaf_gap(n, min, max) : n->max_gap();
    while (!n->is_root()) {
      node_t *p = n->parent_node();
      const unsigned s = n->parent_slot();
      if (p->gap(s) == g) return;
      const std::uint64_t before = p->max_gap();
      const unsigned e = p->meta_end();
      p->set_gap(s, g);
      p->set_meta(e, largest(p, e));
      g = p->max_gap();
      if (g == before) return;
      n = p;
    }
  }
};

}  // namespace maple::detail
