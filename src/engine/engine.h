// The engine's shared vocabulary: geometry constants, access to the tree's
// state (detail::tree_core, which the engine owns and the public tree
// classes hold), node allocation and freeing.
#pragma once

#include "engine/node.h"

#include <maple/detail/tree_core.h>
#include <maple/entry.h>
#include <maple/error.h>

#include <memory_resource>
#include <new>

namespace maple::detail {

/// Smallest number of items a non-root node holds (kernel: 16/2 - 2 as a
/// data-end index, i.e. 7 items for 16 slots); at least 2 so tiny test
/// geometries still branch.
template <unsigned S>
inline constexpr unsigned min_items = (S / 2 - 1) < 2 ? 2 : S / 2 - 1;

/// Smallest number of children of a non-root internal node of an
/// allocation tree (fewer children fit: node.h, gap_fanout).
template <unsigned S>
inline constexpr unsigned gap_min_items = (gap_fanout<S> / 2 - 1) < 2 ? 2 : gap_fanout<S> / 2 - 1;

/// Deepest tree the geometry can produce over 2^64 indices (each internal
/// level multiplies the covered slots by at least its minimum), plus slack.
template <unsigned S>
constexpr unsigned compute_max_height() {
  constexpr unsigned m = gap_min_items<S> < min_items<S> ? gap_min_items<S> : min_items<S>;
  unsigned h = 1;
  long double leaves = 2.0L * 18446744073709551616.0L / min_items<S>;
  while (leaves > 1.0L) {
    leaves /= m;
    ++h;
  }
  return h + 2;
}
template <unsigned S>
inline constexpr unsigned max_height = compute_max_height<S>();

template <unsigned S>
struct engine {
  using tree_t = tree_core;
  using node_t = node<S>;
  static constexpr unsigned P = S - 1;
  static constexpr unsigned kMin = min_items<S>;
  static constexpr unsigned kMaxHeight = max_height<S>;

  // ---- the tree's state ------------------------------------------------
  static word root(const tree_t &t) noexcept { return t.root.load(std::memory_order_acquire); }
  static void set_root(tree_t &t, word w) noexcept { t.root.store(w, std::memory_order_release); }
  static unsigned height(const tree_t &t) noexcept { return t.height; }
  static void set_height(tree_t &t, unsigned h) noexcept { t.height = h; }
  static write_mutex &lock(const tree_t &t) noexcept { return t.lock; }
  static const external_lock &external(const tree_t &t) noexcept { return t.ext; }
  static bool uses_external_lock(const tree_t &t) noexcept { return t.uses_external_lock(); }
  static bool rcu_mode(const tree_t &t) noexcept { return t.rcu_mode(); }
  static bool tracks_gaps(const tree_t &t) noexcept { return t.tracks_gaps(); }
  static tree_flags flags(const tree_t &t) noexcept { return t.flags; }
  /// Children an internal node holds at most / at least (non-root, not
  /// rightmost), and the kind of the tree's internal nodes.
  static unsigned internal_cap(const tree_t &t) noexcept {
    return tracks_gaps(t) ? gap_fanout<S> : S;
  }
  static unsigned internal_min(const tree_t &t) noexcept {
    return tracks_gaps(t) ? gap_min_items<S> : kMin;
  }
  static node_kind internal_kind(const tree_t &t) noexcept {
    return tracks_gaps(t) ? node_kind::gap_internal : node_kind::internal;
  }
  static std::uint64_t epoch(const tree_t &t) noexcept {
    return t.epoch.load(std::memory_order_relaxed);
  }
  static void bump_epoch(tree_t &t) noexcept {
    t.epoch.store(t.epoch.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  static std::uint64_t &tenure(tree_t &t) noexcept { return t.tenure; }
  static std::uint64_t tenure(const tree_t &t) noexcept { return t.tenure; }

  // ---- node memory --------------------------------------------------------
  static std::pmr::memory_resource *resource(const tree_t &t) noexcept { return t.mr; }
  /// Throws std::bad_alloc (from the resource) when out of memory.
  static node_t *alloc_node(const tree_t &t) {
    void *p = t.mr->allocate(sizeof(node_t), alignof(node_t));
    return static_cast<node_t *>(p);
  }
  static void free_node(const tree_t &t, node_t *n) noexcept {
    t.mr->deallocate(n, sizeof(node_t), alignof(node_t));
  }
  /// Frees a whole subtree (depth-first); `ref` is a tagged node reference
  /// and `max` the subtree's implied maximum.
  static void free_subtree(const tree_t &t, word ref, std::uint64_t max) noexcept {
    node_t *n = node_t::from_ref(ref);
    if (!node_t::ref_is_leaf(ref)) {
      unsigned e = node_t::end_of(ref, max);
      for (unsigned i = 0; i <= e; ++i) free_subtree(t, n->slot[i], n->slot_max(i, e, max));
    }
    free_node(t, n);
  }
};

}  // namespace maple::detail
