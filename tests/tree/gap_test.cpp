// tests/tree/gap_test.cpp - the free-range API: raw_tree::empty_area /
// empty_area_rev, alloc_range / alloc_rrange, alloc_cyclic, and the cursor's
// empty_area / empty_area_rev (kernel semantics: reference sections 2, 3.3,
// 9.1 and regressions 6-9 of section 10). Every expected result is exact.
//
//   arguments   size 0, min > max, windows narrower than size: invalid;
//               min == max; size == max - min + 1; no fit: busy;
//   trivial     empty tree (fwd: min, rev: max - size + 1), a tree holding
//               only index 0 (0 is used), with and without nodes;
//   edges       windows at 0 and at UINT64_MAX; gaps partly below min or
//               above max (regression 6: never below min / above max);
//   cursor      [index, last] is the window in state start, error state on
//               failure; reusable afterwards (regression 7: find, find_rev,
//               walk, next, prev, set, more searches without a reset); a
//               write cursor's store() fills the window;
//   alloc       alloc_range / alloc_rrange store and report the start;
//               nullptr / reserved entries and bad limits are invalid; busy
//               and no_memory leave the tree unchanged;
//   cyclic      sequential ids, busy when full, wrap-around reports wrapped,
//               next overflowing at UINT64_MAX (the next call reports it);
//   kernel 9.1  alloc_range / alloc_rev_range tables on a VMA-like layout,
//               gap combining after erasing singletons (every position of
//               a deep tree), the empty-area window cases, and filling an
//               address space with 4K-64K allocations until busy, then
//               freeing some and refilling.
//
// Nothing here depends on how the search is implemented (leaf scan now, gap
// records later): only results, error codes and tree contents are checked.
#include "cursor_types.h"
#include "gap_checks.h"
#include "gap_model.h"
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_types.h"

#include <maple/cursor.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory_resource>
#include <new>
#include <string>
#include <system_error>
#include <vector>

namespace maple_test {
namespace {

using cs = maple::cursor_state;
using maple::range_entry;

constexpr std::uint64_t kPage = 4096;
void *const kReserved = reinterpret_cast<void *>(std::uintptr_t{2});  // a reserved entry word

template <class Tree>
class Gap : public ::testing::Test {};
TYPED_TEST_SUITE(Gap, engine_types);

template <class Tree>
::testing::AssertionResult fwd_is(const Tree &t, const reference_model &m, std::uint64_t min,
                                  std::uint64_t max, std::uint64_t size, const gap_answer &want) {
  return both_is(t, &m, false, min, max, size, want);
}
template <class Tree>
::testing::AssertionResult rev_is(const Tree &t, const reference_model &m, std::uint64_t min,
                                  std::uint64_t max, std::uint64_t size, const gap_answer &want) {
  return both_is(t, &m, true, min, max, size, want);
}

/// Window layout used by several tests: ranges [100 + 12i, 107 + 12i] ->
/// val(i) for i < 30 (4-index gaps between them, used up to 455), then
/// range 10 ([220, 227]) erased, joining its gaps into [216, 231].
template <class Tree>
void window_layout(harness<Tree> &h) {
  for (std::uint64_t i = 0; i < 30; ++i) ASSERT_TRUE(h.store(100 + 12 * i, 107 + 12 * i, val(i)));
  ASSERT_TRUE(h.erase(220));
  ASSERT_TRUE(h.check());
}

// ---- arguments -------------------------------------------------------------------

TYPED_TEST(Gap, InvalidArguments) {
  harness<TypeParam> h;
  // On an empty tree, a root-entry tree and a tree with nodes.
  for (int shape = 0; shape < 3; ++shape) {
    SCOPED_TRACE("shape " + std::to_string(shape));
    if (shape == 1) {
      ASSERT_TRUE(h.store(0, 0, val(1)));
    }
    if (shape == 2) {
      ASSERT_TRUE(h.fill(200, 10, 4, 1000, 10));
    }
    struct q {
      std::uint64_t min, max, size;
    };
    const q bad[] = {
        {0, kMax, 0},    {5, 5, 0},           {kMax, kMax, 0},  // size 0
        {6, 5, 1},       {kMax, 0, 1},        {1, 0, 1},        // min > max
        {0, 8, 10},      {5, 5, 2},           {0, 0, 2},        // narrower than size
        {kMax, kMax, 2}, {kMax - 1, kMax, 3}, {2, kMax, kMax},
        {100, 199, 101}, {0, kMax - 2, kMax}, {1000, 1999, 1001},
    };
    for (const q &x : bad) {
      for (bool rev : {false, true})
        EXPECT_TRUE(both_is(h.t, &h.m, rev, x.min, x.max, x.size, invalid()));
      std::uint64_t s = 77;
      EXPECT_EQ(h.t.alloc_range(val(5), x.size, x.min, x.max, s), maple::errc::invalid_argument);
      EXPECT_EQ(h.t.alloc_rrange(val(5), x.size, x.min, x.max, s), maple::errc::invalid_argument);
    }
    // The widest valid requests: size == max - min + 1 and size UINT64_MAX.
    for (bool rev : {false, true}) {
      EXPECT_NE(tree_empty_area(h.t, 0, 9, 10, rev).ec, maple::errc::invalid_argument);
      EXPECT_NE(tree_empty_area(h.t, 0, kMax, kMax, rev).ec, maple::errc::invalid_argument);
      EXPECT_NE(tree_empty_area(h.t, 1, kMax, kMax, rev).ec, maple::errc::invalid_argument);
      EXPECT_NE(tree_empty_area(h.t, 0, kMax - 1, kMax, rev).ec, maple::errc::invalid_argument);
    }
    ASSERT_TRUE(h.check());
  }
}

// ---- trivial trees ---------------------------------------------------------------

TYPED_TEST(Gap, EmptyTree) {
  harness<TypeParam> h;
  struct q {
    std::uint64_t min, max, size, fwd, rev;
  };
  const q cases[] = {
      {0, kMax, 1, 0, kMax},
      {0, kMax, 4096, 0, kMax - 4095},
      {0, kMax, kMax, 0, 1},  // the largest size: two windows fit
      {1, kMax, kMax, 1, 1},  // size == max - min + 1
      {0, kMax - 1, kMax, 0, 0},
      {5, 5, 1, 5, 5},  // min == max
      {0, 0, 1, 0, 0},
      {kMax, kMax, 1, kMax, kMax},
      {10, 19, 10, 10, 10},
      {10, 100, 7, 10, 94},
      {kMax - 9, kMax, 10, kMax - 9, kMax - 9},
      {0x10000, 0x7ffffffff000 - 1, 0x1000, 0x10000, 0x7fffffffe000},
  };
  for (const q &x : cases) {
    EXPECT_TRUE(fwd_is(h.t, h.m, x.min, x.max, x.size, found_at(x.fwd)));
    EXPECT_TRUE(rev_is(h.t, h.m, x.min, x.max, x.size, found_at(x.rev)));
  }
  EXPECT_TRUE(h.t.empty());
}

TYPED_TEST(Gap, TreeHoldingOnlyIndexZero) {
  // Once as the root entry of a fresh tree, once left over in a tree that
  // had nodes (the other ranges erased).
  for (int how = 0; how < 2; ++how) {
    SCOPED_TRACE(how == 0 ? "root entry" : "after erasing the rest");
    harness<TypeParam> h;
    if (how == 1) {
      ASSERT_TRUE(h.fill(300, 3, 1, 1, 1));
      for (std::uint64_t i = 0; i < 300; ++i) ASSERT_TRUE(h.erase(1 + 3 * i));
    }
    ASSERT_TRUE(h.store(0, 0, val(7)));
    ASSERT_TRUE(h.check());
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, 1, found_at(1)));
    EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 1, found_at(kMax)));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, 0, 1, busy()));
    EXPECT_TRUE(rev_is(h.t, h.m, 0, 0, 1, busy()));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, 1, 2, busy()));
    EXPECT_TRUE(rev_is(h.t, h.m, 0, 1, 2, busy()));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, 1, 1, found_at(1)));
    EXPECT_TRUE(rev_is(h.t, h.m, 0, 1, 1, found_at(1)));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, 10, 10, found_at(1)));
    EXPECT_TRUE(rev_is(h.t, h.m, 0, 10, 10, found_at(1)));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, 10, 11, busy()));
    EXPECT_TRUE(rev_is(h.t, h.m, 0, 10, 11, busy()));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, kMax, found_at(1)));  // [1, max] exactly
    EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, kMax, found_at(1)));
    EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax - 1, kMax, busy()));
    EXPECT_TRUE(rev_is(h.t, h.m, kMax, kMax, 1, found_at(kMax)));
    EXPECT_TRUE(fwd_is(h.t, h.m, 1, 1, 1, found_at(1)));
    // Allocating next to it.
    std::uint64_t s = 0;
    ASSERT_FALSE(h.t.alloc_range(val(8), 1, 0, kMax, s));
    EXPECT_EQ(s, 1u);
    h.m.store(1, 1, val(8));
    EXPECT_EQ(h.t.alloc_range(val(9), 1, 0, 1, s), maple::errc::busy);
    ASSERT_TRUE(h.check());
  }
}

TYPED_TEST(Gap, MinEqualsMaxAndFullWindow) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(window_layout(h));
  for (bool rev : {false, true}) {
    SCOPED_TRACE(rev ? "reverse" : "forward");
    // min == max: that index, if free.
    for (std::uint64_t x :
         {std::uint64_t{0}, std::uint64_t{99}, std::uint64_t{108}, std::uint64_t{111},
          std::uint64_t{216}, std::uint64_t{231}, std::uint64_t{456}, kMax}) {
      EXPECT_TRUE(both_is(h.t, &h.m, rev, x, x, 1, found_at(x))) << x;
    }
    for (std::uint64_t x : {std::uint64_t{100}, std::uint64_t{107}, std::uint64_t{112},
                            std::uint64_t{215}, std::uint64_t{232}, std::uint64_t{455}}) {
      EXPECT_TRUE(both_is(h.t, &h.m, rev, x, x, 1, busy())) << x;
    }
    // size == max - min + 1: exactly a free window, or busy.
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 99, 100, found_at(0)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 100, 101, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 108, 111, 4, found_at(108)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 107, 110, 4, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 109, 112, 4, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 216, 231, 16, found_at(216)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 217, 230, 14, found_at(217)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 215, 230, 16, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 456, kMax, kMax - 455, found_at(456)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 455, kMax, kMax - 454, busy()));
  }
}

TYPED_TEST(Gap, NoFitIsBusy) {
  harness<TypeParam> h;
  // Everything used: one range over the whole index space.
  ASSERT_TRUE(h.store(0, kMax, val(1)));
  for (bool rev : {false, true}) {
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, kMax, 1, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, kMax, kMax, 1, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 0, 1, busy()));
  }
  // Many ranges, all gaps of 3: size 4 never fits below the top.
  ASSERT_TRUE(h.store(0, kMax, nullptr));
  ASSERT_TRUE(h.fill(1000, 10, 7, 0, 1));  // [10i, 10i + 6], gaps [10i + 7, 10i + 9]
  for (bool rev : {false, true}) {
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 9999, 4, busy()));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 9999, 3, found_at(rev ? 9997 : 7)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 10000, 4, found_at(9997)));  // the free tail
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 0, 10003, 4, found_at(rev ? 10000 : 9997)));
    EXPECT_TRUE(both_is(h.t, &h.m, rev, 8, 9998, 3, found_at(rev ? 9987 : 17)));
  }
  ASSERT_TRUE(h.check());
}

// ---- windows at 0 and at UINT64_MAX --------------------------------------------------

TYPED_TEST(Gap, WindowsAtZeroAndMax) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(100, 1000, 500, 1000));  // [1000 + 1000i, 1499 + 1000i]
  ASSERT_TRUE(h.store(0, 4, val(900)));
  ASSERT_TRUE(h.store(kMax - 9, kMax - 5, val(901)));
  // Free: [5, 999], [1500 + 1000i, 1999 + 1000i], [100500, max - 10], [max - 4, max].
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, 1, found_at(5)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 4, 1, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 5, 1, found_at(5)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 999, 995, found_at(5)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 999, 996, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 999, 995, found_at(5)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 4, 1, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 1000, 1, found_at(999)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 5, found_at(kMax - 4)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 6, found_at(kMax - 15)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax - 1, 5, found_at(kMax - 14)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 4, kMax, 5, found_at(kMax - 4)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 5, kMax, 5, found_at(kMax - 4)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 5, kMax, 6, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, kMax - 5, kMax, 6, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 20, kMax, 6, found_at(kMax - 20)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 20, kMax, 11, found_at(kMax - 20)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 20, kMax, 12, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, kMax - 20, kMax, 11, found_at(kMax - 20)));
  // Index UINT64_MAX itself used.
  ASSERT_TRUE(h.store(kMax, kMax, val(902)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 1, found_at(kMax - 1)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 4, found_at(kMax - 4)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 5, found_at(kMax - 14)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax, kMax, 1, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 4, kMax, 4, found_at(kMax - 4)));
  EXPECT_TRUE(fwd_is(h.t, h.m, kMax - 4, kMax, 5, busy()));
  // Index 0 and the whole low area used: the first free index is 100500.
  ASSERT_TRUE(h.store(0, 1000, val(903)));
  ASSERT_TRUE(h.store(1000, 100499, val(904)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, 1, found_at(100500)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 100500, 1, found_at(100500)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 100499, 1, busy()));
  ASSERT_TRUE(h.check());
}

// ---- gaps partly outside the window (regression 6) ----------------------------------

TYPED_TEST(Gap, GapsPartlyOutsideTheWindow) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(window_layout(h));
  // Free: [0, 99], [108 + 12k, 111 + 12k] (k != 9, 10), [216, 231], [456, max].
  // Reverse: a gap reaching below min is clipped at min, never used below it.
  EXPECT_TRUE(rev_is(h.t, h.m, 95, 300, 5, found_at(227)));
  EXPECT_TRUE(rev_is(h.t, h.m, 95, 215, 5, found_at(95)));
  EXPECT_TRUE(rev_is(h.t, h.m, 96, 215, 5, busy()));  // [96, 99] holds 4
  EXPECT_TRUE(rev_is(h.t, h.m, 96, 215, 4, found_at(204)));
  EXPECT_TRUE(rev_is(h.t, h.m, 220, 240, 8, found_at(224)));
  EXPECT_TRUE(rev_is(h.t, h.m, 228, 233, 4, found_at(228)));
  EXPECT_TRUE(rev_is(h.t, h.m, 229, 233, 4, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 225, 260, 9, busy()));  // [225, 231] holds 7
  EXPECT_TRUE(rev_is(h.t, h.m, 223, 260, 9, found_at(223)));
  // A gap reaching above max is clipped at max.
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 223, 8, found_at(216)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 222, 8, found_at(92)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 460, 5, found_at(456)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 459, 5, found_at(227)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, 455, 17, found_at(83)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 17, found_at(kMax - 16)));
  // Forward, the same clipping.
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, 1, found_at(0)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 100, kMax, 1, found_at(108)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 100, kMax, 5, found_at(216)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 100, kMax, 17, found_at(456)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 218, kMax, 14, found_at(218)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 219, kMax, 14, found_at(456)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 107, 111, 4, found_at(108)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 107, 111, 5, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 50, 120, 50, found_at(50)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 51, 120, 50, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 226, 11, found_at(0)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 96, 226, 11, found_at(216)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 96, 225, 11, busy()));  // [216, 225] holds 10
  EXPECT_TRUE(fwd_is(h.t, h.m, 96, 226, 12, busy()));
}

// ---- the kernel's empty-area window cases (section 9.1), own layout ---------------------

TYPED_TEST(Gap, EmptyAreaWindow) {
  // Ranges [10i, 10i + 5] for i in 1..40 (4-index gaps between them), then a
  // NULL store over [196, 303] joining several gaps into one hole.
  harness<TypeParam> h;
  for (std::uint64_t i = 1; i <= 40; ++i) ASSERT_TRUE(h.store(10 * i, 10 * i + 5, val(i)));
  ASSERT_TRUE(h.store(196, 303, nullptr));
  ASSERT_TRUE(h.check());
  // Free: [0, 9], [16 + 10k, 19 + 10k] up to [186, 189], [196, 303] (108),
  // [306, 309], ..., [396, 399], [406, max]; [304, 305] is what is left of
  // range 30.
  EXPECT_EQ(h.t.lookup(304), (range_entry{304, 305, val(30)}));
  // Lower bounds that do not fit, one that does.
  EXPECT_TRUE(rev_is(h.t, h.m, 5, 150, 6, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 6, 150, 5, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 5, 150, 5, found_at(5)));
  // A gap that does not fit, then one that does.
  EXPECT_TRUE(rev_is(h.t, h.m, 5, 350, 9, found_at(295)));
  // A gap that fits above the min.
  EXPECT_TRUE(rev_is(h.t, h.m, 200, 400, 3, found_at(397)));
  // A size that fits no gap.
  EXPECT_TRUE(rev_is(h.t, h.m, 150, 400, 109, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 150, 400, 108, found_at(196)));
  // A size that fits the gap but not its part above the window's min ...
  EXPECT_TRUE(rev_is(h.t, h.m, 300, 350, 5, busy()));
  // ... or below the window's max.
  EXPECT_TRUE(rev_is(h.t, h.m, 150, 199, 5, busy()));
  EXPECT_TRUE(rev_is(h.t, h.m, 150, 200, 5, found_at(196)));
  // Forward.
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 100, 9, found_at(0)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 100, 4, found_at(0)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 100, 11, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 5, 100, 6, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, 8, 10, invalid()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 100, 200, 3, found_at(106)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 100, 199, 6, busy()));
  EXPECT_TRUE(fwd_is(h.t, h.m, 100, 201, 6, found_at(196)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 300, kMax, 4, found_at(300)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 300, kMax, 5, found_at(406)));
  EXPECT_TRUE(fwd_is(h.t, h.m, 301, 302, 2, found_at(301)));
  EXPECT_TRUE(rev_is(h.t, h.m, 0, kMax, 1, found_at(kMax)));
}

// ---- the cursor: window, error state, reuse (regression 7), store ------------------------

TYPED_TEST(Gap, CursorIsReusableAfterASearch) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(window_layout(h));
  rguard<TypeParam> g(h.t);
  auto c = g.cursor(0);
  // The window in state start; then reads continue from it.
  ASSERT_FALSE(c.empty_area_rev(95, 300, 5));
  EXPECT_TRUE(pos_is(c, 227, 231, cs::start));
  EXPECT_EQ(c.entry(), nullptr);
  EXPECT_EQ(c.find(), val(11));
  EXPECT_TRUE(pos_is(c, 232, 239, cs::active));
  EXPECT_EQ(c.next(), val(12));
  EXPECT_TRUE(pos_is(c, 244, 251, cs::active));
  // Another search with no reset in between.
  ASSERT_FALSE(c.empty_area_rev(96, 215, 4));
  EXPECT_TRUE(pos_is(c, 204, 207, cs::start));
  EXPECT_EQ(c.walk(), nullptr);
  EXPECT_TRUE(pos_is(c, 204, 207, cs::active));
  ASSERT_FALSE(c.empty_area(100, kMax, 5));
  EXPECT_TRUE(pos_is(c, 216, 220, cs::start));
  EXPECT_EQ(c.find_rev(), val(9));
  EXPECT_TRUE(pos_is(c, 208, 215, cs::active));
  EXPECT_EQ(c.prev(), val(8));
  EXPECT_TRUE(pos_is(c, 196, 203, cs::active));
  ASSERT_FALSE(c.empty_area_rev(0, 459, 5));
  EXPECT_TRUE(pos_is(c, 227, 231, cs::start));
  EXPECT_EQ(c.next(), val(11));
  EXPECT_TRUE(pos_is(c, 232, 239, cs::active));
  ASSERT_FALSE(c.empty_area_rev(0, 459, 5));
  EXPECT_EQ(c.prev(), val(9));
  EXPECT_TRUE(pos_is(c, 208, 215, cs::active));
  // A failed search: error state; set() makes the cursor usable again.
  EXPECT_EQ(c.empty_area_rev(96, 215, 5), maple::errc::busy);
  EXPECT_EQ(c.state(), cs::error);
  EXPECT_EQ(c.error(), maple::errc::busy);
  c.set(300);
  EXPECT_EQ(c.find(), val(17));
  EXPECT_TRUE(pos_is(c, 304, 311, cs::active));
  // A search straight after an error works too.
  EXPECT_EQ(c.empty_area(0, 8, 10), maple::errc::invalid_argument);
  EXPECT_EQ(c.state(), cs::error);
  ASSERT_FALSE(c.empty_area(0, kMax, 200));
  EXPECT_TRUE(pos_is(c, 456, 655, cs::start));
  EXPECT_EQ(c.find(), nullptr);
  // Searches after iterating to the end, and after a pause.
  c.set(0);
  while (c.find()) {
  }
  ASSERT_FALSE(c.empty_area_rev(0, kMax, 1));
  EXPECT_TRUE(pos_is(c, kMax, kMax, cs::start));
  EXPECT_EQ(c.find_rev(), val(29));
  c.pause();
  ASSERT_FALSE(c.empty_area(101, 300, 4));
  EXPECT_TRUE(pos_is(c, 108, 111, cs::start));
  EXPECT_EQ(c.find_rev(), val(0));
  EXPECT_TRUE(pos_is(c, 100, 107, cs::active));
}

TYPED_TEST(Gap, CursorSearchFromEveryState) {
  // Whatever state the cursor is in (start, active, root_entry, none,
  // paused, overflow, underflow, error), a search places the window in
  // state start and the next read continues from it - on an empty tree, a
  // root-entry tree and a tree with nodes.
  for (int shape = 0; shape < 3; ++shape) {
    SCOPED_TRACE("shape " + std::to_string(shape));
    harness<TypeParam> h;
    if (shape == 1) {
      ASSERT_TRUE(h.store(0, 0, val(1)));
    }
    if (shape == 2) {
      ASSERT_NO_FATAL_FAILURE(window_layout(h));
    }
    rguard<TypeParam> g(h.t);
    for (int st = 0; st < 8; ++st) {
      SCOPED_TRACE("state " + std::to_string(st));
      auto c = g.cursor(shape == 1 ? 0 : 150);
      switch (st) {
        case 0: break;                       // start
        case 1: c.walk(); break;             // active / root_entry / none
        case 2: c.set(5), c.walk(); break;   // none (root entry) / active
        case 3: c.find(), c.pause(); break;  // paused
        case 4:
          while (c.find(300)) {
          }
          break;  // overflow
        case 5:
          while (c.find_rev(110)) {
          }
          break;                                      // underflow
        case 6: c.empty_area(5, 4, 1); break;         // error
        case 7: c.find(), c.next(), c.prev(); break;  // moved around
      }
      const cs before = c.state();
      for (bool rev : {false, true}) {
        const std::uint64_t min = 100, max = 300, size = 3;
        gap_answer want = brute_empty_area(h.m, min, max, size, rev);
        ASSERT_FALSE(want.ec);
        std::error_code ec = rev ? c.empty_area_rev(min, max, size) : c.empty_area(min, max, size);
        ASSERT_FALSE(ec) << "from state " << maple::to_string(before);
        ASSERT_TRUE(pos_is(c, want.start, want.start + size - 1, cs::start))
            << "from state " << maple::to_string(before);
        auto next = h.m.find(want.start);
        EXPECT_EQ(c.find(), next ? next->entry : nullptr)
            << "from state " << maple::to_string(before);
      }
    }
  }
}

TYPED_TEST(Gap, WriteCursorStoreFillsTheWindow) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(window_layout(h));
  {
    wguard<TypeParam> w(h.t);
    auto c = w.cursor();
    ASSERT_FALSE(c.empty_area_rev(95, 300, 5));
    ASSERT_FALSE(c.store(val(100)));
    h.m.store(227, 231, val(100));
    // The same cursor, no reset: the kernel's mmap loop (search, store) until
    // the window [100, 459] has no 4-index hole left.
    std::uint64_t tag = 101;
    for (;;) {
      gap_answer want = brute_empty_area(h.m, 100, 459, 4, true);
      std::error_code ec = c.empty_area_rev(100, 459, 4);
      ASSERT_EQ(ec, want.ec) << "tag " << tag;
      if (ec) break;
      ASSERT_TRUE(pos_is(c, want.start, want.start + 3, cs::start));
      ASSERT_FALSE(c.store(val(tag)));
      h.m.store(want.start, want.start + 3, val(tag));
      ++tag;
    }
    // [456, 459], the 27 small gaps, and two windows of what is left of
    // [216, 231] ([216, 226] after the first store).
    EXPECT_EQ(tag, 101u + 30u);
    // Forward, then the preallocated store (the kernel's mmap path).
    ASSERT_FALSE(c.empty_area(0, kMax, 50));
    EXPECT_TRUE(pos_is(c, 0, 49, cs::start));
    ASSERT_FALSE(c.preallocate(val(200)));
    c.store_prealloc(val(200));
    h.m.store(0, 49, val(200));
    ASSERT_FALSE(c.empty_area(0, kMax, 50));
    EXPECT_TRUE(pos_is(c, 50, 99, cs::start));
    ASSERT_FALSE(c.store(val(201)));
    h.m.store(50, 99, val(201));
  }
  ASSERT_TRUE(h.check());
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, 1, found_at(216)));  // [216, 218] is left
  EXPECT_TRUE(fwd_is(h.t, h.m, 0, kMax, 4, found_at(460)));
}

// ---- alloc_range / alloc_rrange ------------------------------------------------------

TYPED_TEST(Gap, AllocRangeStoresAndReportsTheStart) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(window_layout(h));
  struct q {
    bool rev;
    std::uint64_t size, min, max, start;
  };
  const q steps[] = {
      {false, 5, 100, kMax, 216},
      {false, 5, 100, kMax, 221},
      {false, 6, 100, kMax, 226},
      {false, 5, 100, kMax, 456},
      {false, 1, 100, kMax, 108},
      {true, 4, 0, 300, 288},
      {true, 100, 0, kMax, kMax - 99},
      {true, 1, 0, kMax, kMax - 100},
      {true, 5, 0, 99, 95},
      {false, 3, 0, 99, 0},
      {true, 4, 0, 300, 276},
      {false, 461, 0, kMax, 461},
  };
  std::uint64_t tag = 500;
  for (const q &x : steps) {
    SCOPED_TRACE(query_text(x.rev, x.min, x.max, x.size));
    gap_answer want = brute_empty_area(h.m, x.min, x.max, x.size, x.rev);
    ASSERT_EQ(want, found_at(x.start)) << "table vs oracle: " << describe(want);
    std::uint64_t s = 0;
    std::error_code ec = x.rev ? h.t.alloc_rrange(val(tag), x.size, x.min, x.max, s)
                               : h.t.alloc_range(val(tag), x.size, x.min, x.max, s);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s, x.start);
    h.m.store(x.start, x.start + x.size - 1, val(tag));
    EXPECT_EQ(h.t.lookup(x.start), (range_entry{x.start, x.start + x.size - 1, val(tag)}));
    ASSERT_TRUE(h.check());
    ++tag;
  }
}

TYPED_TEST(Gap, AllocRangeOnTrivialTrees) {
  harness<TypeParam> h;
  std::uint64_t s = 0;
  ASSERT_FALSE(h.t.alloc_range(val(1), 1, 0, kMax, s));  // becomes the root entry
  EXPECT_EQ(s, 0u);
  h.m.store(0, 0, val(1));
  EXPECT_EQ(h.t.alloc_range(val(2), 1, 0, 0, s), maple::errc::busy);
  ASSERT_FALSE(h.t.alloc_rrange(val(3), 1, 0, kMax, s));
  EXPECT_EQ(s, kMax);
  h.m.store(kMax, kMax, val(3));
  ASSERT_FALSE(h.t.alloc_range(val(4), 3, 0, kMax, s));
  EXPECT_EQ(s, 1u);
  h.m.store(1, 3, val(4));
  ASSERT_FALSE(h.t.alloc_rrange(val(5), 3, 0, kMax, s));
  EXPECT_EQ(s, kMax - 3);
  h.m.store(kMax - 3, kMax - 1, val(5));
  ASSERT_FALSE(h.t.alloc_range(val(6), kMax - 7, 0, kMax, s));  // exactly [4, max - 4]
  EXPECT_EQ(s, 4u);
  h.m.store(4, kMax - 4, val(6));
  EXPECT_EQ(h.t.alloc_range(val(7), 1, 0, kMax, s), maple::errc::busy);
  EXPECT_EQ(h.t.alloc_rrange(val(7), 1, 0, kMax, s), maple::errc::busy);
  ASSERT_TRUE(h.check());
}

TYPED_TEST(Gap, AllocRangeErrorsLeaveTheTreeUnchanged) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(window_layout(h));
  const maple::check_report before = h.t.validate();
  ASSERT_TRUE(before.ok);
  std::uint64_t s = 12345;
  for (void *bad :
       {static_cast<void *>(nullptr), kReserved, reinterpret_cast<void *>(std::uintptr_t{4094})}) {
    // A request that would fit.
    EXPECT_EQ(h.t.alloc_range(bad, 5, 0, kMax, s), maple::errc::invalid_argument);
    EXPECT_EQ(h.t.alloc_rrange(bad, 5, 0, kMax, s), maple::errc::invalid_argument);
    bool wrapped = false;
    std::uint64_t next = 0;
    EXPECT_EQ(h.t.alloc_cyclic(bad, 0, kMax, next, s, wrapped), maple::errc::invalid_argument);
    EXPECT_EQ(next, 0u);
  }
  EXPECT_EQ(s, 12345u);
  // Busy: nothing fits.
  EXPECT_EQ(h.t.alloc_range(val(1), 17, 100, 455, s), maple::errc::busy);
  EXPECT_EQ(h.t.alloc_rrange(val(1), 17, 100, 455, s), maple::errc::busy);
  EXPECT_EQ(h.t.alloc_range(val(1), 5, 96, 215, s), maple::errc::busy);
  EXPECT_EQ(h.t.alloc_rrange(val(1), 5, 96, 215, s), maple::errc::busy);
  // Invalid limits.
  EXPECT_EQ(h.t.alloc_range(val(1), 0, 0, kMax, s), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.alloc_rrange(val(1), 2, 7, 7, s), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.alloc_range(val(1), 1, 8, 7, s), maple::errc::invalid_argument);
  EXPECT_EQ(s, 12345u);
  ASSERT_TRUE(h.check());
  ASSERT_TRUE(h.check_deep());
}

/// A memory resource that can be told to fail after `budget` allocations.
class budget_resource : public std::pmr::memory_resource {
 public:
  long budget = -1;  // < 0: unlimited
  std::size_t outstanding = 0;

 private:
  void *do_allocate(std::size_t n, std::size_t align) override {
    if (budget == 0) throw std::bad_alloc();
    if (budget > 0) --budget;
    ++outstanding;
    return std::pmr::new_delete_resource()->allocate(n, align);
  }
  void do_deallocate(void *p, std::size_t n, std::size_t align) override {
    --outstanding;
    std::pmr::new_delete_resource()->deallocate(p, n, align);
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
};

TYPED_TEST(Gap, AllocOutOfMemoryLeavesTheTreeUnchanged) {
  // Ranges [10i, 10i + 4]; each request lands in one 5-index gap and needs
  // the leaf to grow. For every budget from 0 up, it either fails with
  // no_memory and changes nothing, or succeeds where the oracle says.
  for (int kind = 0; kind < 3; ++kind) {
    SCOPED_TRACE("kind " + std::to_string(kind));
    for (long budget = 0;; ++budget) {
      budget_resource mr;
      bool done = false;
      {
        reference_model m;
        TypeParam t(&mr);
        for (std::uint64_t i = 0; i < 300; ++i) {
          ASSERT_FALSE(t.store(i * 10, i * 10 + 4, val(i + 1)));
          m.store(i * 10, i * 10 + 4, val(i + 1));
        }
        const std::uint64_t size = kind == 0 ? 3 : kind == 1 ? 2 : 1;
        const std::uint64_t want = kind == 1 ? 1498 : 1505;
        std::uint64_t s = 0, next = 1502;
        bool wrapped = false;
        mr.budget = budget;
        std::error_code ec = kind == 0   ? t.alloc_range(val(999), size, 1502, kMax, s)
                             : kind == 1 ? t.alloc_rrange(val(999), size, 0, 1502, s)
                                         : t.alloc_cyclic(val(999), 0, kMax, next, s, wrapped);
        mr.budget = -1;
        if (ec) {
          ASSERT_EQ(ec, maple::errc::no_memory) << "budget " << budget;
          ASSERT_TRUE(consistent(t, m)) << "budget " << budget;
          if (kind == 2) {
            EXPECT_EQ(next, 1502u);
          }
        } else {
          EXPECT_EQ(s, want);
          if (kind == 2) {
            EXPECT_EQ(next, want + 1);
          }
          if (kind == 2) {
            EXPECT_FALSE(wrapped);
          }
          m.store(want, want + size - 1, val(999));
          ASSERT_TRUE(consistent(t, m)) << "budget " << budget;
          done = true;
        }
      }
      EXPECT_EQ(mr.outstanding, 0u);
      if (done) break;
      ASSERT_LT(budget, 1000) << "never succeeded";
    }
  }
}

// ---- alloc_cyclic ------------------------------------------------------------------------

struct cyclic_step {
  std::uint64_t start;
  bool wrapped;
  std::uint64_t next;
};

template <class Tree>
::testing::AssertionResult cyclic_ok(harness<Tree> &h, std::uint64_t min, std::uint64_t max,
                                     std::uint64_t &next, const cyclic_step &want,
                                     std::uint64_t tag) {
  std::uint64_t s = 0xbad;
  bool wrapped = !want.wrapped;
  std::error_code ec = h.t.alloc_cyclic(val(tag), min, max, next, s, wrapped);
  if (ec || s != want.start || wrapped != want.wrapped || next != want.next)
    return ::testing::AssertionFailure()
           << "alloc_cyclic(" << hex(min) << ", " << hex(max) << "): '" << ec.message()
           << "' start " << hex(s) << " wrapped " << wrapped << " next " << hex(next)
           << "; expected start " << hex(want.start) << " wrapped " << want.wrapped << " next "
           << hex(want.next);
  h.m.store(s, s, val(tag));
  return ::testing::AssertionSuccess();
}

template <class Tree>
::testing::AssertionResult cyclic_fails(harness<Tree> &h, std::uint64_t min, std::uint64_t max,
                                        std::uint64_t &next, maple::errc want) {
  std::uint64_t s = 0xbad, before = next;
  bool wrapped = false;
  std::error_code ec = h.t.alloc_cyclic(val(1), min, max, next, s, wrapped);
  if (ec != want || next != before || s != 0xbad)
    return ::testing::AssertionFailure()
           << "alloc_cyclic(" << hex(min) << ", " << hex(max) << "): '" << ec.message() << "' next "
           << hex(next) << " (was " << hex(before) << ")";
  return ::testing::AssertionSuccess();
}

TYPED_TEST(Gap, AllocCyclicSequential) {
  harness<TypeParam> h;
  std::uint64_t next = 0;
  // From 0 on an empty tree: the root entry first, then nodes.
  for (std::uint64_t i = 0; i < 300; ++i)
    ASSERT_TRUE(cyclic_ok(h, 0, kMax, next, {i, false, i + 1}, i));
  ASSERT_TRUE(h.check());
  // next below min starts at min; next inside used ids skips them.
  harness<TypeParam> g;
  ASSERT_TRUE(g.fill(5, 1, 1, 10, 1));  // 10..14 used
  next = 3;
  ASSERT_TRUE(cyclic_ok(g, 10, 100, next, {15, false, 16}, 50));
  next = 11;
  ASSERT_TRUE(cyclic_ok(g, 10, 100, next, {16, false, 17}, 51));
  next = 50;
  ASSERT_TRUE(cyclic_ok(g, 10, 100, next, {50, false, 51}, 52));
  ASSERT_TRUE(g.check());
}

TYPED_TEST(Gap, AllocCyclicBusyAndWrap) {
  harness<TypeParam> h;
  std::uint64_t next = 0;
  for (std::uint64_t i = 10; i <= 14; ++i)
    ASSERT_TRUE(cyclic_ok(h, 10, 14, next, {i, false, i + 1}, i));
  ASSERT_TRUE(cyclic_fails(h, 10, 14, next, maple::errc::busy));  // full
  EXPECT_EQ(next, 15u);
  ASSERT_TRUE(h.erase(12));
  ASSERT_TRUE(cyclic_ok(h, 10, 14, next, {12, true, 13}, 100));  // wraps to the freed id
  ASSERT_TRUE(h.erase(11));
  ASSERT_TRUE(h.erase(14));
  ASSERT_TRUE(cyclic_ok(h, 10, 14, next, {14, false, 15}, 101));  // above next first
  ASSERT_TRUE(cyclic_ok(h, 10, 14, next, {11, true, 12}, 102));   // then wraps
  ASSERT_TRUE(cyclic_fails(h, 10, 14, next, maple::errc::busy));
  // min == max.
  std::uint64_t n2 = 0;
  ASSERT_TRUE(cyclic_ok(h, 500, 500, n2, {500, false, 501}, 103));
  ASSERT_TRUE(cyclic_fails(h, 500, 500, n2, maple::errc::busy));
  // Invalid: min > max (tree and next unchanged).
  ASSERT_TRUE(cyclic_fails(h, 15, 14, next, maple::errc::invalid_argument));
  ASSERT_TRUE(cyclic_fails(h, kMax, 0, next, maple::errc::invalid_argument));
  ASSERT_TRUE(h.check());
}

TYPED_TEST(Gap, AllocCyclicNextOverflowsAtMax) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(100, 7, 3, 1000));  // unrelated content, so the tree has nodes
  std::uint64_t next = 0;
  const std::uint64_t lo = kMax - 2;
  ASSERT_TRUE(cyclic_ok(h, lo, kMax, next, {kMax - 2, false, kMax - 1}, 1));
  ASSERT_TRUE(cyclic_ok(h, lo, kMax, next, {kMax - 1, false, kMax}, 2));
  // Allocating UINT64_MAX: next overflows to 0, and this call does not say
  // it wrapped ...
  ASSERT_TRUE(cyclic_ok(h, lo, kMax, next, {kMax, false, 0}, 3));
  ASSERT_TRUE(cyclic_fails(h, lo, kMax, next, maple::errc::busy));
  EXPECT_EQ(next, 0u);
  // ... the next successful call does (even after a busy one in between),
  // once.
  ASSERT_TRUE(h.erase(kMax - 1));
  ASSERT_TRUE(cyclic_ok(h, lo, kMax, next, {kMax - 1, true, kMax}, 4));
  ASSERT_TRUE(h.erase(kMax - 2));
  ASSERT_TRUE(cyclic_ok(h, lo, kMax, next, {kMax - 2, true, kMax - 1}, 5));  // a real wrap
  ASSERT_TRUE(h.erase(kMax - 1));
  ASSERT_TRUE(cyclic_ok(h, lo, kMax, next, {kMax - 1, false, kMax}, 6));
  // Over the whole index space: after UINT64_MAX the search starts at min.
  harness<TypeParam> g;
  std::uint64_t n = kMax;
  ASSERT_TRUE(cyclic_ok(g, 0, kMax, n, {kMax, false, 0}, 7));
  ASSERT_TRUE(cyclic_ok(g, 0, kMax, n, {0, true, 1}, 8));
  ASSERT_TRUE(cyclic_ok(g, 0, kMax, n, {1, false, 2}, 9));
  ASSERT_TRUE(h.check());
  ASSERT_TRUE(g.check());
}

// ---- the kernel's alloc_range / alloc_rev_range (section 9.1), own tables ------------------

/// A VMA-like layout (bytes): an executable, a heap piece, a data area,
/// `fillers` 3-page mappings with 1-page holes after it, libraries with
/// small holes between them, and a stack. Values val(1000 + i).
constexpr std::uint64_t kFillers = 500;
constexpr std::uint64_t kFillEnd =
    0x800000 + 4 * kFillers * kPage;  // first free byte after the fillers

template <class Tree>
void vma_layout(harness<Tree> &h) {
  const std::pair<std::uint64_t, std::uint64_t> fixed[] = {
      {0x400000, 0x4fffff},              // A  executable
      {0x500000, 0x503fff},              // B  (then 252 free pages)
      {0x600000, 0x7fffff},              // C  (then 1 free page)
      {0x7f0000000000, 0x7f00001fffff},  // D  library (then 3 free pages)
      {0x7f0000203000, 0x7f0000204fff},  // E  (then 11 free pages)
      {0x7f0000210000, 0x7f000021ffff},  // F
      {0x7ffffffde000, 0x7fffffffefff},  // G  stack (then the top 1 page of 47 bits)
  };
  std::uint64_t tag = 1000;
  for (auto [f, l] : fixed) ASSERT_TRUE(h.store(f, l, val(tag++)));
  for (std::uint64_t k = 0; k < kFillers; ++k) {
    std::uint64_t f = 0x801000 + 4 * k * kPage;
    ASSERT_TRUE(h.store(f, f + 3 * kPage - 1, val(tag++)));
  }
  ASSERT_TRUE(h.check());
}

struct table_row {
  std::uint64_t min, max, size;
  gap_answer want;
};

TYPED_TEST(Gap, AllocRangeTableSearches) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(vma_layout(h));
  const table_row fwd[] = {
      {0, kMax, 0x1000, found_at(0)},
      {0x400000, kMax, 0x1000, found_at(0x504000)},
      {0x400000, 0x7fffff, 0xfc000, found_at(0x504000)},
      {0x400000, 0x7fffff, 0xfd000, busy()},
      {0x600000, kMax, 0x1000, found_at(0x800000)},
      {0x600000, kMax, 0x2000, found_at(kFillEnd)},
      {0x801000, kMax, 0x1000, found_at(0x804000)},
      {0x7f0000000000, kMax, 0x3000, found_at(0x7f0000200000)},
      {0x7f0000000000, kMax, 0x4000, found_at(0x7f0000205000)},
      {0x7f0000000000, kMax, 0xc000, found_at(0x7f0000220000)},
      {0x7f0000201000, 0x7f000020ffff, 0x3000, found_at(0x7f0000205000)},
      {0x7f0000206000, 0x7f000020ffff, 0xa000, found_at(0x7f0000206000)},
      {0x7f0000206000, 0x7f000020ffff, 0xb000, invalid()},
      {0x7f0000205000, 0x7f000020ffff, 0xb000, found_at(0x7f0000205000)},
      {0x500000, 0x503fff, 0x1000, busy()},
      {0x7ffffffde000, kMax, 0x1000, found_at(0x7ffffffff000)},
      {0x7fffffffe000, 0x7ffffffff000, 2, busy()},
      {0x7fffffffe000, 0x7ffffffff000, 1, found_at(0x7ffffffff000)},
  };
  const table_row rev[] = {
      {0, kMax, 0x1000, found_at(0xfffffffffffff000)},
      {0, 0x7fffffffffff, 0x1000, found_at(0x7ffffffff000)},
      {0, 0x7ffffffdffff, 0x1000, found_at(0x7ffffffdd000)},
      {0, 0x7f000021ffff, 0x3000, found_at(0x7f000020d000)},
      {0, 0x7f000021ffff, 0xc000, found_at(0x7effffff4000)},
      {0x7f0000200000, 0x7f000021ffff, 0xc000, busy()},
      {0x7f0000200000, 0x7f0000204fff, 0x3000, found_at(0x7f0000200000)},
      {0x7f0000201000, 0x7f0000204fff, 0x3000, busy()},
      {0x400000, 0x7fffff, 0x1000, found_at(0x5ff000)},
      {0, 0x4fffff, 0x400000, found_at(0)},
      {0, 0x4fffff, 0x400001, busy()},
      {0x1000, 0x4fffff, 0x400000, busy()},
      {0x504000, 0x5fffff, 0xfc000, found_at(0x504000)},
      {0, kFillEnd - 1, 0x2000, found_at(0x5fe000)},  // down through every filler
      {0, kFillEnd - 1, 0x1000, found_at(kFillEnd - 0x4000)},
      {0x7f0000000000, kMax, 0x1000, found_at(0xfffffffffffff000)},
      {0x7f0000000000, 0x7f00001fffff, 0x1000, busy()},
  };
  for (const table_row &r : fwd) EXPECT_TRUE(fwd_is(h.t, h.m, r.min, r.max, r.size, r.want));
  for (const table_row &r : rev) EXPECT_TRUE(rev_is(h.t, h.m, r.min, r.max, r.size, r.want));
}

/// Runs alloc_range (rev = false) or alloc_rrange over `rows` in order, each
/// seeing the previous allocations.
template <class Tree>
void run_alloc_table(harness<Tree> &h, bool rev, const std::vector<table_row> &rows) {
  std::uint64_t tag = 5000;
  for (const table_row &r : rows) {
    SCOPED_TRACE((rev ? "alloc_rrange size " : "alloc_range size ") + hex(r.size) + " in [" +
                 hex(r.min) + ", " + hex(r.max) + "]");
    gap_answer oracle = brute_empty_area(h.m, r.min, r.max, r.size, rev);
    ASSERT_EQ(oracle, r.want) << "table vs oracle: " << describe(oracle);
    std::uint64_t s = 0;
    std::error_code ec = rev ? h.t.alloc_rrange(val(tag), r.size, r.min, r.max, s)
                             : h.t.alloc_range(val(tag), r.size, r.min, r.max, s);
    ASSERT_EQ(ec, r.want.ec) << ec.message();
    if (!ec) {
      ASSERT_EQ(s, r.want.start) << hex(s);
      h.m.store(s, s + r.size - 1, val(tag));
    }
    ASSERT_TRUE(h.check());
    ++tag;
  }
}

TYPED_TEST(Gap, AllocRangeTableAllocations) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(vma_layout(h));
  run_alloc_table(h, false,
                  {
                      {0x400000, kMax, 0x1000, found_at(0x504000)},
                      {0x400000, kMax, 0x1000, found_at(0x505000)},
                      {0x400000, 0x7fffff, 0xfa000, found_at(0x506000)},
                      {0x400000, 0x7fffff, 0x1000, busy()},
                      {0x7f0000000000, kMax, 0x2000, found_at(0x7f0000200000)},
                      {0x7f0000000000, kMax, 0x2000, found_at(0x7f0000205000)},
                      {0x7f0000000000, kMax, 0x1000, found_at(0x7f0000202000)},
                      {0x7f0000000000, kMax, 0x9000, found_at(0x7f0000207000)},
                      {0x7f0000000000, kMax, 0x1000, found_at(0x7f0000220000)},
                      {0, 0x3fffff, 0x1000, found_at(0)},
                      {0x400000, kMax, 0x1000, found_at(0x800000)},
                      {0x400000, kMax, 0x1000, found_at(0x804000)},
                      {0, 0x3fffff, 0x3fe000, found_at(0x1000)},
                      {0, 0x3fffff, 0x2000, busy()},
                      {0, 0x3fffff, 0x1000, found_at(0x3ff000)},
                  });
}

TYPED_TEST(Gap, AllocRevRangeTableAllocations) {
  harness<TypeParam> h;
  ASSERT_NO_FATAL_FAILURE(vma_layout(h));
  run_alloc_table(h, true,
                  {
                      {0, 0x7fffffffffff, 0x1000, found_at(0x7ffffffff000)},
                      {0, 0x7fffffffffff, 0x1000, found_at(0x7ffffffdd000)},
                      {0x7f0000000000, 0x7f000021ffff, 0x3000, found_at(0x7f000020d000)},
                      {0x7f0000000000, 0x7f000021ffff, 0x8000, found_at(0x7f0000205000)},
                      {0x7f0000000000, 0x7f000021ffff, 0x1000, found_at(0x7f0000202000)},
                      {0x7f0000000000, 0x7f000021ffff, 0x3000, busy()},
                      {0x7f0000000000, 0x7f000021ffff, 0x2000, found_at(0x7f0000200000)},
                      {0x7f0000000000, 0x7f000021ffff, 0x1000, busy()},
                      {0, 0x7fffff, 0xfc000, found_at(0x504000)},
                      {0, 0x7fffff, 0x1000, found_at(0x3ff000)},
                      {0, kFillEnd - 1, 0x2000, found_at(0x3fd000)},
                      {0, kFillEnd - 1, 0x1000, found_at(kFillEnd - 0x4000)},
                      {0, kFillEnd - 1, 0x1000, found_at(kFillEnd - 0x8000)},
                  });
}

// ---- gap combining after erasing singletons (section 9.1) -------------------------------------

TYPED_TEST(Gap, GapCombining) {
  // Singletons [i, i] for i < n: a tree of several levels. At every
  // position k, erase neighbours in different orders and check that the
  // searches see one combined gap of exactly the erased width.
  const std::uint64_t n = TypeParam::slots == 4 ? 600 : 1000;
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(n, 1, 1, 0, 1));  // [i, i] -> val(1 + i)
  const std::uint64_t top = n - 1;     // searches stay below the free tail [n, max]
  for (std::uint64_t k = 0; k + 3 <= n; ++k) {
    SCOPED_TRACE("k " + std::to_string(k));
    ASSERT_TRUE(h.erase(k));
    ASSERT_TRUE(h.erase(k + 1));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 2, found_at(k)));
    ASSERT_TRUE(fwd_is(h.t, h.m, 0, top, 2, found_at(k)));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 3, busy()));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 1, found_at(k + 1)));
    // The middle one back, then the outer one erased: two singleton gaps.
    ASSERT_TRUE(h.store(k + 1, k + 1, val(2 + k)));
    ASSERT_TRUE(h.erase(k + 2));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 2, busy()));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 1, found_at(k + 2)));
    ASSERT_TRUE(fwd_is(h.t, h.m, 0, top, 1, found_at(k)));
    // Erasing the middle joins both sides into one gap of 3.
    ASSERT_TRUE(h.erase(k + 1));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 3, found_at(k)));
    ASSERT_TRUE(fwd_is(h.t, h.m, 0, top, 3, found_at(k)));
    ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 4, busy()));
    ASSERT_TRUE(rev_is(h.t, h.m, k + 1, top, 2, found_at(k + 1)));
    ASSERT_TRUE(fwd_is(h.t, h.m, 0, k + 1, 2, found_at(k)));
    for (std::uint64_t i = k; i < k + 3; ++i) ASSERT_TRUE(h.store(i, i, val(1 + i)));
    if (k % 64 == 0) {
      ASSERT_TRUE(h.check());
    }
  }
  // Wide runs erased one by one, across leaves and levels.
  for (std::uint64_t w : {15, 16, 17, 63, 64, 65, 255, 256}) {
    for (std::uint64_t k : {std::uint64_t{0}, std::uint64_t{1}, n / 3, n - w - 1}) {
      SCOPED_TRACE("w " + std::to_string(w) + " k " + std::to_string(k));
      for (std::uint64_t i = 0; i < w; ++i)
        ASSERT_TRUE(h.erase(k + (i * 11) % w));  // scattered order
      ASSERT_TRUE(rev_is(h.t, h.m, 0, top, w, found_at(k)));
      ASSERT_TRUE(fwd_is(h.t, h.m, 0, top, w, found_at(k)));
      ASSERT_TRUE(rev_is(h.t, h.m, 0, top, w + 1, busy()));
      ASSERT_TRUE(rev_is(h.t, h.m, 0, top, 1, found_at(k + w - 1)));
      ASSERT_TRUE(h.check());
      for (std::uint64_t i = k; i < k + w; ++i) ASSERT_TRUE(h.store(i, i, val(1 + i)));
    }
  }
  ASSERT_TRUE(h.check_deep());
}

// ---- filling an address space with 4K-64K allocations (section 9.1)
// -------------------------------

TYPED_TEST(Gap, EmptyAreaFill) {
  // A smaller space than the kernel's (gap_fill.h; the kernel's 5000
  // allocations per size, 0x25D78000 bytes, run in the slow differential
  // executable): 1000 per size on 16 slots, 400 on 4 slots.
  ASSERT_NO_FATAL_FAILURE(check_empty_area_fill<TypeParam>(TypeParam::slots == 4 ? 400 : 1000));
}

}  // namespace
}  // namespace maple_test
