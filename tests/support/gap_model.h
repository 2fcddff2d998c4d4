// tests/support/gap_model.h - brute-force answers for the free-range searches
// (empty_area / empty_area_rev, alloc_range / alloc_rrange, alloc_cyclic),
// computed from the reference model's sorted ranges, plus assertion helpers
// that run one search on a tree and on a cursor and compare.
//
// The oracle walks the model's gaps - the maximal empty ranges, 0 .. first
// stored index and last stored index .. UINT64_MAX included - in order from
// the window's near end, clips each to [min, max] and takes the first that
// holds `size` indices: forward the clipped gap's low end, reverse its high
// end - (size - 1). So a window always lies inside [min, max] and is wholly
// empty. It is independent of the engine (no shared code) and costs
// O(log n + gaps visited); brute_by_index() is the literal definition (test
// every start) for small windows, used to check the oracle itself.
#pragma once

#include "reference_model.h"

#include <maple/error.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <system_error>

namespace maple_test {

/// The outcome of a search: an error, or the window's first index.
struct gap_answer {
  std::error_code ec;
  std::uint64_t start = 0;
  friend bool operator==(const gap_answer &a, const gap_answer &b) {
    return a.ec == b.ec && (a.ec || a.start == b.start);
  }
};

inline gap_answer found_at(std::uint64_t s) { return {{}, s}; }
inline gap_answer busy() { return {maple::errc::busy, 0}; }
inline gap_answer invalid() { return {maple::errc::invalid_argument, 0}; }

inline std::string describe(const gap_answer &a) {
  if (a.ec) return a.ec.message();
  return "start " + hex(a.start);
}

/// The kernel's argument rule: size 0, min > max and windows narrower than
/// size are invalid.
inline bool gap_args_invalid(std::uint64_t min, std::uint64_t max, std::uint64_t size) {
  return size == 0 || min > max || max - min < size - 1;
}

/// Calls f(a, b) for every maximal empty range [a, b] of the model that
/// could intersect [min, max], in ascending order (forward) or descending
/// order (reverse), until f returns true. Assumes min <= max.
template <class F>
void for_each_gap(const reference_model &m, std::uint64_t min, std::uint64_t max, bool reverse,
                  F &&f) {
  const auto &map = m.map();
  if (!reverse) {
    // The gap holding or following min starts right after the last range
    // that starts at or before min (or at 0).
    auto it = map.upper_bound(min);  // first range starting after min
    std::uint64_t a = 0;
    if (it != map.begin()) {
      auto p = std::prev(it);
      if (p->second.last == kMax) return;  // everything from min on is used
      a = p->second.last + 1;
    }
    for (;;) {
      if (a > max) return;
      std::uint64_t b = it == map.end() ? kMax : it->first - 1;
      if (a <= b && f(a, b)) return;
      if (it == map.end() || it->second.last == kMax) return;
      a = it->second.last + 1;
      ++it;
    }
  } else {
    // The gap holding or preceding max ends right before the first range
    // that starts after max (or at UINT64_MAX).
    auto it = map.upper_bound(max);  // ranges before it start at or before max
    std::uint64_t b = it == map.end() ? kMax : it->first - 1;
    for (;;) {
      if (it == map.begin()) {
        f(0, b);
        return;
      }
      auto p = std::prev(it);
      // p->second.last < it->first, so p->second.last <= b.
      if (p->second.last < b && f(p->second.last + 1, b)) return;
      if (p->first == 0) return;
      b = p->first - 1;
      if (b < min) return;
      it = p;
    }
  }
}

/// empty_area (reverse = false) / empty_area_rev (reverse = true) on the model.
inline gap_answer brute_empty_area(const reference_model &m, std::uint64_t min, std::uint64_t max,
                                   std::uint64_t size, bool reverse) {
  if (gap_args_invalid(min, max, size)) return invalid();
  gap_answer out = busy();
  for_each_gap(m, min, max, reverse, [&](std::uint64_t a, std::uint64_t b) {
    std::uint64_t lo = a > min ? a : min, hi = b < max ? b : max;
    if (lo > hi || hi - lo < size - 1) return false;
    out = found_at(reverse ? hi - (size - 1) : lo);
    return true;
  });
  return out;
}

/// The literal definition: try every start in [min, max - size + 1] in
/// order. Only for windows of a few thousand indices.
inline gap_answer brute_by_index(const reference_model &m, std::uint64_t min, std::uint64_t max,
                                 std::uint64_t size, bool reverse) {
  if (gap_args_invalid(min, max, size)) return invalid();
  std::uint64_t lo = min, hi = max - (size - 1);  // candidate starts
  for (std::uint64_t k = 0; k <= hi - lo; ++k) {
    std::uint64_t s = reverse ? hi - k : lo + k;
    if (!m.any_in(s, s + (size - 1))) return found_at(s);
  }
  return busy();
}

/// The model of alloc_cyclic: the lowest free index in [max(min, next), max],
/// else (wrapping) in [min, max]. `flag` is the tree's "next overflowed"
/// memory; returns the answer and sets wrapped/next/flag as the tree should.
struct cyclic_model {
  bool flag = false;  // the previous successful call's next overflowed to 0

  gap_answer alloc(const reference_model &m, std::uint64_t min, std::uint64_t max,
                   std::uint64_t &next, bool &wrapped) {
    if (min > max) return invalid();
    std::uint64_t lo = next > min ? next : min;
    gap_answer a = lo <= max ? brute_empty_area(m, lo, max, 1, false) : busy();
    bool wrap = false;
    if (!a.ec) {
      wrap = flag;
    } else if (lo > min) {
      a = brute_empty_area(m, min, max, 1, false);
      wrap = true;
    }
    if (a.ec) return a;
    flag = a.start == kMax;
    next = a.start + 1;  // wraps to 0 after UINT64_MAX
    wrapped = wrap;
    return a;
  }
};

/// The tree's answer as a gap_answer.
template <class Tree>
gap_answer tree_empty_area(const Tree &t, std::uint64_t min, std::uint64_t max, std::uint64_t size,
                           bool reverse) {
  std::uint64_t s = 0xdeadbeef;
  std::error_code ec =
      reverse ? t.empty_area_rev(min, max, size, s) : t.empty_area(min, max, size, s);
  return {ec, ec ? 0 : s};
}

inline std::string query_text(bool reverse, std::uint64_t min, std::uint64_t max,
                              std::uint64_t size) {
  return std::string(reverse ? "empty_area_rev(" : "empty_area(") + hex(min) + ", " + hex(max) +
         ", " + hex(size) + ")";
}

/// The tree's answer equals `want`.
template <class Tree>
::testing::AssertionResult area_is(const Tree &t, bool reverse, std::uint64_t min,
                                   std::uint64_t max, std::uint64_t size, const gap_answer &want) {
  gap_answer got = tree_empty_area(t, min, max, size, reverse);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << query_text(reverse, min, max, size) << ": tree "
                                       << describe(got) << ", expected " << describe(want);
}

}  // namespace maple_test
