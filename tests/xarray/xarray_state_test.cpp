// tests/xarray/xarray_state_test.cpp - the advanced API (maple::xa_state): the
// state machine (restart, bounds, walked, error), stepping with next/prev,
// pause/resume, retry and zero entries, multi-index stores, split and the
// nomem retry step.
#include "test_env.h"
#include "xa_test_support.h"

#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace maple_test {
namespace {

using maple::errc;
using maple::xa_mark;
using maple::xa_state;
using maple::xarray;
constexpr std::uint64_t kMax = ~std::uint64_t{0};

TEST(XaState, StartsInRestartAndWalks) {
  xarray xa;
  ASSERT_FALSE(xa.store(70, val(70)));
  xa_state xas(xa, 70);
  EXPECT_TRUE(xas.is_restart());
  EXPECT_EQ(xas.load(), val(70));
  EXPECT_TRUE(xas.valid());
  EXPECT_EQ(xas.reload(), val(70));
  xas.set(1ull << 40);  // beyond the tree
  EXPECT_EQ(xas.load(), nullptr);
  EXPECT_TRUE(xas.is_bounds());
  xas.set(0);
  EXPECT_EQ(xas.load(), nullptr);
  EXPECT_TRUE(xas.valid());
}

TEST(XaState, ErrorStateIsStickyUntilSet) {
  xarray xa;
  ASSERT_FALSE(xa.store(3, val(3)));
  xa_state xas(xa, 3);
  xas.set_error(errc::no_memory);
  EXPECT_EQ(xas.error(), errc::no_memory);
  EXPECT_EQ(xas.load(), nullptr);
  EXPECT_EQ(xas.find(kMax), nullptr);
  EXPECT_EQ(xas.next(), nullptr);
  {
    std::lock_guard g(xa);
    EXPECT_EQ(xas.store(val(9)), nullptr);
  }
  EXPECT_EQ(xa.load(3), val(3));
  xas.set(3);
  EXPECT_FALSE(xas.error());
  EXPECT_EQ(xas.load(), val(3));
  xas.set_order(0, 65);
  EXPECT_EQ(xas.error(), errc::invalid_argument);
}

// The kernel's check_move_small: next/prev through a sparse range, wrapping at
// both ends of the index space.
TEST(XaState, NextAndPrevStepOneIndex) {
  for (std::uint64_t idx : {1ull, 63ull, 64ull, 4095ull, 1ull << 20}) {
    xarray xa;
    ASSERT_FALSE(xa.store(0, val(0)));
    ASSERT_FALSE(xa.store(idx, val(idx)));
    xa_state xas(xa, 0);
    std::uint64_t i = 0;
    for (; i < std::min<std::uint64_t>(idx * 4, 20000); ++i) {
      void *e = xas.next();
      ASSERT_EQ(xas.index(), i);
      if (i == 0 || i == idx)
        ASSERT_EQ(e, val(i)) << idx << " " << i;
      else
        ASSERT_EQ(e, nullptr) << idx << " " << i;
    }
    xas.next();
    EXPECT_EQ(xas.index(), i);
    do {
      void *e = xas.prev();
      --i;
      ASSERT_EQ(xas.index(), i);
      if (i == 0 || i == idx)
        ASSERT_EQ(e, val(i));
      else
        ASSERT_EQ(e, nullptr);
    } while (i != 0);
    xas.set(kMax);
    EXPECT_EQ(xas.next(), nullptr);  // restart: loads kMax itself
    EXPECT_EQ(xas.index(), kMax);
    EXPECT_EQ(xas.next(), val(0));  // wraps to 0
    EXPECT_EQ(xas.index(), 0u);
    EXPECT_EQ(xas.prev(), nullptr);  // and back
    EXPECT_EQ(xas.index(), kMax);
  }
}

TEST(XaState, NextRevealsSiblingWordsInALeaf) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(4, 2, val(4)));
  ASSERT_FALSE(xa.store(9, val(9)));
  xa_state xas(xa, 3);
  EXPECT_EQ(xas.next(), nullptr);                 // 3
  EXPECT_EQ(xas.next(), val(4));                  // 4: the first slot
  EXPECT_TRUE(maple::xa_is_sibling(xas.next()));  // 5
  EXPECT_TRUE(maple::xa_is_sibling(xas.next()));  // 6
  EXPECT_TRUE(maple::xa_is_sibling(xas.next()));  // 7
  EXPECT_EQ(xas.next(), nullptr);                 // 8
  EXPECT_EQ(xas.next(), val(9));
}

TEST(XaState, FindFromInsideAndAfter) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(512, 9, val(1)));
  ASSERT_FALSE(xa.store(2000, val(2)));
  xa_state xas(xa, 600);
  EXPECT_EQ(xas.find(kMax), val(1));  // the entry holding 600
  EXPECT_EQ(xas.index(), 600u);
  EXPECT_EQ(xas.find(kMax), val(2));  // then the next one
  EXPECT_EQ(xas.index(), 2000u);
  EXPECT_EQ(xas.find(kMax), nullptr);
  EXPECT_EQ(xas.find(kMax), nullptr);
  xas.set(0);
  EXPECT_EQ(xas.find(1000), val(1));
  EXPECT_EQ(xas.index(), 512u);
  EXPECT_EQ(xas.find(1000), nullptr);  // 2000 > max
}

TEST(XaState, FindMarkedMovesToTheEntrysFirstIndex) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(512, 9, val(1)));
  ASSERT_FALSE(xa.store(2000, val(2)));
  ASSERT_FALSE(xa.set_mark(700, xa_mark::mark1));
  ASSERT_FALSE(xa.set_mark(2000, xa_mark::mark1));
  xa_state xas(xa, 600);
  EXPECT_EQ(xas.find_marked(kMax, xa_mark::mark1), val(1));
  EXPECT_EQ(xas.index(), 512u);
  EXPECT_TRUE(xas.get_mark(xa_mark::mark1));
  EXPECT_EQ(xas.find_marked(kMax, xa_mark::mark1), val(2));
  EXPECT_EQ(xas.find_marked(kMax, xa_mark::mark1), nullptr);
}

TEST(XaState, PauseResumesAfterTheWholeEntry) {
  xarray xa;
  ASSERT_FALSE(xa.store(0, val(0)));
  ASSERT_FALSE(xa.store_order(64, 6, val(64)));
  ASSERT_FALSE(xa.store_order(136, 3, val(136)));
  ASSERT_FALSE(xa.store(137 + 64, val(201)));
  ASSERT_FALSE(xa.store(kMax, val(1)));
  std::vector<std::uint64_t> seen;
  xa_state xas(xa, 0);
  for (void *e = xas.find(kMax); e; e = xas.find(kMax)) {
    seen.push_back(xas.index());
    xas.pause();  // as if the read section were dropped here
    EXPECT_TRUE(xas.is_restart() || xas.is_bounds());
  }
  std::vector<std::uint64_t> want = {0, 64, 136, 201, kMax};
  EXPECT_EQ(seen, want);
}

TEST(XaState, PauseAtTheLastIndexEndsTheIteration) {
  xarray xa;
  ASSERT_FALSE(xa.store(kMax, val(1)));
  xa_state xas(xa, 0);
  EXPECT_EQ(xas.find(kMax), val(1));
  xas.pause();
  EXPECT_EQ(xas.find(kMax), nullptr);
}

TEST(XaState, RetrySkipsZeroEntries) {
  xarray xa;
  ASSERT_FALSE(xa.reserve(5));
  ASSERT_FALSE(xa.store(6, val(6)));
  xa_state xas(xa, 0);
  std::vector<void *> got;
  for (void *e = xas.find(kMax); e; e = xas.find(kMax)) {
    if (xas.retry(e)) continue;
    got.push_back(e);
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], val(6));
  xas.set(5);
  EXPECT_TRUE(maple::xa_is_zero(xas.load()));
  EXPECT_FALSE(xas.retry(val(1)));
}

TEST(XaState, EraseWhileIterating) {
  xarray xa;
  for (std::uint64_t i = 0; i < 1000; i += 3) ASSERT_FALSE(xa.store(i, val(i)));
  std::lock_guard g(xa);
  xa_state xas(xa, 0);
  std::size_t n = 0;
  for (void *e = xas.find(kMax); e; e = xas.find(kMax)) {
    EXPECT_EQ(e, val(xas.index()));
    xas.store(nullptr);
    ++n;
  }
  EXPECT_EQ(n, 334u);
  EXPECT_TRUE(xa.empty());
}

TEST(XaState, MultiOrderStoreAndGetOrder) {
  xarray xa;
  xa_state xas(xa, 1000, 9);
  EXPECT_EQ(xas.index(), 512u);
  EXPECT_EQ(xas.order(), 9u);
  {
    std::lock_guard g(xa);
    xas.store(val(9));
  }
  EXPECT_EQ(xas.get_order(), 9u);
  EXPECT_EQ(xa.get_order(1023), 9u);
  xas.set_order(0, 64);
  EXPECT_EQ(xas.order(), 64u);
  {
    std::lock_guard g(xa);
    EXPECT_EQ(xas.store(val(64)), nullptr);  // the entry at index 0 was empty
  }
  EXPECT_EQ(xa.load(kMax), val(64));
  EXPECT_EQ(xa.load(512), val(64));
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

void check_split(unsigned old_order, unsigned new_order, std::uint64_t at) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(at, old_order, val(1)));
  ASSERT_FALSE(xa.set_mark(at, xa_mark::mark2));
  ASSERT_FALSE(xa.store(at + (std::uint64_t{2} << old_order), val(7)));  // a neighbour
  xa_state xas(xa, at, new_order);
  xas.split_alloc(val(2), old_order);
  ASSERT_FALSE(xas.error());
  {
    std::lock_guard g(xa);
    xas.split(val(2), old_order);
  }
  ASSERT_FALSE(xas.error()) << old_order << "->" << new_order;
  ASSERT_TRUE(xa.validate()) << old_order << "->" << new_order << ": " << xa.validate().message;
  const std::uint64_t step = std::uint64_t{1} << new_order, n = std::uint64_t{1} << old_order;
  for (std::uint64_t i = at; i < at + n; i += step) {
    ASSERT_EQ(xa.load(i), val(2)) << i;
    ASSERT_EQ(xa.get_order(i + step - 1), new_order) << i;
    ASSERT_TRUE(xa.get_mark(i, xa_mark::mark2)) << i;
  }
  EXPECT_EQ(xa.load(at + n), nullptr);
  EXPECT_EQ(xa.load(at + 2 * n), val(7));
  // The pieces are independent entries now.
  ASSERT_EQ(xa.erase(at), val(2));
  EXPECT_EQ(xa.load(at), nullptr);
  EXPECT_EQ(xa.load(at + step), val(2));
  EXPECT_EQ(xa.stats().entries, n / step);
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

TEST(XaState, SplitAcrossOneLevel) { check_split(9, 0, 512); }
TEST(XaState, SplitWithinALevel) {
  check_split(4, 2, 32);
  check_split(8, 7, 256);
}
TEST(XaState, SplitAcrossTwoLevels) {
  check_split(12, 0, 4096);
  check_split(13, 3, 8192);
}
TEST(XaState, SplitAtIndexZeroInATopNode) { check_split(6, 0, 0); }

TEST(XaState, SplitRejectsBadOrders) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(512, 9, val(1)));
  ASSERT_FALSE(xa.store_order(1ull << 18, 18, val(3)));
  xa_state xas(xa, 512, 0);
  std::lock_guard g(xa);
  xas.split(val(2), 8);  // wrong old order
  EXPECT_EQ(xas.error(), errc::invalid_argument);
  xas.set_order(512, 9);
  xas.split(val(2), 9);  // not smaller
  EXPECT_EQ(xas.error(), errc::invalid_argument);
  xas.set_order(1ull << 18, 0);
  xas.split(val(2), 18);  // three levels of new nodes: unsupported
  EXPECT_EQ(xas.error(), errc::invalid_argument);
  xas.set_order(512, 0);
  xas.split(maple::xa_zero_entry(), 9);
  EXPECT_EQ(xas.error(), errc::invalid_argument);
  EXPECT_EQ(xa.load(600), val(1));
  EXPECT_EQ(xa.get_order(600), 9u);
}

TEST(XaState, SplitUsesOnlyThePreallocation) {
  counting_resource res;
  {
    xarray xa(&res);
    ASSERT_FALSE(xa.store_order(4096, 12, val(1)));
    xa_state xas(xa, 4096, 0);
    xas.split_alloc(val(2), 12);
    ASSERT_FALSE(xas.error());
    res.fail_after(0);  // nothing may be allocated under the lock
    {
      std::lock_guard g(xa);
      xas.split(val(2), 12);
    }
    EXPECT_FALSE(xas.error());
    res.never_fail();
    EXPECT_EQ(xa.load(5000), val(2));
    EXPECT_TRUE(xa.validate()) << xa.validate().message;
  }
  xa_quiesce();
  EXPECT_EQ(res.live(), 0);
}

TEST(XaState, NomemRetryStep) {
  counting_resource res;
  {
    xarray xa(&res);
    ASSERT_FALSE(xa.store(1, val(1)));
    xa_state xas(xa, 1ull << 30);
    int tries = 0;
    do {
      ++tries;
      // Fails every allocation under the lock: only nomem() can allocate.
      res.fail_after(0);
      {
        std::lock_guard g(xa);
        xas.store(val(2));
      }
      res.never_fail();
    } while (xas.nomem());
    EXPECT_FALSE(xas.error());
    EXPECT_EQ(tries, 2);  // one retry with the whole bound preallocated
    EXPECT_EQ(xa.load(1ull << 30), val(2));
    EXPECT_EQ(xa.load(1), val(1));
    EXPECT_FALSE(xas.nomem());  // no error: frees nothing left, says stop
    EXPECT_TRUE(xa.validate()) << xa.validate().message;
  }
  xa_quiesce();
  EXPECT_EQ(res.live(), 0);
}

TEST(XaState, MarksThroughTheCursor) {
  xarray xa;
  ASSERT_FALSE(xa.store(100, val(100)));
  std::lock_guard g(xa);
  xa_state xas(xa, 100);
  ASSERT_EQ(xas.load(), val(100));
  xas.set_mark(xa_mark::mark0);
  xas.set_mark(xa_mark::mark2);
  EXPECT_TRUE(xas.get_mark(xa_mark::mark0));
  xas.init_marks();
  EXPECT_FALSE(xas.get_mark(xa_mark::mark0));
  EXPECT_FALSE(xas.get_mark(xa_mark::mark2));
  EXPECT_FALSE(xa.marked(xa_mark::mark2));
}

}  // namespace
}  // namespace maple_test
