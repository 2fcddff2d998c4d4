// Free-range search: the lowest or highest empty window of a size inside
// [min, max] (the kernel's mas_empty_area / mas_empty_area_rev semantics,
// reference section 3.3, including regressions 6-9: the window never starts
// below min nor ends above max; min == max and size == max - min + 1 work;
// size 0 and min > max are invalid).
//
// Allocation trees descend by the gap records of their internal nodes
// (gap_tracking.h), lowest (or highest) child first, skipping every child
// whose largest gap is too small: a child lying wholly inside [min, max]
// with a large enough gap always holds a fit, so only the children holding
// min or max can send the search down and back up again, and the search
// costs O(height x fanout) (kernel: mas_empty_area{,_rev} with
// mas_skip_node/mas_awalk). Other trees step through the leaves between
// the limits (O(ranges scanned)). Adjacent empty ranges are always
// coalesced, so each empty range is one slot.
#pragma once

#include "engine/engine.h"
#include "engine/walk.h"

#include <bit>

namespace maple::detail {

template <unsigned S>
struct gap_search {
  using E = engine<S>;
  using W = walker<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;

  struct query {
    std::uint64_t min, max, size;
  };

  static std::error_code check(std::uint64_t min, std::uint64_t max, std::uint64_t size) noexcept {
    if (size == 0 || min > max || max - min < size - 1) return errc::invalid_argument;
    return {};
  }

  /// Does the empty range [a, b], clipped to [min, max], hold size indices?
  /// `start` gets the lowest (or highest) window start.
  static bool fits(std::uint64_t a, std::uint64_t b, std::uint64_t min, std::uint64_t max,
                   std::uint64_t size, bool highest, std::uint64_t &start) noexcept {
    std::uint64_t lo = a > min ? a : min, hi = b < max ? b : max;
    if (lo > hi || hi - lo < size - 1) return false;
    start = highest ? hi - (size - 1) : lo;
    return true;
  }

  /// Trees without nodes: empty ([0, max] free) or an entry at [0, 0].
  static std::error_code small(word root, std::uint64_t min, std::uint64_t max, std::uint64_t size,
                               bool highest, std::uint64_t &start) noexcept {
    return fits(root ? 1 : 0, max_index, min, max, size, highest, start)
               ? std::error_code{}
               : make_error_code(errc::busy);
  }

  static std::error_code lowest(const tree_t &t, std::uint64_t min, std::uint64_t max,
                                std::uint64_t size, std::uint64_t &start) noexcept {
    if (auto ec = check(min, max, size)) return ec;
    word root = E::root(t);
    if (!is_node_word(root)) return small(root, min, max, size, false, start);
    if (E::tracks_gaps(t))
      return descend_lowest(root, 0, max_index, {min, max, size}, start)
                 ? std::error_code{}
                 : make_error_code(errc::busy);
    typename W::leaf_pos p;
    W::descend(root, min, p);
    for (;;) {
      for (; p.off <= p.end; ++p.off) {
        std::uint64_t first = p.first();
        if (first > max) return errc::busy;
        if (!p.entry() && fits(first, p.last(), min, max, size, false, start)) return {};
      }
      auto st = W::next_leaf(p);
      if (st == W::step::edge) return errc::busy;
      if (st == W::step::dead && !W::rewalk_after(t, p.max + 1, 0, p)) return errc::busy;
    }
  }

  static std::error_code highest(const tree_t &t, std::uint64_t min, std::uint64_t max,
                                 std::uint64_t size, std::uint64_t &start) noexcept {
    if (auto ec = check(min, max, size)) return ec;
    word root = E::root(t);
    if (!is_node_word(root)) return small(root, min, max, size, true, start);
    if (E::tracks_gaps(t))
      return descend_highest(root, 0, max_index, {min, max, size}, start)
                 ? std::error_code{}
                 : make_error_code(errc::busy);
    typename W::leaf_pos p;
    W::descend(root, max, p);
    for (;;) {
      for (;;) {
        std::uint64_t last = p.last();
        if (last < min) return errc::busy;
        if (!p.entry() && fits(p.first(), last, min, max, size, true, start)) return {};
        if (p.off == 0) break;
        --p.off;
      }
      auto st = W::prev_leaf(p);
      if (st == W::step::edge) return errc::busy;
      if (st == W::step::dead && !W::rewalk_before(t, p.min - 1, max_index, p)) return errc::busy;
    }
  }

  static constexpr unsigned A = node_t::A;
  static constexpr unsigned gap_run = node_t::pivots - A;  // gaps held in pivot words

  /// Masks of slots: bit i for slot i (S <= 64).
  using mask = std::uint64_t;
  static constexpr mask upto(unsigned i) noexcept {
    return i >= 63 ? ~mask{0} : (mask{2} << i) - 1;
  }

  /// Bit i set: child i's largest gap (i < A) holds `size`. Branch-free,
  /// so that the descent tests only the children that can hold a fit.
  static mask gap_fit_mask(const node_t *n, std::uint64_t size) noexcept {
#if MAPLE_PIVOT_AVX2
    if constexpr (gap_run >= 4 && A - gap_run >= 4 && A <= 32)
      if (cpu_has_avx2) return gap_fit_mask_avx2(n, size);
#endif
    mask m = 0;
    for (unsigned i = 0; i < A; ++i) m |= static_cast<mask>(n->gap(i) >= size) << i;
    return m;
  }
#if MAPLE_PIVOT_AVX2
  /// The gaps lie in two runs: pivot[A..P-1] and slot[A..S-2].
  [[gnu::target("avx2"), gnu::noinline]] static mask gap_fit_mask_avx2(
      const node_t *n, std::uint64_t size) noexcept {
    const auto *slots = reinterpret_cast<const std::uint64_t *>(n->slot);
    mask below = words_below_avx2<gap_run>(n->pivot + A, size) |
                 mask{words_below_avx2<A - gap_run>(slots + A, size)} << gap_run;
    return ~below & upto(A - 1);
  }
#endif

  /// Slots of leaf n (data end e) that may hold a fit of `size`: bit i
  /// set for every slot that needs a look. The scalar form names them all
  /// (the caller tests emptiness and fit); the AVX2 one only the empty
  /// ones that are slot 0, slot e (bounded by the leaf's limits) or whose
  /// pivots are at least size apart (a range clipped to the limits only
  /// shrinks, so no fit is left out).
  static mask leaf_candidates(const node_t *n, unsigned e, std::uint64_t size) noexcept {
#if MAPLE_PIVOT_AVX2
    if constexpr (S % 4 == 0 && S >= 8 && S <= 32)
      if (cpu_has_avx2) return leaf_candidates_avx2(n, e, size);
#endif
    (void)n;
    (void)size;
    return upto(e);
  }
#if MAPLE_PIVOT_AVX2
  [[gnu::target("avx2"), gnu::noinline]] static mask leaf_candidates_avx2(
      const node_t *n, unsigned e, std::uint64_t size) noexcept {
    const mask empty = zero_words_avx2<S>(reinterpret_cast<const std::uint64_t *>(n->slot));
    // Bit j of narrow: pivot[j + 1] - pivot[j] < size, so slot j + 1 is too small.
    const mask narrow = steps_below_avx2<node_t::pivots - 1>(n->pivot, size);
    const mask wide = ~(narrow << 1) | 1u | mask{1} << e;
    return empty & wide & upto(e);
  }
#endif

  /// The lowest fit under node `ref` (bounds [lo, hi]); the recursion is as
  /// deep as the tree.
  static bool descend_lowest(word ref, std::uint64_t lo, std::uint64_t hi, const query &q,
                             std::uint64_t &start) noexcept {
    const node_t *n = node_t::from_ref(ref);
    const unsigned e = node_t::end_of(ref, hi);
    const unsigned from = q.min <= lo ? 0 : n->slot_for(q.min, e);
    if (node_t::ref_is_leaf(ref)) {
      mask m = leaf_candidates(n, e, q.size) & (~mask{0} << from) & upto(e);
      for (; m != 0; m &= m - 1) {
        const unsigned i = static_cast<unsigned>(std::countr_zero(m));
        if (load_relaxed(n->slot[i]) != 0) continue;
        std::uint64_t a = n->slot_min(i, lo);
        if (a > q.max) return false;
        if (fits(a, n->slot_max(i, e, hi), q.min, q.max, q.size, false, start)) return true;
      }
      return false;
    }
    // Children from `from` to the end whose gap can hold the size.
    mask m = gap_fit_mask(n, q.size) & (~mask{0} << from) & upto(e);
    for (; m != 0; m &= m - 1) {
      const unsigned i = static_cast<unsigned>(std::countr_zero(m));
      std::uint64_t a = n->slot_min(i, lo);
      if (a > q.max) return false;
      if (descend_lowest(load_acquire(n->slot[i]), a, n->slot_max(i, e, hi), q, start)) return true;
    }
    return false;
  }

  static bool descend_highest(word ref, std::uint64_t lo, std::uint64_t hi, const query &q,
                              std::uint64_t &start) noexcept {
    const node_t *n = node_t::from_ref(ref);
    const unsigned e = node_t::end_of(ref, hi);
    const unsigned top = q.max >= hi ? e : n->slot_for(q.max, e);
    if (node_t::ref_is_leaf(ref)) {
      for (mask m = leaf_candidates(n, e, q.size) & upto(top); m != 0;) {
        const unsigned i = static_cast<unsigned>(std::bit_width(m)) - 1;
        m &= ~(mask{1} << i);
        if (load_relaxed(n->slot[i]) != 0) continue;
        std::uint64_t b = n->slot_max(i, e, hi);
        if (b < q.min) return false;
        if (fits(n->slot_min(i, lo), b, q.min, q.max, q.size, true, start)) return true;
      }
      return false;
    }
    // Children from `top` down whose gap can hold the size.
    mask m = gap_fit_mask(n, q.size) & upto(top);
    while (m != 0) {
      const unsigned i = static_cast<unsigned>(std::bit_width(m)) - 1;
      std::uint64_t b = n->slot_max(i, e, hi);
      if (b < q.min) return false;
      if (descend_highest(load_acquire(n->slot[i]), n->slot_min(i, lo), b, q, start)) return true;
      m &= ~(mask{1} << i);
    }
    return false;
  }
};

}  // namespace maple::detail
