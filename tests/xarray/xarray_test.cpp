// tests/xarray/xarray_test.cpp - unit tests of the XArray's normal API: entries,
// reserved words, multi-index entries of every order, marks, iteration,
// extraction and ID allocation.
#include "test_env.h"
#include "xa_test_support.h"

#include <maple/rcu.h>
#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "xarray/test_hooks.h"

namespace maple_test {
namespace {

using maple::errc;
using maple::xa_mark;
using maple::xarray;
constexpr std::uint64_t kMax = ~std::uint64_t{0};

// ---- plain entries ------------------------------------------------------------

TEST(XArray, EmptyArray) {
  xarray xa;
  EXPECT_TRUE(xa.empty());
  EXPECT_EQ(xa.load(0), nullptr);
  EXPECT_EQ(xa.load(kMax), nullptr);
  std::uint64_t i = 0;
  EXPECT_EQ(xa.find(i), nullptr);
  EXPECT_EQ(xa.erase(7), nullptr);
  EXPECT_FALSE(xa.marked(xa_mark::mark0));
  EXPECT_EQ(xa.stats().height, 0u);
  EXPECT_TRUE(xa.validate());
}

TEST(XArray, StoreLoadEraseAtTheEdges) {
  xarray xa;
  const std::uint64_t idx[] = {0, 1, 63, 64, 4095, 4096, 1ull << 32, 1ull << 63, kMax - 1, kMax};
  for (auto i : idx) ASSERT_FALSE(xa.store(i, val(i)));
  ASSERT_TRUE(xa.validate()) << xa.validate().message;
  EXPECT_EQ(xa.stats().height, 11u);
  for (auto i : idx) EXPECT_EQ(xa.load(i), val(i)) << i;
  EXPECT_EQ(xa.load(2), nullptr);
  EXPECT_EQ(xa.load(kMax - 2), nullptr);
  for (auto i : idx) {
    EXPECT_EQ(xa.erase(i), val(i));
    EXPECT_EQ(xa.load(i), nullptr);
    ASSERT_TRUE(xa.validate()) << xa.validate().message;
  }
  EXPECT_TRUE(xa.empty());
  EXPECT_EQ(xa.stats().nodes, 0u);
}

TEST(XArray, IndexZeroLivesInTheHead) {
  xarray xa;
  ASSERT_FALSE(xa.store(0, val(5)));
  EXPECT_EQ(xa.stats().nodes, 0u);
  EXPECT_EQ(xa.load(0), val(5));
  EXPECT_EQ(xa.load(1), nullptr);
  ASSERT_FALSE(xa.store(1, val(6)));  // moves into a leaf
  EXPECT_EQ(xa.stats().nodes, 1u);
  EXPECT_EQ(xa.erase(1), val(6));  // and back into the head
  EXPECT_EQ(xa.stats().nodes, 0u);
  EXPECT_EQ(xa.load(0), val(5));
  EXPECT_TRUE(xa.validate());
}

TEST(XArray, StoreReturnsTheOldEntryAndNullErases) {
  xarray xa;
  void *old = val(99);
  ASSERT_FALSE(xa.store(10, val(1), &old));
  EXPECT_EQ(old, nullptr);
  ASSERT_FALSE(xa.store(10, val(2), &old));
  EXPECT_EQ(old, val(1));
  ASSERT_FALSE(xa.store(10, nullptr, &old));
  EXPECT_EQ(old, val(2));
  EXPECT_TRUE(xa.empty());
}

TEST(XArray, PointersAndValueEntries) {
  xarray xa;
  alignas(8) static int objs[4];
  ASSERT_FALSE(xa.store(3, &objs[1]));
  ASSERT_FALSE(xa.store(4, maple::make_value_entry(maple::max_value_entry)));
  EXPECT_EQ(xa.load(3), &objs[1]);
  EXPECT_EQ(maple::value_of_entry(xa.load(4)), maple::max_value_entry);
}

TEST(XArray, InternalWordsAreRejected) {
  xarray xa;
  ASSERT_FALSE(xa.store(5, val(5)));
  for (std::uintptr_t w : {std::uintptr_t{2}, std::uintptr_t{6}, std::uintptr_t{1026},
                           std::uintptr_t{1030}, std::uintptr_t{0x10002}}) {
    void *e = reinterpret_cast<void *>(w);
    EXPECT_EQ(xa.store(5, e), errc::invalid_argument);
    EXPECT_EQ(xa.store(6, e), errc::invalid_argument);
    EXPECT_EQ(xa.insert(7, e), errc::invalid_argument);
    EXPECT_EQ(xa.cmpxchg(5, val(5), e), errc::invalid_argument);
  }
  EXPECT_EQ(xa.store_order(0, 65, val(1)), errc::invalid_argument);
  EXPECT_EQ(xa.load(5), val(5));
  EXPECT_EQ(xa.load(6), nullptr);
  EXPECT_TRUE(xa.validate());
}

// ---- insert, cmpxchg, reserve -------------------------------------------------

TEST(XArray, InsertIsBusyWhenOccupied) {
  xarray xa;
  EXPECT_FALSE(xa.insert(100, val(1)));
  EXPECT_EQ(xa.insert(100, val(2)), errc::busy);
  EXPECT_EQ(xa.load(100), val(1));
  // A multi-index insert is busy if any index of its range is taken.
  EXPECT_EQ(xa.insert(64, val(3), 6), errc::busy);
  EXPECT_FALSE(xa.insert(128, val(3), 6));
  EXPECT_EQ(xa.insert(150, val(4)), errc::busy);
  EXPECT_EQ(xa.insert(0, val(4), 9), errc::busy);
  EXPECT_TRUE(xa.validate());
}

TEST(XArray, ReserveAndRelease) {
  xarray xa;
  ASSERT_FALSE(xa.reserve(12345678));
  EXPECT_EQ(xa.load(12345678), nullptr);
  EXPECT_FALSE(xa.empty());
  EXPECT_EQ(xa.insert(12345678, val(1)), errc::busy);
  std::uint64_t i = 0;
  EXPECT_EQ(xa.find(i), nullptr);  // reserved indices are not "present"
  xa.release(12345678);
  EXPECT_TRUE(xa.empty());
  // Releasing a used entry does nothing.
  ASSERT_FALSE(xa.reserve(5));
  ASSERT_FALSE(xa.store(5, val(5)));
  xa.release(5);
  EXPECT_EQ(xa.load(5), val(5));
  // Reserving a used index does nothing.
  ASSERT_FALSE(xa.reserve(5));
  EXPECT_EQ(xa.load(5), val(5));
  // Reserve at index 0 (the head).
  ASSERT_FALSE(xa.reserve(0));
  EXPECT_EQ(xa.load(0), nullptr);
  EXPECT_EQ(xa.insert(0, val(0)), errc::busy);
  ASSERT_FALSE(xa.store(0, val(0)));
  EXPECT_EQ(xa.load(0), val(0));
  EXPECT_TRUE(xa.validate());
}

TEST(XArray, Cmpxchg) {
  xarray xa;
  void *cur = val(77);
  ASSERT_FALSE(xa.cmpxchg(9, nullptr, val(1), &cur));
  EXPECT_EQ(cur, nullptr);
  EXPECT_EQ(xa.load(9), val(1));
  ASSERT_FALSE(xa.cmpxchg(9, val(2), val(3), &cur));  // mismatch
  EXPECT_EQ(cur, val(1));
  EXPECT_EQ(xa.load(9), val(1));
  ASSERT_FALSE(xa.cmpxchg(9, val(1), nullptr, &cur));  // erase by exchange
  EXPECT_EQ(cur, val(1));
  EXPECT_TRUE(xa.empty());
  // A reserved index matches nullptr.
  ASSERT_FALSE(xa.reserve(4));
  ASSERT_FALSE(xa.cmpxchg(4, nullptr, val(4), &cur));
  EXPECT_EQ(cur, nullptr);
  EXPECT_EQ(xa.load(4), val(4));
}

// ---- multi-index entries --------------------------------------------------------

TEST(XArray, MultiIndexEveryOrder) {
  rng r(test_seed(41));
  for (unsigned order = 0; order <= 64; ++order) {
    xarray xa;
    std::uint64_t size_mask = order >= 64 ? kMax : (std::uint64_t{1} << order) - 1;
    std::uint64_t first = r.next() & ~size_mask;
    std::uint64_t last = first | size_mask;
    ASSERT_FALSE(xa.store_order(first + (r.next() & size_mask), order, val(order)));
    ASSERT_TRUE(xa.validate()) << order << ": " << xa.validate().message;
    EXPECT_EQ(xa.load(first), val(order));
    EXPECT_EQ(xa.load(last), val(order));
    EXPECT_EQ(xa.load(first + (r.next() & size_mask)), val(order));
    if (first > 0) {
      EXPECT_EQ(xa.load(first - 1), nullptr);
    }
    if (last < kMax) {
      EXPECT_EQ(xa.load(last + 1), nullptr);
    }
    EXPECT_EQ(xa.get_order(last), order);
    std::uint64_t i = 0;
    EXPECT_EQ(xa.find(i), val(order));
    EXPECT_EQ(i, first);
    EXPECT_EQ(xa.find_after(i), nullptr);
    // Erasing any index of it removes all of it.
    EXPECT_EQ(xa.erase(last), val(order));
    EXPECT_TRUE(xa.empty()) << order;
    EXPECT_EQ(xa.stats().nodes, 0u);
  }
}

TEST(XArray, StoreInsideAMultiIndexEntryReplacesItWhole) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(512, 9, val(1)));  // a 2 MiB folio at 2 MiB
  ASSERT_FALSE(xa.store(1000, val(2)));
  for (std::uint64_t i : {512ull, 700ull, 1023ull}) EXPECT_EQ(xa.load(i), val(2));
  EXPECT_EQ(xa.get_order(600), 9u);
  // A smaller multi-index store inside it also replaces it whole.
  ASSERT_FALSE(xa.store_order(520, 3, val(3)));
  EXPECT_EQ(xa.load(1023), val(3));
  EXPECT_EQ(xa.get_order(512), 9u);
  // A larger one swallows it.
  ASSERT_FALSE(xa.store(5, val(5)));
  ASSERT_FALSE(xa.store_order(0, 12, val(4)));
  EXPECT_EQ(xa.load(5), val(4));
  EXPECT_EQ(xa.load(4095), val(4));
  EXPECT_EQ(xa.load(4096), nullptr);
  EXPECT_EQ(xa.stats().entries, 1u);
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
  EXPECT_EQ(xa.erase(1234), val(4));
  EXPECT_TRUE(xa.empty());
}

TEST(XArray, MultiIndexReplacesManySmallEntries) {
  xarray xa;
  for (std::uint64_t i = 512; i < 1024; ++i) ASSERT_FALSE(xa.store(i, val(i)));
  EXPECT_EQ(xa.stats().nodes, 9u);
  void *old = nullptr;
  ASSERT_FALSE(xa.store_order(512, 9, val(1), &old));
  EXPECT_EQ(old, val(512));
  EXPECT_EQ(xa.stats().nodes, 1u);
  EXPECT_EQ(xa.stats().entries, 1u);
  for (std::uint64_t i = 512; i < 1024; i += 37) EXPECT_EQ(xa.load(i), val(1));
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

TEST(XArray, OrderSixIsOneSlotAndOrderFourIsALeafRun) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(64, 6, val(6)));
  ASSERT_FALSE(xa.store_order(16, 4, val(4)));
  EXPECT_EQ(xa.get_order(127), 6u);
  EXPECT_EQ(xa.get_order(31), 4u);
  EXPECT_EQ(xa.load(15), nullptr);
  EXPECT_EQ(xa.load(32), nullptr);
  EXPECT_EQ(xa.stats().entries, 2u);
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

// ---- marks ------------------------------------------------------------------------

TEST(XArray, MarksFollowEntries) {
  xarray xa;
  ASSERT_FALSE(xa.store(5, val(5)));
  ASSERT_FALSE(xa.set_mark(5, xa_mark::mark1));
  ASSERT_FALSE(xa.set_mark(6, xa_mark::mark1));  // empty: no-op
  EXPECT_TRUE(xa.get_mark(5, xa_mark::mark1));
  EXPECT_FALSE(xa.get_mark(5, xa_mark::mark0));
  EXPECT_FALSE(xa.get_mark(6, xa_mark::mark1));
  EXPECT_TRUE(xa.marked(xa_mark::mark1));
  ASSERT_FALSE(xa.store(5, val(50)));  // replacing keeps marks
  EXPECT_TRUE(xa.get_mark(5, xa_mark::mark1));
  xa.erase(5);  // erasing clears them
  EXPECT_FALSE(xa.marked(xa_mark::mark1));
  ASSERT_FALSE(xa.store(5, val(5)));
  EXPECT_FALSE(xa.get_mark(5, xa_mark::mark1));
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

TEST(XArray, MarksOnMultiIndexEntriesApplyToEveryIndex) {
  xarray xa;
  ASSERT_FALSE(xa.store_order(1024, 10, val(1)));
  ASSERT_FALSE(xa.set_mark(2000, xa_mark::mark2));
  EXPECT_TRUE(xa.get_mark(1024, xa_mark::mark2));
  EXPECT_TRUE(xa.get_mark(2047, xa_mark::mark2));
  std::uint64_t i = 0;
  EXPECT_EQ(xa.find(i, kMax, xa_mark::mark2), val(1));
  EXPECT_EQ(i, 1024u);
  EXPECT_EQ(xa.find_after(i, kMax, xa_mark::mark2), nullptr);
  i = 1500;  // from inside: the entry's first index
  EXPECT_EQ(xa.find(i, kMax, xa_mark::mark2), val(1));
  EXPECT_EQ(i, 1024u);
  xa.clear_mark(1030, xa_mark::mark2);
  EXPECT_FALSE(xa.get_mark(2047, xa_mark::mark2));
  EXPECT_FALSE(xa.marked(xa_mark::mark2));
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

TEST(XArray, MultiIndexStoreMergesTheMarksItReplaces) {
  xarray xa;
  for (std::uint64_t i = 0; i < 512; ++i) ASSERT_FALSE(xa.store(i, val(i)));
  ASSERT_FALSE(xa.set_mark(300, xa_mark::mark0));  // one dirty page
  ASSERT_FALSE(xa.store_order(0, 9, val(9)));
  EXPECT_TRUE(xa.get_mark(0, xa_mark::mark0));
  EXPECT_TRUE(xa.get_mark(511, xa_mark::mark0));
  EXPECT_FALSE(xa.get_mark(0, xa_mark::mark1));
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

TEST(XArray, MarkedSearchSkipsUnmarked) {
  xarray xa;
  for (std::uint64_t i = 0; i < 100000; i += 3) ASSERT_FALSE(xa.store(i, val(i)));
  for (std::uint64_t i = 0; i < 100000; i += 999) ASSERT_FALSE(xa.set_mark(i, xa_mark::mark0));
  std::vector<std::uint64_t> got;
  for (auto [index, entry] : xa.marked_entries(xa_mark::mark0)) {
    EXPECT_EQ(entry, val(index));
    got.push_back(index);
  }
  std::vector<std::uint64_t> want;
  for (std::uint64_t i = 0; i < 100000; i += 999)
    if (i % 3 == 0) want.push_back(i);
  EXPECT_EQ(got, want);
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

// ---- iteration and extraction --------------------------------------------------

TEST(XArray, IterationVisitsEachEntryOnce) {
  xarray xa;
  ASSERT_FALSE(xa.store(0, val(0)));
  ASSERT_FALSE(xa.store_order(64, 6, val(64)));
  ASSERT_FALSE(xa.store_order(200, 3, val(200)));
  ASSERT_FALSE(xa.store(kMax, val(1)));
  std::vector<std::pair<std::uint64_t, void *>> got;
  for (auto [i, e] : xa.entries()) got.emplace_back(i, e);
  std::vector<std::pair<std::uint64_t, void *>> want = {
      {0, val(0)}, {64, val(64)}, {200, val(200)}, {kMax, val(1)}};
  EXPECT_EQ(got, want);
  got.clear();
  for (auto [i, e] : xa.entries(100, 300)) got.emplace_back(i, e);
  want = {{100, val(64)}, {200, val(200)}};  // starts inside the order-6 entry
  EXPECT_EQ(got, want);
  std::uint64_t i = 64;
  EXPECT_EQ(xa.find_after(i), val(200));  // skips the rest of [64, 127]
  EXPECT_EQ(i, 200u);
  EXPECT_EQ(xa.find_after(i, 1000), nullptr);
}

TEST(XArray, Extract) {
  xarray xa;
  for (std::uint64_t i = 10; i < 20; ++i) ASSERT_FALSE(xa.store(i, val(i)));
  ASSERT_FALSE(xa.set_mark(12, xa_mark::mark1));
  ASSERT_FALSE(xa.set_mark(17, xa_mark::mark1));
  std::vector<void *> dst(4);
  EXPECT_EQ(xa.extract(dst, 0, kMax), 4u);
  EXPECT_EQ(dst[0], val(10));
  EXPECT_EQ(dst[3], val(13));
  EXPECT_EQ(xa.extract(dst, 15, 17), 3u);
  EXPECT_EQ(dst[2], val(17));
  EXPECT_EQ(xa.extract(dst, 0, kMax, xa_mark::mark1), 2u);
  EXPECT_EQ(dst[1], val(17));
}

TEST(XArray, DestroyEmptiesTheArray) {
  counting_resource res;
  {
    xarray xa(&res);
    for (std::uint64_t i = 0; i < 5000; i += 7) ASSERT_FALSE(xa.store(i, val(i)));
    EXPECT_GT(res.live(), 0);
    xa.clear();
    EXPECT_TRUE(xa.empty());
    EXPECT_EQ(xa.load(7), nullptr);
    ASSERT_FALSE(xa.store(3, val(3)));
  }
  xa_quiesce();
  EXPECT_EQ(res.live(), 0);
}

// ---- allocating arrays -----------------------------------------------------------

TEST(XArrayAlloc, LowestFreeIndex) {
  xarray xa(maple::xa_flags::alloc);
  std::uint64_t id = 99;
  for (std::uint64_t k = 0; k < 200; ++k) {
    ASSERT_FALSE(xa.alloc(val(k), maple::xa_limit_32b, id));
    EXPECT_EQ(id, k);
  }
  EXPECT_EQ(xa.erase(70), val(70));
  ASSERT_FALSE(xa.alloc(val(1), maple::xa_limit_32b, id));
  EXPECT_EQ(id, 70u);
  // Storing nullptr keeps an index allocated; erase frees it.
  ASSERT_FALSE(xa.store(71, nullptr));
  EXPECT_EQ(xa.load(71), nullptr);
  ASSERT_FALSE(xa.alloc(val(2), maple::xa_limit_32b, id));
  EXPECT_EQ(id, 200u);
  xa.erase(71);
  ASSERT_FALSE(xa.alloc(nullptr, maple::xa_limit_32b, id));
  EXPECT_EQ(id, 71u);
  EXPECT_EQ(xa.load(71), nullptr);
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

TEST(XArrayAlloc, LimitsAndBusy) {
  xarray xa(maple::xa_flags::alloc);
  std::uint64_t id = 0;
  for (int k = 0; k < 4; ++k) ASSERT_FALSE(xa.alloc(val(k), {0, 3}, id));
  EXPECT_EQ(xa.alloc(val(9), {0, 3}, id), errc::busy);
  ASSERT_FALSE(xa.alloc(val(9), {1000, 2000}, id));
  EXPECT_EQ(id, 1000u);
  ASSERT_FALSE(xa.alloc(val(9), {kMax, kMax}, id));
  EXPECT_EQ(id, kMax);
  EXPECT_EQ(xa.alloc(val(9), {kMax, kMax}, id), errc::busy);
  EXPECT_EQ(xa.alloc(val(9), {5, 4}, id), errc::busy);
  EXPECT_EQ(xa.set_mark(1000, xa_mark::mark0), errc::invalid_argument);
  ASSERT_FALSE(xa.set_mark(1000, xa_mark::mark1));
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
  xarray plain;
  EXPECT_EQ(plain.alloc(val(1), maple::xa_limit_32b, id), errc::invalid_argument);
}

TEST(XArrayAlloc, Alloc1StartsAtOne) {
  xarray xa(maple::xa_flags::alloc1);
  std::uint64_t id = 0;
  ASSERT_FALSE(xa.alloc(val(1), maple::xa_limit_32b, id));
  EXPECT_EQ(id, 1u);
  ASSERT_FALSE(xa.alloc(val(2), maple::xa_limit_32b, id));
  EXPECT_EQ(id, 2u);
}

TEST(XArrayAlloc, CyclicWrapsAndReportsIt) {
  xarray xa(maple::xa_flags::alloc);
  std::uint64_t next = 0, id = 0;
  bool wrapped = true;
  const maple::xa_limit lim{1, 5};
  for (std::uint64_t k = 1; k <= 5; ++k) {
    ASSERT_FALSE(xa.alloc_cyclic(val(k), lim, next, id, &wrapped));
    EXPECT_EQ(id, k);
    EXPECT_FALSE(wrapped);
  }
  EXPECT_EQ(xa.alloc_cyclic(val(6), lim, next, id, &wrapped), errc::busy);
  xa.erase(2);
  xa.erase(4);
  ASSERT_FALSE(xa.alloc_cyclic(val(7), lim, next, id, &wrapped));
  EXPECT_EQ(id, 2u);
  EXPECT_TRUE(wrapped);
  ASSERT_FALSE(xa.alloc_cyclic(val(8), lim, next, id, &wrapped));
  EXPECT_EQ(id, 4u);
  EXPECT_FALSE(wrapped);
  // next overflowing to 0 reports a wrap on the following call.
  xarray big(maple::xa_flags::alloc);
  next = kMax;
  ASSERT_FALSE(big.alloc_cyclic(val(1), {0, kMax}, next, id, &wrapped));
  EXPECT_EQ(id, kMax);
  EXPECT_EQ(next, 0u);
  EXPECT_FALSE(wrapped);
  ASSERT_FALSE(big.alloc_cyclic(val(2), {0, kMax}, next, id, &wrapped));
  EXPECT_EQ(id, 0u);
  EXPECT_TRUE(wrapped);
  EXPECT_TRUE(big.validate()) << big.validate().message;
}

// ---- lockless readers racing a writer (deterministic) ----------------------
// A reader that meets a sibling word reads the entry's first slot next. If in
// between the writer erases or splits the entry and stores a smaller one at
// the first slot, that entry does not cover the reader's index: the reader
// must not return it (XArrayConcurrency.ReadersSeeOnlyEntriesStoredOverTheir
// Index caught this about once in ten runs). The test seam runs `writes` on
// another thread inside that window, once.
class sibling_race {
 public:
  explicit sibling_race(std::function<void()> writes) : writes_(std::move(writes)) {
    maple::detail::xa_set_sibling_hook(&hook, this);
  }
  ~sibling_race() { maple::detail::xa_set_sibling_hook(nullptr, nullptr); }
  sibling_race(const sibling_race &) = delete;
  sibling_race &operator=(const sibling_race &) = delete;
  bool fired() const { return fired_.load(); }

 private:
  static void hook(void *p) {
    auto *r = static_cast<sibling_race *>(p);
    if (!r->fired_.exchange(true)) std::thread(r->writes_).join();
  }
  std::function<void()> writes_;
  std::atomic<bool> fired_{false};
};

// A = an order-2 entry at 0 (slots 0-3 of a leaf that also holds 63), then
// a race that removes A and stores B at index 0 only.
struct shrink_fixture {
  xarray xa;
  void *const a = val(1), *const b = val(2), *const x = val(63);
  shrink_fixture() {
    EXPECT_FALSE(xa.store(63, x));
    EXPECT_FALSE(xa.store_order(0, 2, a));
  }
  void erase_then_store_b() {
    EXPECT_EQ(xa.erase(0), a);
    EXPECT_FALSE(xa.store(0, b));
  }
  void split_then_store_b() {
    maple::xa_state xas(xa, 0, 0);
    xas.split_alloc(a, 2);
    {
      std::lock_guard g(xa);
      xas.split(a, 2);
    }
    EXPECT_FALSE(xas.error());
    EXPECT_FALSE(xa.store(0, b));
  }
};

TEST(XArrayLocklessRace, LoadAcrossAnErasedEntryMissesTheNewFirstSlot) {
  shrink_fixture f;
  sibling_race race([&] { f.erase_then_store_b(); });
  void *e = f.xa.load(2);
  EXPECT_TRUE(race.fired());
  EXPECT_NE(e, f.b) << "load(2) returned the entry stored at 0 alone";
  EXPECT_TRUE(e == nullptr || e == f.a);
  EXPECT_EQ(f.xa.load(0), f.b);
  EXPECT_TRUE(f.xa.validate()) << f.xa.validate().message;
}

TEST(XArrayLocklessRace, LoadAcrossASplitEntryMissesTheRewrittenFirstPiece) {
  shrink_fixture f;
  sibling_race race([&] { f.split_then_store_b(); });
  void *e = f.xa.load(2);
  EXPECT_TRUE(race.fired());
  EXPECT_EQ(e, f.a) << "load(2) must see A (before or after the split), not piece 0's B";
  EXPECT_EQ(f.xa.load(2), f.a);
  EXPECT_TRUE(f.xa.validate()) << f.xa.validate().message;
}

TEST(XArrayLocklessRace, CursorLoadAndFindAcrossAnErasedEntry) {
  {
    shrink_fixture f;
    sibling_race race([&] { f.erase_then_store_b(); });
    void *e;
    {
      maple::rcu::read_guard g;
      maple::xa_state xas(f.xa, 2);
      do {
        e = xas.load();
      } while (xas.retry(e));
    }
    EXPECT_TRUE(race.fired());
    EXPECT_TRUE(e == nullptr || e == f.a) << "xa_state::load(2) returned " << e;
  }
  {
    shrink_fixture f;
    sibling_race race([&] { f.erase_then_store_b(); });
    std::uint64_t j = 2;
    void *e = f.xa.find(j, kMax);
    EXPECT_TRUE(race.fired());
    EXPECT_NE(e, f.b) << "find from 2 returned the entry at 0 alone, at " << j;
    EXPECT_GE(j, 2u);
  }
}

TEST(XArrayLocklessRace, MarkedFindAcrossAnErasedEntry) {
  shrink_fixture f;
  ASSERT_FALSE(f.xa.set_mark(0, xa_mark::mark1));
  sibling_race race([&] {
    f.erase_then_store_b();
    EXPECT_FALSE(f.xa.set_mark(0, xa_mark::mark1));
  });
  std::uint64_t j = 2;
  void *e = f.xa.find(j, kMax, xa_mark::mark1);
  EXPECT_TRUE(race.fired());
  EXPECT_NE(e, f.b) << "a marked search from 2 returned the entry at 0 alone, at " << j;
}

TEST(XArrayLocklessRace, LoadAcrossAnErasedEntryOfAnInnerNode) {
  // The same race one level up: an order-8 entry is four slots of a shift-6
  // node; it is replaced by an order-6 entry in its first slot.
  xarray xa;
  void *a = val(1), *b = val(2);
  ASSERT_FALSE(xa.store(64 * 63, val(3)));
  ASSERT_FALSE(xa.store_order(0, 8, a));
  sibling_race race([&] {
    EXPECT_EQ(xa.erase(0), a);
    EXPECT_FALSE(xa.store_order(0, 6, b));
  });
  void *e = xa.load(200);
  EXPECT_TRUE(race.fired());
  EXPECT_TRUE(e == nullptr || e == a) << "load(200) returned " << e;
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
}

}  // namespace
}  // namespace maple_test

namespace maple_test {
namespace {

// find() from inside a multi-index entry keeps the index searched from; the
// marked search moves it to the entry's first index (the kernel's xa_find:
// xas_find keeps it, xas_find_marked moves to the canonical slot). Both are
// documented in xarray.h; this pins them.
TEST(XArrayFind, FromInsideAMultiIndexEntryMarkedAndUnmarked) {
  maple::xarray xa;
  static int x;
  ASSERT_FALSE(xa.store_order(16, 4, &x));
  xa.set_mark(16, maple::xa_mark::mark0);
  std::uint64_t i = 21;
  EXPECT_EQ(xa.find(i), &x);
  EXPECT_EQ(i, 21u);
  i = 21;
  EXPECT_EQ(xa.find(i, ~std::uint64_t{0}, maple::xa_mark::mark0), &x);
  EXPECT_EQ(i, 16u);
  i = 21;
  EXPECT_EQ(xa.find(i, ~std::uint64_t{0}, maple::xa_mark::mark1), nullptr);
  EXPECT_EQ(i, 21u);  // nothing found: unchanged
  xa.clear();
}

// ---- the shared names and moving ---------------------------------------------

static_assert(std::is_same_v<decltype(std::declval<const maple::xarray &>().validate()),
                             maple::check_report>);
static_assert(std::is_nothrow_move_constructible_v<maple::xarray>);
static_assert(std::is_nothrow_move_assignable_v<maple::xarray>);
static_assert(std::is_nothrow_swappable_v<maple::xarray>);

TEST(XArrayMove, MoveKeepsEntriesMarksAndLeavesAnEmptyUsableArray) {
  static int x, y;
  maple::xarray a(maple::xa_flags::alloc);
  std::uint64_t id = 0;
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(a.alloc(&x, maple::xa_limit_32b, id));
  ASSERT_FALSE(a.store_order(4096, 6, &y));
  ASSERT_FALSE(a.set_mark(4096, maple::xa_mark::mark1));
  maple::xarray b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is specified
  EXPECT_TRUE(a.validate());
  EXPECT_TRUE(a.is_alloc());  // keeps its own flags
  EXPECT_EQ(b.load(99), &x);
  EXPECT_EQ(b.load(4100), &y);
  EXPECT_TRUE(b.get_mark(4100, maple::xa_mark::mark1));
  EXPECT_TRUE(b.marked(maple::xa_mark::mark1));
  EXPECT_TRUE(b.validate());
  ASSERT_FALSE(a.alloc(&y, maple::xa_limit_32b, id));  // usable: IDs start again
  EXPECT_EQ(id, 0u);
  ASSERT_FALSE(b.alloc(&y, maple::xa_limit_32b, id));
  EXPECT_EQ(id, 100u);

  maple::xarray c;
  ASSERT_FALSE(c.store(5, &x));
  c = std::move(b);  // c's entry is freed
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(c.load(5), &x);  // from b's contents now
  EXPECT_EQ(c.load(4096), &y);
  EXPECT_TRUE(c.is_alloc());

  swap(a, c);
  EXPECT_EQ(a.load(4096), &y);
  EXPECT_EQ(c.load(0), &y);
  EXPECT_EQ(c.load(1), nullptr);
  EXPECT_TRUE(a.validate());
  EXPECT_TRUE(c.validate());
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(a.marked(maple::xa_mark::mark1));
  EXPECT_TRUE(a.validate());
  maple::rcu::barrier();
}

TEST(XArrayMove, IteratorArrow) {
  static int x;
  maple::xarray xa;
  ASSERT_FALSE(xa.store(7, &x));
  auto it = xa.entries().begin();
  EXPECT_EQ(it->index, 7u);
  EXPECT_EQ(it->entry, &x);
}

}  // namespace
}  // namespace maple_test
