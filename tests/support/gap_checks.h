// tests/support/gap_checks.h - checks shared by the free-range tests:
//
//   cursor_area_is / both_is   one search on a read cursor / on the tree and
//                              a cursor (and the oracle), as assertions;
//   check_empty_area_fill      the kernel's check_empty_area_fill (reference
//                              section 9.1): fill an address space with
//                              4K-64K allocations until busy, then free some
//                              and refill. gap_test.cpp runs it on a small
//                              space (label unit), gap_differential_test.cpp
//                              at the kernel's size, 0x25D78000 (label
//                              slow): without gap records every search
//                              scans, so the full-size fill is quadratic.
#pragma once

#include "cursor_types.h"
#include "gap_model.h"
#include "reference_model.h"
#include "tree_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

namespace maple_test {

/// One search through a read cursor: on success [index, last] is the window
/// and the state start; on failure the state is error with that error.
template <class Tree>
::testing::AssertionResult cursor_area_is(const Tree &t, bool reverse, std::uint64_t min,
                                          std::uint64_t max, std::uint64_t size,
                                          const gap_answer &want, std::uint64_t from = 0) {
  rguard<Tree> g(t);
  auto c = g.cursor(from);
  std::error_code ec = reverse ? c.empty_area_rev(min, max, size) : c.empty_area(min, max, size);
  auto fail = [&] {
    return ::testing::AssertionFailure()
           << "cursor " << query_text(reverse, min, max, size) << ": returned '" << ec.message()
           << "', state " << maple::to_string(c.state()) << ", error() '" << c.error().message()
           << "', [" << hex(c.index()) << ", " << hex(c.last()) << "]; expected " << describe(want);
  };
  if (want.ec) {
    if (ec != want.ec || c.state() != maple::cursor_state::error || c.error() != want.ec)
      return fail();
  } else {
    if (ec || c.state() != maple::cursor_state::start || c.index() != want.start ||
        c.last() != want.start + (size - 1))
      return fail();
  }
  return ::testing::AssertionSuccess();
}

/// The same search on the tree and on a cursor (and on the brute-force
/// oracle, which guards the hand-computed expectations themselves).
template <class Tree>
::testing::AssertionResult both_is(const Tree &t, const reference_model *m, bool reverse,
                                   std::uint64_t min, std::uint64_t max, std::uint64_t size,
                                   const gap_answer &want) {
  if (m) {
    gap_answer oracle = brute_empty_area(*m, min, max, size, reverse);
    if (!(oracle == want))
      return ::testing::AssertionFailure()
             << "test table disagrees with the oracle: " << query_text(reverse, min, max, size)
             << " oracle " << describe(oracle) << ", table " << describe(want);
  }
  if (auto r = area_is(t, reverse, min, max, size, want); !r) return r;
  return cursor_area_is(t, reverse, min, max, size, want);
}

/// Fills [0, max] (max = loops * (4K + 8K + ... + 64K)) with `loops`
/// allocations of each size 4K .. 64K, smallest first, lowest first
/// (rev = false) or highest first. Every start is exact; one index is left
/// (max, or 0 going down). Half the allocations go through a write cursor
/// (search, then store the window), half through alloc_range/alloc_rrange.
template <class Tree>
void fill_space(harness<Tree> &h, bool rev, std::uint64_t loops,
                std::vector<std::pair<std::uint64_t, std::uint64_t>> &allocs) {
  const std::uint64_t max = loops * (0x1000 + 0x2000 + 0x4000 + 0x8000 + 0x10000);
  std::uint64_t next_low = 0, next_high = max;  // the free area is [next_low, next_high]
  std::uint64_t tag = 1;
  for (unsigned shift = 12; shift <= 16; ++shift) {
    const std::uint64_t size = std::uint64_t{1} << shift;
    for (std::uint64_t i = 0; i < loops; ++i, ++tag) {
      const std::uint64_t want = rev ? next_high - size + 1 : next_low;
      std::uint64_t s = 0;
      if (tag % 2 == 0) {
        wguard<Tree> w(h.t);
        auto c = w.cursor();
        std::error_code ec = rev ? c.empty_area_rev(0, max, size) : c.empty_area(0, max, size);
        ASSERT_FALSE(ec) << "size " << size << " #" << i << ": " << ec.message();
        ASSERT_EQ(c.last(), c.index() + size - 1);
        s = c.index();
        ASSERT_FALSE(c.store(val(tag)));
      } else {
        std::error_code ec = rev ? h.t.alloc_rrange(val(tag), size, 0, max, s)
                                 : h.t.alloc_range(val(tag), size, 0, max, s);
        ASSERT_FALSE(ec) << "size " << size << " #" << i << ": " << ec.message();
      }
      ASSERT_EQ(s, want) << "size " << size << " #" << i;
      h.m.store(s, s + size - 1, val(tag));
      allocs.emplace_back(s, size);
      if (rev)
        next_high = s - 1;
      else
        next_low = s + size;
    }
  }
  ASSERT_EQ(next_high - next_low, 0u);  // one index left
  // No room for a page, in either direction; the one index is found.
  for (bool r : {false, true}) {
    ASSERT_TRUE(both_is(h.t, &h.m, r, 0, max, 0x1000, busy()));
    ASSERT_TRUE(both_is(h.t, &h.m, r, 0, max, 2, busy()));
    ASSERT_TRUE(both_is(h.t, &h.m, r, 0, max, 1, found_at(next_low)));
  }
  std::uint64_t s = 0;
  ASSERT_EQ(h.t.alloc_range(val(1), 0x1000, 0, max, s), maple::errc::busy);
  ASSERT_EQ(h.t.alloc_rrange(val(1), 0x1000, 0, max, s), maple::errc::busy);
  ASSERT_TRUE(h.check());
}

/// Fills both ways (bottom-up with empty_area/alloc_range, top-down with
/// empty_area_rev/alloc_rrange), frees every 7th allocation and a run of 10
/// adjacent ones, refills them (each lands exactly where it was), checks
/// busy, then takes the run back as one block.
template <class Tree>
void check_empty_area_fill(std::uint64_t loops) {
  const std::uint64_t max = loops * 0x1f000;
  for (bool rev : {false, true}) {
    SCOPED_TRACE(rev ? "top-down" : "bottom-up");
    harness<Tree> h;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> allocs;
    ASSERT_NO_FATAL_FAILURE(fill_space(h, rev, loops, allocs));
    if (loops >= 400) {  // a multi-level tree (the kernel's "depth-4 tree gap search")
      EXPECT_GE(h.t.height(), Tree::slots == 4 ? 6u : 3u);
    }
    // Free every 7th allocation and one run of 10 adjacent ones, then
    // refill: in address order with the same sizes, lowest-first (or
    // highest-first in reverse address order) puts each back where it was.
    std::sort(allocs.begin(), allocs.end());
    std::vector<std::pair<std::uint64_t, std::uint64_t>> freed;
    for (std::size_t i = 0; i < allocs.size(); ++i) {
      bool in_run = i >= allocs.size() / 2 && i < allocs.size() / 2 + 10;
      if (i % 7 == 3 || in_run) {
        ASSERT_TRUE(h.erase(allocs[i].first));
        freed.push_back(allocs[i]);
      }
    }
    ASSERT_TRUE(h.check());
    if (rev) std::reverse(freed.begin(), freed.end());
    std::uint64_t tag = 900000;
    for (auto [start, size] : freed) {
      std::uint64_t s = 0;
      std::error_code ec = rev ? h.t.alloc_rrange(val(tag), size, 0, max, s)
                               : h.t.alloc_range(val(tag), size, 0, max, s);
      ASSERT_FALSE(ec) << ec.message();
      ASSERT_EQ(s, start) << "size " << size;
      h.m.store(s, s + size - 1, val(tag++));
    }
    std::uint64_t s = 0;
    ASSERT_EQ(h.t.alloc_range(val(1), 0x1000, 0, max, s), maple::errc::busy);
    ASSERT_EQ(h.t.alloc_rrange(val(1), 0x1000, 0, max, s), maple::errc::busy);
    // Free the run again and take it as one block.
    std::uint64_t run_first = allocs[allocs.size() / 2].first, run_bytes = 0;
    for (std::size_t i = allocs.size() / 2; i < allocs.size() / 2 + 10; ++i) {
      ASSERT_TRUE(h.erase(allocs[i].first));
      run_bytes += allocs[i].second;
    }
    ASSERT_TRUE(both_is(h.t, &h.m, rev, 0, max, run_bytes + 1, busy()));
    ASSERT_TRUE(both_is(h.t, &h.m, rev, 0, max, run_bytes, found_at(run_first)));
    ASSERT_TRUE(both_is(h.t, &h.m, !rev, 0, max, run_bytes, found_at(run_first)));
    ASSERT_FALSE(h.t.alloc_range(val(2), run_bytes, 0, max, s));
    ASSERT_EQ(s, run_first);
    h.m.store(s, s + run_bytes - 1, val(2));
    ASSERT_TRUE(h.check());
  }
}

}  // namespace maple_test
