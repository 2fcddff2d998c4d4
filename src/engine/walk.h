// Read-side walks: descend to an index, step between leaves through parent
// links, and the lookups built on them (load, lookup, find, find_rev).
//
// A node's minimum is never stored and its maximum only when it is not full,
// so walks carry [min, max] down from the root; stepping sideways recovers a
// node's bounds from its parent's pivots (node_min / node_max).
#pragma once

#include "engine/engine.h"
#include "engine/pivot_scan.h"

#include <optional>

namespace maple::detail {

/// Steps between leaves that met a dead node (RCU mode) and walked again
/// from the root: a statistic for the tests of the retry paths.
inline std::atomic<std::uint64_t> dead_steps{0};

/// Root-to-leaf read walks (descend, load) on the calling thread: counted
/// only in test builds (MAPLE_TEST_HOOKS), for the walk-count tests.
#ifdef MAPLE_TEST_HOOKS
inline std::uint64_t &thread_walks() noexcept {
  static thread_local std::uint64_t n = 0;
  return n;
}
#endif
inline void count_walk() noexcept {
#ifdef MAPLE_TEST_HOOKS
  ++thread_walks();
#endif
}

template <unsigned S>
struct walker {
  using E = engine<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  static constexpr unsigned P = S - 1;

  /// A position in a leaf: the leaf, its bounds and data end, and a slot.
  struct leaf_pos {
    const node_t *leaf = nullptr;  // readers never write through it
    std::uint64_t min = 0, max = 0;
    unsigned end = 0, off = 0;
    void *hit = nullptr;  // the entry a scan stopped on (read once: it may change)

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

  /// Result of a step between leaves. `dead`: the step met a node that a
  /// writer has replaced (RCU mode; its parent word names itself), so the
  /// position cannot go on from there; the caller walks again from the root
  /// (rewalk_after / rewalk_before, or the whole operation again). The
  /// position is unchanged then.
  enum class step { moved, edge, dead };

  /// What a node's parent word says, read once: it is the root, it is dead
  /// (a writer replaced it), or par / slot name its parent. A node can turn
  /// into the root (root collapse) between two reads, so the word is
  /// decoded from one load.
  enum class up { parent, root, dead };
  static up parent_of(const node_t *n, const node_t *&par, unsigned &slot) noexcept {
    word pw = load_acquire(n->parent);
    if (pw & root_parent) return up::root;
    if (pw == reinterpret_cast<word>(n)) {
      dead_steps.fetch_add(1, std::memory_order_relaxed);
      return up::dead;
    }
    par = reinterpret_cast<const node_t *>(pw & node_addr_mask);
    slot = static_cast<unsigned>((pw & 0xFF) >> 2);
    return up::parent;
  }

  /// Implied bounds of a node, recovered through parent links; false if a
  /// dead node is met on the way.
  static bool node_max(const node_t *n, std::uint64_t &out) noexcept {
    for (;;) {
      const node_t *p;
      unsigned s;
      up u = parent_of(n, p, s);
      if (u == up::dead) return false;
      if (u == up::root) {
        out = max_index;
        return true;
      }
      if (s < P) {
        out = load_relaxed(p->pivot[s]);
        return true;
      }
      n = p;
    }
  }
  static bool node_min(const node_t *n, std::uint64_t &out) noexcept {
    for (;;) {
      const node_t *p;
      unsigned s;
      up u = parent_of(n, p, s);
      if (u == up::dead) return false;
      if (u == up::root) {
        out = 0;
        return true;
      }
      if (s > 0) {
        out = load_relaxed(p->pivot[s - 1]) + 1;
        return true;
      }
      n = p;
    }
  }

  /// The slot of node n holding index, given its data end: the scalar
  /// form (a halving search bounded by the end) or the AVX2 one.
  struct scalar_rank {
    static unsigned slot(const node_t *n, std::uint64_t index, unsigned end) noexcept {
      return n->slot_for(index, end);
    }
    static unsigned slot(const node_t *n, std::uint64_t index) noexcept {
      return pivots_below_scan<P>(n->pivot, index);
    }
  };
#if MAPLE_PIVOT_AVX2
  struct avx2_rank {
    // The end bound keeps a leaf position inside the data even when a
    // writer beside the walk (RCU mode) has changed the pivots.
    [[gnu::target("avx2")]] static unsigned slot(const node_t *n, std::uint64_t index,
                                                 unsigned end) noexcept {
      unsigned off = pivots_below_avx2<P>(n->pivot, index);
      return off < end ? off : end;
    }
    [[gnu::target("avx2")]] static unsigned slot(const node_t *n, std::uint64_t index) noexcept {
      return pivots_below_avx2<P>(n->pivot, index);
    }
  };
#endif

  /// Descends from `ref` to the leaf holding index.
  template <class Rank>
  static void descend_with(word ref, std::uint64_t index, leaf_pos &pos) noexcept {
    std::uint64_t min = 0, max = max_index;
    for (;;) {
      node_t *n = node_t::from_ref(ref);
      prefetch_node(n);
      unsigned end = node_t::end_of(ref, max);
      unsigned off = Rank::slot(n, index, end);
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
  /// load's walk: no bounds, no data end (see pivot_scan.h).
  template <class Rank>
  static void *load_with(word ref, std::uint64_t index) noexcept {
    for (;;) {
      const node_t *n = node_t::from_ref(ref);
      prefetch_node(n);
      word w = load_acquire(n->slot[Rank::slot(n, index)]);
      if (node_t::ref_is_leaf(ref)) return reinterpret_cast<void *>(w);
      ref = w;
    }
  }
#if MAPLE_PIVOT_AVX2
  // flatten: the AVX2 step can only be inlined into an AVX2 function.
  [[gnu::target("avx2"), gnu::flatten, gnu::noinline]] static void descend_avx2(
      word ref, std::uint64_t index, leaf_pos &pos) noexcept {
    descend_with<avx2_rank>(ref, index, pos);
  }
  [[gnu::target("avx2"), gnu::flatten, gnu::noinline]] static void *load_avx2(
      word ref, std::uint64_t index) noexcept {
    return load_with<avx2_rank>(ref, index);
  }
#endif

  static void descend(word ref, std::uint64_t index, leaf_pos &pos) noexcept {
    count_walk();
#if MAPLE_PIVOT_AVX2
    if constexpr (P >= 4 && P <= 32)  // the pivots fill one to eight vectors
      if (cpu_has_avx2) return descend_avx2(ref, index, pos);
#endif
    descend_with<scalar_rank>(ref, index, pos);
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
    count_walk();
#if MAPLE_PIVOT_AVX2
    if constexpr (P >= 4 && P <= 32)
      if (cpu_has_avx2) return load_avx2(ref, index);
#endif
    return load_with<scalar_rank>(ref, index);
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

  /// Leaves ahead of a forward scan that next_leaf asks the memory for
  /// (fewer in narrow nodes: siblings only).
  static constexpr unsigned scan_ahead = S - 1 < 4 ? S - 1 : 4;

  /// Moves to the first slot of the next leaf. The common case, a sibling
  /// under the same parent with its maximum in a parent pivot, is kept
  /// small enough to inline into the scans; the rest climbs
  /// (next_leaf_far).
  static step next_leaf(leaf_pos &p) noexcept {
    if (p.max == max_index) return step::edge;
    const node_t *par;
    unsigned s;
    if (parent_of(p.leaf, par, s) != up::parent) return step::dead;  // or became the root
    const unsigned pe = internal_end(par);
    if (s >= pe || s + 1 >= P) [[unlikely]]
      return next_leaf_far(p, par, s, pe);
    node_t *leaf = node_t::from_ref(load_acquire(par->slot[s + 1]));
    // Scans go on: keep the leaves up to scan_ahead siblings on in flight
    // (one more each step), so that a leaf's miss overlaps the reading of
    // the ones before it.
    if (const unsigned ahead = s + 1 + scan_ahead; ahead <= pe && ahead < S)
      prefetch_node(node_t::from_ref(load_relaxed(par->slot[ahead])), 0);
    const std::uint64_t max = load_relaxed(par->pivot[s + 1]);
    if (par->is_dead()) {
      dead_steps.fetch_add(1, std::memory_order_relaxed);
      return step::dead;
    }
    p.min = p.max + 1;
    p.max = max;
    p.leaf = leaf;
    p.end = leaf->end(max);
    p.off = 0;
    return step::moved;
  }
  /// next_leaf when the next leaf is the parent's last child or under
  /// another parent; par / s / pe: p's leaf's parent, its slot there, and
  /// the parent's data end.
  [[gnu::noinline]] static step next_leaf_far(leaf_pos &p, const node_t *par, unsigned s,
                                              unsigned pe) noexcept {
    if (s < pe) {  // the parent's last slot: its maximum is the parent's own
      node_t *leaf = node_t::from_ref(load_acquire(par->slot[s + 1]));
      std::uint64_t max;
      if (!node_max(par, max)) return step::dead;
      if (par->is_dead()) {
        dead_steps.fetch_add(1, std::memory_order_relaxed);
        return step::dead;
      }
      p.min = p.max + 1;
      p.max = max;
      p.leaf = leaf;
      p.end = leaf->end(p.max);
      p.off = 0;
      return step::moved;
    }
    for (;;) {
      const node_t *n = par;
      if (parent_of(n, par, s) != up::parent) return step::dead;  // or became the root
      if (s < internal_end(par)) break;
    }
    word ref = load_acquire(par->slot[s + 1]);
    while (!node_t::ref_is_leaf(ref)) {
      par = node_t::from_ref(ref);
      ref = load_acquire(par->slot[0]);
    }
    // A new parent: its first leaves after this one are not in flight yet.
    const unsigned last = internal_end(par);
    for (unsigned i = 1; i <= scan_ahead && i <= last; ++i)
      prefetch_node(node_t::from_ref(load_relaxed(par->slot[i])), 0);
    node_t *leaf = node_t::from_ref(ref);
    std::uint64_t max;
    if (!node_max(leaf, max)) return step::dead;
    p.min = p.max + 1;
    p.max = max;
    p.leaf = leaf;
    p.end = leaf->end(p.max);
    p.off = 0;
    return step::moved;
  }

  /// Moves to the last slot of the previous leaf.
  static step prev_leaf(leaf_pos &p) noexcept {
    if (p.min == 0) return step::edge;
    const node_t *n = p.leaf, *par;
    unsigned s;
    for (;;) {
      if (parent_of(n, par, s) != up::parent) return step::dead;  // or became the root
      if (s > 0) break;
      n = par;
    }
    word ref = load_acquire(par->slot[s - 1]);
    while (!node_t::ref_is_leaf(ref)) {
      node_t *c = node_t::from_ref(ref);
      ref = load_acquire(c->slot[internal_end(c)]);
    }
    node_t *leaf = node_t::from_ref(ref);
    std::uint64_t min;
    if (!node_min(leaf, min)) return step::dead;
    p.max = p.min - 1;
    p.min = min;
    p.leaf = leaf;
    p.end = leaf->end(p.max);
    p.off = p.end;
    return step::moved;
  }

  /// After a dead step: walks again from the root to the slot holding
  /// `from`, then on to the first slot starting at or after `floor` (an
  /// iteration passes the end of what it reported + 1, so that a range
  /// written meanwhile across that point is not reported twice over). False:
  /// no such slot.
  static bool rewalk_after(const tree_t &t, std::uint64_t from, std::uint64_t floor,
                           leaf_pos &p) noexcept {
    for (;;) {
      word root = E::root(t);
      if (!is_node_word(root)) return false;  // from >= 1: a root entry is behind
      descend(root, from, p);
      for (;;) {
        if (p.first() >= floor) return true;
        if (p.off < p.end) {
          ++p.off;
          continue;
        }
        step s = next_leaf(p);
        if (s == step::edge) return false;
        if (s == step::dead) break;
      }
    }
  }
  /// Backward counterpart: the slot holding `from`, then back to the last
  /// slot ending at or before `ceil`.
  static bool rewalk_before(const tree_t &t, std::uint64_t from, std::uint64_t ceil,
                            leaf_pos &p) noexcept {
    for (;;) {
      word root = E::root(t);
      if (!is_node_word(root)) return false;
      descend(root, from, p);
      for (;;) {
        if (p.last() <= ceil) return true;
        if (p.off > 0) {
          --p.off;
          continue;
        }
        step s = prev_leaf(p);
        if (s == step::edge) return false;
        if (s == step::dead) break;
      }
    }
  }

  /// A scan that met its limit or the tree's edge in p's leaf: true (and
  /// counted) when that leaf has been replaced, so the end is not final.
  static bool dead_end(const leaf_pos &p) noexcept {
    if (!p.leaf->is_dead()) return false;
    dead_steps.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /// From p, the first stored range at or after p's slot starting <= max.
  /// A dead node met on the way (RCU mode: a writer replaced it), and the
  /// limit or the end met in a dead leaf, make the scan walk again from the
  /// root and look again from `resume` (the first index not yet reported),
  /// skipping slots that start below `floor`: what the scan returns, or its
  /// end, then comes from the tree as it is now, not from what a replaced
  /// leaf showed.
  static bool scan_forward(const tree_t &t, leaf_pos &p, std::uint64_t max, std::uint64_t floor,
                           std::uint64_t resume) noexcept {
    for (;;) {
      for (; p.off <= p.end; ++p.off) {
        if (p.first() > max) break;
        if ((p.hit = p.entry())) return true;
      }
      if (p.off > p.end) {
        step s = next_leaf(p);
        if (s == step::moved) continue;
        if (s == step::edge && !dead_end(p)) return false;  // the edge of a live tree
      } else if (!dead_end(p)) {
        return false;  // the limit, in a live leaf
      }
      if (!rewalk_after(t, resume, floor, p)) return false;
    }
  }
  /// From p, the last stored range at or before p's slot ending >= min;
  /// the mirror image of scan_forward (`ceil`: the last index not yet
  /// passed, `resume`: where to look again from after a dead leaf).
  static bool scan_backward(const tree_t &t, leaf_pos &p, std::uint64_t min, std::uint64_t ceil,
                            std::uint64_t resume) noexcept {
    for (;;) {
      bool limit = false;
      for (;;) {
        if (p.last() < min) {
          limit = true;
          break;
        }
        if ((p.hit = p.entry())) return true;
        if (p.off == 0) break;
        --p.off;
      }
      if (!limit) {
        step s = prev_leaf(p);
        if (s == step::moved) continue;
        if (s == step::edge && !dead_end(p)) return false;  // the edge of a live tree
      } else if (!dead_end(p)) {
        return false;  // the limit, in a live leaf
      }
      if (!rewalk_before(t, resume, ceil, p)) return false;
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
    if (!scan_forward(t, p, max, 0, index)) return std::nullopt;
    return range_entry{p.first(), p.last(), p.hit};
  }

  static std::optional<range_entry> find_rev(const tree_t &t, std::uint64_t index,
                                             std::uint64_t min) noexcept {
    if (index < min) return std::nullopt;
    word ref = E::root(t);
    if (!is_node_word(ref)) return min == 0 ? root_entry(ref) : std::nullopt;
    leaf_pos p;
    descend(ref, index, p);
    if (!scan_backward(t, p, min, max_index, index)) return std::nullopt;
    return range_entry{p.first(), p.last(), p.hit};
  }
};

}  // namespace maple::detail
