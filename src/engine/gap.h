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

  /// The lowest fit under node `ref` (bounds [lo, hi]); the recursion is as
  /// deep as the tree.
  static bool descend_lowest(word ref, std::uint64_t lo, std::uint64_t hi, const query &q,
                             std::uint64_t &start) noexcept {
    const node_t *n = node_t::from_ref(ref);
    const unsigned e = node_t::end_of(ref, hi);
    const bool leaf = node_t::ref_is_leaf(ref);
    for (unsigned i = n->slot_for(q.min, e); i <= e; ++i) {
      std::uint64_t a = n->slot_min(i, lo), b = n->slot_max(i, e, hi);
      if (a > q.max) return false;
      if (leaf) {
        if (load_acquire(n->slot[i]) == 0 && fits(a, b, q.min, q.max, q.size, false, start))
          return true;
      } else if (n->gap(i) >= q.size && descend_lowest(load_acquire(n->slot[i]), a, b, q, start)) {
        return true;
      }
    }
    return false;
  }

  static bool descend_highest(word ref, std::uint64_t lo, std::uint64_t hi, const query &q,
                              std::uint64_t &start) noexcept {
    const node_t *n = node_t::from_ref(ref);
    const unsigned e = node_t::end_of(ref, hi);
    const bool leaf = node_t::ref_is_leaf(ref);
    for (unsigned i = n->slot_for(q.max, e) + 1; i-- > 0;) {
      std::uint64_t a = n->slot_min(i, lo), b = n->slot_max(i, e, hi);
      if (b < q.min) return false;
      if (leaf) {
        if (load_acquire(n->slot[i]) == 0 && fits(a, b, q.min, q.max, q.size, true, start))
          return true;
      } else if (n->gap(i) >= q.size && descend_highest(load_acquire(n->slot[i]), a, b, q, start)) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace maple::detail
