// tests/engine/regression_catalogue_test.cpp - the entries of the kernel's
// regression catalogue (reference section 10) that no other test of the
// suite already pins down, each as a test named after its entry number.
// docs/regressions.md maps all 33 entries to their tests (here or
// elsewhere), or says why an entry cannot apply or which issue it waits for.
//
// The scenarios are this suite's own, built from the entry's description
// (what broke, in which tree shape): exact node boundaries come from the
// public dump (tree_shape.h), so every scenario lands on the same structural
// spot in each geometry. The typed tests run on the shipped 16-slot engine,
// the 4-slot engine and the kernel's 32-bit width (32 slots, wide_engine.cpp);
// WideNodes runs the node-size entries (4, 33) on 32 and 64 slots.
#include "cursor_types.h"
#include "gap_model.h"
#include "geometries.h"
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_shape.h"
#include "tree_types.h"

#include <maple/cursor.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory_resource>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <vector>

namespace maple_test {
namespace {

using cs = maple::cursor_state;
using maple::range_entry;

using catalogue_types = ::testing::Types<maple::raw_tree, small_tree, wide_tree>;
using wide_types = ::testing::Types<wide_tree, maple::basic_raw_tree<64>>;

/// Slots per node of an engine.
template <class Tree>
constexpr std::uint64_t kS = Tree::slots;

template <class Tree>
class RegressionCatalogue : public ::testing::Test {};
TYPED_TEST_SUITE(RegressionCatalogue, catalogue_types);

template <class Tree>
class WideNodes : public ::testing::Test {};
TYPED_TEST_SUITE(WideNodes, wide_types);

/// Node memory over plain aligned new/delete that counts, can fail
/// (std::bad_alloc once `fail_after` more allocations succeeded), and
/// remembers what the current write allocated, so that a node allocated and
/// freed by the same write (wasted work) is seen.
class counting_resource : public std::pmr::memory_resource {
 public:
  std::size_t allocs = 0, frees = 0;
  std::size_t wasted = 0;  // freed by the write that allocated it
  long fail_after = -1;    // -1: never fail

  long live() const { return static_cast<long>(allocs) - static_cast<long>(frees); }
  /// Starts a new write: nodes allocated before it are old.
  void new_write() { fresh_.clear(); }

 private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    if (fail_after == 0) throw std::bad_alloc();
    if (fail_after > 0) --fail_after;
    void *p = ::operator new(bytes, std::align_val_t(align));
    ++allocs;
    fresh_.insert(p);
    return p;
  }
  void do_deallocate(void *p, std::size_t, std::size_t align) override {
    ++frees;
    if (fresh_.erase(p) != 0) ++wasted;
    ::operator delete(p, std::align_val_t(align));
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
  std::unordered_set<void *> fresh_;
};

/// Every empty_area / empty_area_rev answer for a few sizes and windows
/// against the brute-force oracle (the leaf gap scan is what regression 1's
/// out-of-bounds read broke).
template <class Tree>
::testing::AssertionResult gaps_agree(const Tree &t, const reference_model &m) {
  const std::uint64_t sizes[] = {1, 2, 7, 100, 4096};
  const std::pair<std::uint64_t, std::uint64_t> windows[] = {
      {0, kMax}, {0, 5000}, {100, 700}, {kMax - 5000, kMax}};
  for (std::uint64_t size : sizes) {
    for (auto [lo, hi] : windows) {
      for (bool rev : {false, true}) {
        if (auto r = area_is(t, rev, lo, hi, size, brute_empty_area(m, lo, hi, size, rev)); !r)
          return r;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// ---- 1. spanning rebalance on insufficient data ---------------------------------------
// Dec 2022: a store overwriting many entries at the end of the tree took the
// rebuilt node for the root and left an insufficient node behind, and the
// leaf max-gap computation then read out of bounds. The kernel's own case:
// contiguous ranges [10i, 10i + 9] stored in descending order, then nullptr
// over [240, 509] (to the end of the data). Here: every start position, on
// the kernel's 51 ranges and on a tree several leaves wide, nullptr and an
// entry; validate() checks minimum occupancy, and the free-range searches
// must match the oracle.
TYPED_TEST(RegressionCatalogue, Regression01_SpanningRebalanceInsufficientData) {
  for (std::uint64_t n : {std::uint64_t{50}, 6 * kS<TypeParam>}) {
    for (std::uint64_t a = 0; a <= n; ++a) {
      for (int variant = 0; variant < 2; ++variant) {
        harness<TypeParam> h;
        for (std::uint64_t i = n + 1; i-- > 0;)
          ASSERT_TRUE(h.store(10 * i, 10 * i + 9, val(i + 1)));
        const std::uint64_t f = 10 * a + (variant ? 3 : 0), l = 10 * n + 9;
        ASSERT_TRUE(h.store(f, l, variant ? val(7777) : nullptr));
        ASSERT_TRUE(h.check()) << "n " << n << " store [" << f << ", " << l << "] variant "
                               << variant;
        ASSERT_TRUE(gaps_agree(h.t, h.m)) << "n " << n << " store [" << f << ", " << l << "]";
      }
    }
  }
  // The kernel's exact shape, and then the tree keeps working.
  harness<TypeParam> h;
  for (std::uint64_t i = 51; i-- > 0;) ASSERT_TRUE(h.store(10 * i, 10 * i + 9, val(i + 1)));
  ASSERT_TRUE(h.store(240, 509, nullptr));
  EXPECT_EQ(h.t.lookup(240), (range_entry{240, kMax, nullptr}));
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.fill(100, 10, 5, 240));
  ASSERT_TRUE(h.check_deep());
}

// ---- 2. the node walk reads past the data end ------------------------------------------
// Jul 2022: a write walk in a node that is not full read pivots past its data
// end. Here: trees of 1..3S ranges (every data end of the root leaf, and the
// first two-level shapes), reads of every index around the data, and writes
// that start or end exactly on each node's last index, on fresh trees.
TYPED_TEST(RegressionCatalogue, Regression02_NodeWalkStopsAtTheDataEnd) {
  for (std::uint64_t n = 1; n <= 3 * kS<TypeParam>; ++n) {
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(n, 10, 6, 5));  // [5, 10], [15, 20], ...: empty ranges between
    for (std::uint64_t x = 0; x <= 10 * n + 20; ++x)
      ASSERT_EQ(h.t.lookup(x), h.m.lookup(x)) << "n " << n << " index " << x;
    for (std::uint64_t x : {kMax, kMax - 1, std::uint64_t{1} << 63})
      ASSERT_EQ(h.t.lookup(x), h.m.lookup(x)) << "n " << n << " index " << x;
    const auto shape = shape_of(h.t);
    for (const node_info &nd : shape) {
      for (int w = 0; w < 4; ++w) {
        std::uint64_t f = nd.max, l = nd.max;
        switch (w) {
          case 0: break;                                          // exactly the last index
          case 1: f = nd.min; break;                              // the whole node
          case 2: l = nd.max == kMax ? kMax : nd.max + 1; break;  // across its end
          default: f = nd.max - std::min<std::uint64_t>(nd.max - nd.min, 3); break;
        }
        harness<TypeParam> g;
        ASSERT_TRUE(g.fill(n, 10, 6, 5));
        ASSERT_TRUE(g.store(f, l, val(99)));
        ASSERT_TRUE(g.check_deep()) << "n " << n << " store [" << f << ", " << l << "]";
      }
    }
  }
}

// ---- 3. next() when already on the last entry of a node --------------------------------
// May 2022: mas_next() standing on the last entry of a node did not move on
// to the next node correctly. Here: for every leaf, a cursor on its last
// stored range steps with next() / next_range() into the next leaf (and with
// prev() / prev_range() from its first stored range into the previous one),
// in trees whose leaves end in empty ranges and in entries.
TYPED_TEST(RegressionCatalogue, Regression03_NextFromTheLastEntryOfANode) {
  for (std::uint64_t width : {std::uint64_t{6}, std::uint64_t{10}}) {
    SCOPED_TRACE(width == 10 ? "contiguous ranges" : "ranges with gaps");
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(20 * kS<TypeParam>, 10, width, 5));
    const auto leaves = leaves_of(shape_of(h.t));
    ASSERT_GE(leaves.size(), 3u);
    rguard<TypeParam> g(h.t);
    for (const node_info &lf : leaves) {
      if (auto last = h.m.find_rev(lf.max, lf.min)) {
        const auto want = h.m.find_after(last->last);
        auto c = g.cursor(last->first);
        ASSERT_EQ(c.walk(), last->entry);
        void *e = c.next();
        if (want) {
          ASSERT_EQ(e, want->entry) << "next() from " << describe(*last);
          ASSERT_EQ(here(c, e), *want);
        } else {
          ASSERT_EQ(e, nullptr);
          ASSERT_EQ(c.state(), cs::overflow);
        }
        if (last->last != kMax) {
          c.set(last->first);
          ASSERT_EQ(c.walk(), last->entry);
          const range_entry after = h.m.lookup(last->last + 1);
          void *r = c.next_range();
          ASSERT_EQ(r, after.entry) << "next_range() from " << describe(*last);
          ASSERT_EQ(here(c, r), after);
        }
      }
      if (auto first = h.m.find(lf.min, lf.max)) {
        const auto want = first->first == 0 ? std::nullopt : h.m.find_rev(first->first - 1);
        auto c = g.cursor(first->first);
        ASSERT_EQ(c.walk(), first->entry);
        void *e = c.prev();
        if (want) {
          ASSERT_EQ(e, want->entry) << "prev() from " << describe(*first);
          ASSERT_EQ(here(c, e), *want);
        } else {
          ASSERT_EQ(e, nullptr);
          ASSERT_EQ(c.state(), cs::underflow);
        }
        if (first->first != 0) {
          c.set(first->first);
          ASSERT_EQ(c.walk(), first->entry);
          const range_entry before = h.m.lookup(first->first - 1);
          void *r = c.prev_range();
          ASSERT_EQ(r, before.entry) << "prev_range() from " << describe(*first);
          ASSERT_EQ(here(c, r), before);
        }
      }
    }
  }
}

// ---- 4. parent pointers of wide nodes -----------------------------------------------------
// 2022, "fix 32b parent pointers": the kernel's 32-bit nodes have 32 slots,
// whose numbers need 5 bits, and the parent-slot encoding lost one. This
// engine has no 32-bit build; its parent word keeps 6 bits of slot number
// (node.h), enough for 64 slots. Here, on the kernel's 32-slot width and on
// 64 slots: appended ranges fill internal nodes to all S children (children
// at every parent slot 0..S-1), then erases and spanning stores move children
// between slots; validate() checks every child's recorded parent and slot.
TYPED_TEST(WideNodes, Regression04_ParentSlotEncodingOfWideNodes) {
  constexpr std::uint64_t S = kS<TypeParam>;
  harness<TypeParam> h;
  std::uint64_t n = 0;
  auto full_internal = [&] {
    for (const node_info &nd : shape_of(h.t))
      if (!nd.leaf && nd.children.size() == S) return true;
    return false;
  };
  while (!full_internal()) {
    ASSERT_LT(n, 40 * S * S) << "no internal node ever held " << S << " children";
    for (std::uint64_t k = 0; k < S; ++k, ++n) ASSERT_TRUE(h.store(n, n, val(n + 1)));
  }
  ASSERT_TRUE(h.check_deep());
  // Children move between slots: erases in the middle (rebalances), a wide
  // nullptr store (whole subtrees go), stores that split again.
  for (std::uint64_t i = n / 3; i < n / 2; i += 3) ASSERT_TRUE(h.erase(i));
  ASSERT_TRUE(h.check());
  ASSERT_TRUE(h.store(n / 2 + 7, n / 2 + 7 + S * S / 2, nullptr));
  ASSERT_TRUE(h.check());
  for (std::uint64_t i = 0; i < S * S; ++i)
    ASSERT_TRUE(h.store(n + 10 + 2 * i, n + 10 + 2 * i, val(i + 1)));
  ASSERT_TRUE(h.check());
  ASSERT_TRUE(h.store(3, n - 3, val(5)));
  ASSERT_TRUE(h.check_deep());
}

// ---- 5. expanding a nullptr store off the end of the data --------------------------------
// 2022: a nullptr store reaching the end of the data expanded over the
// trailing empty range beyond the node's data. Here: nullptr over the last k
// ranges (from inside a range to the last index of the data) must leave one
// empty range up to UINT64_MAX; erasing the new last range grows it again;
// the same at the top of the index space (data ending at UINT64_MAX - 1).
TYPED_TEST(RegressionCatalogue, Regression05_NullExpansionOffTheEndOfTheData) {
  constexpr std::uint64_t S = kS<TypeParam>;
  for (std::uint64_t n : {S / 2, S, 2 * S, 5 * S, 20 * S}) {
    const std::uint64_t end = 10 * (n - 1) + 5;
    for (std::uint64_t k = 1; k <= std::min(n, 2 * S); ++k) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(n, 10, 6));
      const std::uint64_t from = 10 * (n - k) + 2;
      ASSERT_TRUE(h.store(from, end, nullptr));
      ASSERT_EQ(h.t.lookup(from), (range_entry{from, kMax, nullptr})) << "n " << n << " k " << k;
      ASSERT_TRUE(h.check()) << "n " << n << " k " << k;
      ASSERT_TRUE(h.erase(10 * (n - k)));  // the stub [10(n-k), from - 1]
      const std::uint64_t tail = n - k == 0 ? 0 : 10 * (n - k - 1) + 6;
      ASSERT_EQ(h.t.lookup(from), (range_entry{tail, kMax, nullptr})) << "n " << n << " k " << k;
      ASSERT_TRUE(h.check()) << "n " << n << " k " << k;
    }
    // At the top: ranges [max - 10i - 6, max - 10i - 1], the last ending at max - 1.
    harness<TypeParam> h;
    for (std::uint64_t i = n; i-- > 0;)
      ASSERT_TRUE(h.store(kMax - 10 * i - 6, kMax - 10 * i - 1, val(i + 1)));
    ASSERT_TRUE(h.store(kMax - 10 * std::min(n - 1, S) - 3, kMax - 1, nullptr));
    EXPECT_EQ(h.t.lookup(kMax).last, kMax);
    EXPECT_EQ(h.t.lookup(kMax).first, kMax - 10 * std::min(n - 1, S) - 3);
    ASSERT_TRUE(h.check_deep()) << "top, n " << n;
  }
}

// ---- 14. write retries must not reuse an expanded range -------------------------------------
// Aug 2024: an erase of [a, b] was widened to [a, c] by merging the empty
// neighbours; the lock was dropped to allocate; another writer stored into
// [b + 1, c]; the retry erased the widened range and lost that store. Here a
// write that runs out of memory reports no_memory and changes nothing (there
// is no retry inside the engine); the caller's retry after another writer's
// store removes exactly the original range. Through the tree and through a
// write cursor, whose range must not have been widened by the failure.
TYPED_TEST(RegressionCatalogue, Regression14_FailedEraseRetriesOnlyItsOwnRange) {
  counting_resource mr;
  TypeParam t(&mr);
  reference_model m;
  const std::uint64_t n = 60 * kS<TypeParam>;
  for (std::uint64_t i = 0; i < n; ++i) {
    ASSERT_FALSE(t.store(10 * i, 10 * i + 5, val(i + 1)));
    m.store(10 * i, 10 * i + 5, val(i + 1));
  }
  // Thin the tree so that erases must rebalance (and so allocate).
  for (std::uint64_t i = 0; i < n; i += 2) {
    ASSERT_FALSE(t.store(10 * i, 10 * i + 5, nullptr));
    m.store(10 * i, 10 * i + 5, nullptr);
  }
  unsigned failed[2] = {0, 0}, tag = 100000;  // through the tree, through a cursor
  const std::vector<range_entry> ranges = m.ranges();
  for (std::size_t k = 0; k < ranges.size(); k += 3) {
    const range_entry r = ranges[k];
    const bool by_cursor = k % 2 == 1;
    std::error_code ec;
    void *e = nullptr;
    mr.fail_after = 0;
    if (by_cursor) {
      wguard<TypeParam> w(t);
      auto c = w.cursor(r.first + 1);
      ec = c.erase(&e);
      if (ec) {
        EXPECT_EQ(c.state(), cs::error);
        EXPECT_LE(r.first, c.index()) << "the failed erase widened the cursor's range";
        EXPECT_LE(c.last(), r.last) << "the failed erase widened the cursor's range";
      }
    } else {
      ec = t.erase(r.first + 1, &e);
    }
    mr.fail_after = -1;
    if (!ec) {
      ASSERT_EQ(e, r.entry);
      m.erase(r.first);
      continue;
    }
    ++failed[by_cursor ? 1 : 0];
    ASSERT_EQ(ec, maple::errc::no_memory);
    ASSERT_TRUE(consistent(t, m)) << "a failed erase changed the tree";
    // Another writer takes the empty range after it (which the failed erase
    // would have merged into the freed range).
    const std::uint64_t nf = r.last + 1;
    ASSERT_EQ(m.load(nf), nullptr);
    ASSERT_FALSE(t.store(nf, nf, val(++tag)));
    m.store(nf, nf, val(tag));
    // The retry removes exactly the original range.
    if (by_cursor) {
      wguard<TypeParam> w(t);
      auto c = w.cursor(r.first + 1);
      ASSERT_FALSE(c.erase(&e));
    } else {
      ec = t.erase(r.first + 1, &e);
      ASSERT_FALSE(ec);
    }
    ASSERT_EQ(e, r.entry);
    m.erase(r.first);
    ASSERT_EQ(t.load(nf), val(tag)) << "the other writer's store was lost";
    ASSERT_TRUE(consistent(t, m));
  }
  EXPECT_GT(failed[0], 0u) << "no tree erase needed memory: the failure path went untested";
  EXPECT_GT(failed[1], 0u) << "no cursor erase needed memory: the failure path went untested";
  EXPECT_EQ(mr.live(), static_cast<long>(t.stats().nodes));
}

// ---- 16. prev() off the start, then find() -------------------------------------------------
// Sep 2023: mas_prev() running off the start of the tree (before a range at
// index 0: a VMA mapped at address 0) followed by mas_find() skipped the
// first entry; mprotect() and mlock() failed on such VMAs. Here: after an
// underflow below the first range, find() returns that first range, then the
// next; the same from find_rev(), from a prev() that first returned it, and
// mirrored at the top (next() off the end, then find_rev()).
TYPED_TEST(RegressionCatalogue, Regression16_PrevOffTheStartThenFind) {
  for (std::uint64_t n : {std::uint64_t{3}, 20 * kS<TypeParam>}) {
    for (std::uint64_t base : {std::uint64_t{0}, std::uint64_t{5}}) {
      SCOPED_TRACE("n " + std::to_string(n) + " base " + std::to_string(base));
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(n, 10, 6, base));  // first range [base, base + 5] -> val(1)
      rguard<TypeParam> g(h.t);
      auto c = g.cursor(base + 1);
      ASSERT_EQ(c.walk(), val(1));
      EXPECT_EQ(c.prev(), nullptr);
      EXPECT_EQ(c.state(), cs::underflow);
      EXPECT_EQ(c.find(), val(1)) << "find() after prev() underflowed skipped the first range";
      EXPECT_TRUE(pos_is(c, base, base + 5, cs::active));
      EXPECT_EQ(c.find(), val(2));
      // From find_rev().
      c.set(base + 3);
      EXPECT_EQ(c.find_rev(), val(1));
      EXPECT_EQ(c.find_rev(), nullptr);
      EXPECT_EQ(c.find(), val(1));
      EXPECT_EQ(c.find(), val(2));
      // prev() returning the first range, then running off.
      c.set(base + 10);
      ASSERT_EQ(c.walk(), val(2));
      EXPECT_EQ(c.prev(), val(1));
      EXPECT_EQ(c.prev(), nullptr);
      EXPECT_EQ(c.prev(), nullptr);
      EXPECT_EQ(c.find(), val(1));
      EXPECT_EQ(c.next(), val(2));
      // prev_range() too (an empty [0, base - 1] comes first when base > 0).
      c.set(base);
      ASSERT_EQ(c.walk(), val(1));
      if (base > 0) {
        EXPECT_EQ(c.prev_range(), nullptr);
        EXPECT_TRUE(pos_is(c, 0, base - 1, cs::active));
      }
      EXPECT_EQ(c.prev_range(), nullptr);
      EXPECT_EQ(c.state(), cs::underflow);
      EXPECT_EQ(c.find(), val(1));
      // The mirror image at the top.
      const range_entry last = h.m.ranges().back();
      c.set(last.first);
      ASSERT_EQ(c.walk(), last.entry);
      EXPECT_EQ(c.next(), nullptr);
      EXPECT_EQ(c.state(), cs::overflow);
      EXPECT_EQ(c.find_rev(), last.entry);
      EXPECT_TRUE(pos_is(c, last.first, last.last, cs::active));
    }
  }
}

// ---- 18. a cursor's first operation from the start state --------------------------------------
// 6.2: mas_start() set up the state differently for its three cases (empty
// tree, a single entry in the root, a root node), and each case must leave
// a consistent position. Here: every read operation of a fresh cursor, at
// several indices, on an empty tree, a tree holding only [0, 0], a one-leaf
// tree and a deep tree, against the model.
TYPED_TEST(RegressionCatalogue, Regression18_FirstOperationFromTheStartState) {
  for (int shape = 0; shape < 4; ++shape) {
    SCOPED_TRACE("shape " + std::to_string(shape));
    harness<TypeParam> h;
    if (shape == 1) {
      ASSERT_TRUE(h.store(0, 0, val(1)));
    }
    if (shape == 2) {
      ASSERT_TRUE(h.fill(2, 10, 6, 3));
    }
    if (shape == 3) {
      ASSERT_TRUE(h.fill(30 * kS<TypeParam>, 10, 6));
    }
    const bool nodeless = shape < 2;
    rguard<TypeParam> g(h.t);
    for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{14},
                            std::uint64_t{157}, kMax}) {
      SCOPED_TRACE("index " + std::to_string(i));
      const range_entry holding = h.m.lookup(i);
      // What each operation must find, from the model.
      const std::optional<range_entry> want_find = h.m.find(i), want_rev = h.m.find_rev(i),
                                       want_next = h.m.find_after(i),
                                       want_prev = holding.first == 0
                                                       ? std::nullopt
                                                       : h.m.find_rev(holding.first - 1);
      {
        auto c = g.cursor(i);
        EXPECT_EQ(c.walk(), holding.entry);
        if (!nodeless) {
          EXPECT_EQ(here(c, holding.entry), holding);
        }
      }
      const std::pair<int, const std::optional<range_entry> *> ops[] = {
          {0, &want_find}, {1, &want_rev}, {2, &want_next}, {3, &want_prev}};
      for (auto [op, want] : ops) {
        auto c = g.cursor(i);
        void *e = nullptr;
        switch (op) {
          case 0: e = c.find(); break;
          case 1: e = c.find_rev(); break;
          case 2: e = c.next(); break;
          default: e = c.prev(); break;
        }
        const char *name[] = {"find", "find_rev", "next", "prev"};
        if (*want) {
          EXPECT_EQ(e, (*want)->entry) << name[op];
          EXPECT_EQ(here(c, e), **want) << name[op];
        } else {
          EXPECT_EQ(e, nullptr) << name[op];
        }
      }
    }
  }
}

// ---- 19. no wasted allocations in spanning stores ---------------------------------------------
// The vacant/sufficient-height series fixed an off-by-one (mast_overflow,
// >= for >) that ran extra spanning-rebalance iterations and allocated nodes
// that were not needed. Here, for random spanning stores and erases on a
// tree several levels deep: no node allocated by a write is freed by the
// same write (every node it allocates ends up in the tree), and a plain
// store allocates exactly what preallocate() reserves for it.
TYPED_TEST(RegressionCatalogue, Regression19_SpanningStoresAllocateOnlyWhatTheyKeep) {
  constexpr std::uint64_t S = kS<TypeParam>;
  counting_resource mr;
  TypeParam t(&mr);
  reference_model m;
  const std::uint64_t n = 40 * S;
  for (std::uint64_t i = 0; i < n; ++i) {
    ASSERT_FALSE(t.store(10 * i, 10 * i + 5, val(i + 1)));
    m.store(10 * i, 10 * i + 5, val(i + 1));
  }
  rng r(test_seed(19));
  unsigned allocating = 0;
  for (int op = 0; op < 400; ++op) {
    const std::uint64_t f = r.below(10 * n);
    const std::uint64_t l = f + (r.chance(1, 4) ? r.below(20) : r.between(10 * S, 30 * S * S));
    void *e = r.chance(1, 3) ? nullptr : val(1000 + static_cast<std::uint64_t>(op));
    unsigned reserved = 0;
    {
      wguard<TypeParam> w(t);
      auto c = w.cursor(f, l);
      ASSERT_FALSE(c.preallocate(e));
      reserved = c.reserved();
    }
    const std::size_t a0 = mr.allocs;
    mr.new_write();
    mr.wasted = 0;
    ASSERT_FALSE(t.store(f, l, e));
    m.store(f, l, e);
    const std::size_t used = mr.allocs - a0;
    if (used > 0) ++allocating;
    ASSERT_EQ(mr.wasted, 0u) << "store [" << f << ", " << l << "] freed " << mr.wasted << " of the "
                             << used << " nodes it allocated";
    ASSERT_EQ(used, reserved) << "store [" << f << ", " << l << "]: preallocate() said " << reserved
                              << ", the store took " << used;
    ASSERT_EQ(mr.live(), static_cast<long>(t.stats().nodes));
    if (op % 50 == 0) {
      ASSERT_TRUE(consistent(t, m)) << "op " << op;
    }
    // Keep the tree from emptying out.
    if (m.size() < n / 4) {
      for (std::uint64_t i = 0; i < n; i += 2) {
        ASSERT_FALSE(t.store(10 * i, 10 * i + 5, val(i + 1)));
        m.store(10 * i, 10 * i + 5, val(i + 1));
      }
    }
  }
  EXPECT_GT(allocating, 50u);
  ASSERT_TRUE(consistent(t, m));
}

// ---- 25. node overflow on copy ------------------------------------------------------------------
// check_fuzzer scenario 3: a write into a nearly full node miscounted the
// node's size (overflow on copy), and the metadata (data end) came out wrong.
// Here: (a) every sequence of four writes from {an entry over [0, max],
// entries at 0, 4, 5, erases at 0, 4, 5} on a fresh tree (the scenario's
// ingredients: a whole-range entry cut into pieces around small indices);
// (b) root leaves of 1..S ranges, and a singleton or a pair stored at every
// position (turning one slot into three, filling a gap, landing on a bound).
TYPED_TEST(RegressionCatalogue, Regression25_NodeOverflowOnCopy) {
  struct op {
    int kind;  // 0 whole range, 1 store, 2 erase
    std::uint64_t x;
  };
  const op ops[] = {{0, 0}, {1, 0}, {1, 4}, {1, 5}, {2, 0}, {2, 4}, {2, 5}};
  constexpr std::size_t kOps = std::size(ops);
  for (std::size_t code = 0; code < kOps * kOps * kOps * kOps; ++code) {
    harness<TypeParam> h;
    std::size_t c = code;
    std::string seq;
    for (int k = 0; k < 4; ++k, c /= kOps) {
      const op &o = ops[c % kOps];
      seq += std::to_string(o.kind) + ":" + std::to_string(o.x) + " ";
      ::testing::AssertionResult r = ::testing::AssertionSuccess();
      switch (o.kind) {
        case 0: r = h.store(0, kMax, val(1)); break;
        case 1: r = h.store(o.x, o.x, val(2 * o.x + 3)); break;
        default: r = h.erase(o.x); break;
      }
      ASSERT_TRUE(r) << seq;
      ASSERT_TRUE(h.check()) << seq;
    }
  }
  for (std::uint64_t k = 1; k <= kS<TypeParam>; ++k) {
    for (std::uint64_t p = 0; p <= 3 * k + 3; ++p) {
      for (std::uint64_t width : {std::uint64_t{1}, std::uint64_t{2}}) {
        harness<TypeParam> h;
        ASSERT_TRUE(h.fill(k, 3, 2));  // [3i, 3i + 1]: two slots each
        ASSERT_TRUE(h.store(p, p + width - 1, val(777)));
        ASSERT_TRUE(h.check_deep()) << k << " ranges, store [" << p << ", " << p + width - 1 << "]";
      }
    }
  }
}

// ---- 28. shrinking a reused node leaves stale slots ------------------------------------------
// check_fuzzer scenario 6: a node rewritten in place with less data kept an
// old entry in its implied last slot; only the one leaf allowed to end in an
// empty range was affected (the kernel's left-most leaf; here the rightmost,
// which ends at UINT64_MAX). Here: the root leaf and the rightmost leaf of a
// deep tree hold c contiguous ranges; nullptr from every position to
// UINT64_MAX shrinks the leaf in place; every index reads back as the model.
TYPED_TEST(RegressionCatalogue, Regression28_ShrinkingAReusedNodeLeavesNoStaleSlots) {
  constexpr std::uint64_t S = kS<TypeParam>;
  for (std::uint64_t base : {std::uint64_t{0}, 10 * 12 * S}) {
    for (std::uint64_t c = 1; c <= S + 1; ++c) {
      for (std::uint64_t x = base; x <= base + c; ++x) {
        harness<TypeParam> h;
        if (base > 0) {
          ASSERT_TRUE(h.fill(12 * S, 10, 6));
        }
        ASSERT_TRUE(h.fill(c, 1, 1, base, 500));  // [base + i, base + i]
        ASSERT_TRUE(h.store(x, kMax, nullptr));
        for (std::uint64_t i = base; i <= base + c + 2; ++i)
          ASSERT_EQ(h.t.lookup(i), h.m.lookup(i))
              << "c " << c << " nullptr from " << x << ": index " << i;
        ASSERT_TRUE(h.check_deep()) << "c " << c << " nullptr from " << x;
      }
    }
  }
}

// ---- 29. shrink, then grow the same node ---------------------------------------------------
// check_fuzzer scenario 7: the fix of scenario 6 was incomplete; old data
// came back when a shrunk node grew again. Here: after the shrink of entry
// 28, the leaf is refilled by appends and by one wide entry store ending at
// UINT64_MAX; every index reads the new entries, never an old one.
TYPED_TEST(RegressionCatalogue, Regression29_ShrinkThenGrowTheSameNode) {
  constexpr std::uint64_t S = kS<TypeParam>;
  for (std::uint64_t base : {std::uint64_t{0}, 10 * 12 * S}) {
    for (std::uint64_t c = 2; c <= S + 1; ++c) {
      for (std::uint64_t x = base + 1; x <= base + c; ++x) {
        harness<TypeParam> h;
        if (base > 0) {
          ASSERT_TRUE(h.fill(12 * S, 10, 6));
        }
        ASSERT_TRUE(h.fill(c, 1, 1, base, 500));
        ASSERT_TRUE(h.store(x, kMax, nullptr));
        ASSERT_TRUE(h.fill(c + 2, 1, 1, x, 9000));  // regrow with new entries
        for (std::uint64_t i = base; i <= x + c + 3; ++i)
          ASSERT_EQ(h.t.lookup(i), h.m.lookup(i)) << "c " << c << " x " << x << ": index " << i;
        ASSERT_TRUE(h.check()) << "c " << c << " x " << x;
        ASSERT_TRUE(h.store(x + 1, kMax, val(31337)));
        ASSERT_EQ(h.t.lookup(kMax), (range_entry{x + 1, kMax, val(31337)}));
        ASSERT_TRUE(h.check_deep()) << "c " << c << " x " << x;
      }
    }
  }
}

// ---- 30. a consumed right node's max ---------------------------------------------------------
// check_fuzzer scenario 8: when a rebalance or spanning store consumed the
// entire right node, the new node's max was set to the final pivot instead
// of the right node's max. Here: in a three-level tree, every leaf that has
// a left sibling is emptied range by range (the last erases make it
// insufficient and it is absorbed), and, on fresh trees, consumed whole by a
// nullptr store and by an entry store from inside its left sibling; the
// leaves must still tile [0, UINT64_MAX] (validate) and every index around
// the consumed node reads as the model.
TYPED_TEST(RegressionCatalogue, Regression30_ConsumedRightNodeKeepsItsMax) {
  constexpr std::uint64_t S = kS<TypeParam>;
  // The smallest append count giving three levels.
  std::uint64_t count = 0;
  {
    harness<TypeParam> p;
    while (p.t.height() < 3) {
      ASSERT_TRUE(p.store(10 * count, 10 * count + 6, val(count + 1)));
      ++count;
    }
    count += 2 * S;  // a few more leaves on the right
  }
  harness<TypeParam> proto;
  ASSERT_TRUE(proto.fill(count, 10, 7));
  const auto shape = shape_of(proto.t);
  int scenarios = 0;
  for (const node_info &parent : shape) {
    if (parent.leaf || parent.children.size() < 2) continue;
    for (std::size_t k = 1; k < parent.children.size(); ++k) {
      const node_info &left = shape[static_cast<std::size_t>(parent.children[k - 1])];
      const node_info &right = shape[static_cast<std::size_t>(parent.children[k])];
      if (!right.leaf) continue;
      ++scenarios;
      const std::string what = "leaf [" + std::to_string(right.min) + ", " +
                               (right.max == kMax ? "max" : std::to_string(right.max)) + "]";
      auto around_ok = [&](const harness<TypeParam> &h) -> ::testing::AssertionResult {
        for (std::uint64_t i = left.min; i <= std::min(right.max, right.min + 40); ++i) {
          if (!(h.t.lookup(i) == h.m.lookup(i)))
            return ::testing::AssertionFailure() << "lookup(" << i << ")";
        }
        if (right.max != kMax && !(h.t.lookup(right.max + 1) == h.m.lookup(right.max + 1)))
          return ::testing::AssertionFailure() << "lookup(" << right.max + 1 << ")";
        return h.check();
      };
      {
        harness<TypeParam> h;
        ASSERT_TRUE(h.fill(count, 10, 7));
        for (auto rr : h.m.ranges(right.min, right.max == kMax ? 10 * count : right.max)) {
          ASSERT_TRUE(h.erase(rr.first));
          ASSERT_TRUE(around_ok(h)) << what << " after erasing " << describe(rr);
        }
      }
      for (int variant = 0; variant < 2; ++variant) {
        harness<TypeParam> h;
        ASSERT_TRUE(h.fill(count, 10, 7));
        const std::uint64_t f = variant == 0 ? right.min : left.min + (left.max - left.min) / 2;
        const std::uint64_t l = right.max == kMax ? 10 * count : right.max;
        ASSERT_TRUE(h.store(f, l, variant == 0 ? nullptr : val(4242)));
        ASSERT_TRUE(around_ok(h)) << what << " store [" << f << ", " << l << "]";
      }
    }
  }
  EXPECT_GE(scenarios, 4);
}

// ---- 33. tests parameterised by node size -------------------------------------------------------
// "fix 32 bit mas_next testing", "fix node allocation testing on 32 bit": the
// kernel's tests assumed 64-bit node sizes. This suite runs every typed test
// on 16 and 4 slots (tree_types.h) and this catalogue on 32 as well; here the
// iteration and allocation checks on the kernel's 32-bit width and on 64
// slots: next/prev and the bidirectional iterator across leaves and levels,
// and preallocate() + store_prealloc() taking exactly the reserve.
TYPED_TEST(WideNodes, Regression33_IterationAndPreallocationOnWideNodes) {
  constexpr std::uint64_t S = kS<TypeParam>;
  counting_resource mr;
  TypeParam t(&mr);
  reference_model m;
  const std::uint64_t n = 3 * S * S;
  ASSERT_TRUE(fill(t, m, n, 10, 6, 5));
  ASSERT_GE(t.height(), 3u);
  ASSERT_TRUE(consistent(t, m));
  ASSERT_TRUE(same_contents_backward(t, m));
  const std::vector<range_entry> all = m.ranges();
  {
    rguard<TypeParam> g(t);
    auto c = g.cursor(0);
    std::size_t i = 0;
    for (void *e = c.find(); e; e = c.next(), ++i) ASSERT_EQ(here(c, e), all[i]) << i;
    EXPECT_EQ(i, all.size());
    EXPECT_EQ(c.state(), cs::overflow);
    for (void *e = c.prev(); e; e = c.prev()) ASSERT_EQ(here(c, e), all[--i]) << i;
    EXPECT_EQ(i, 0u);
    EXPECT_EQ(c.state(), cs::underflow);
  }
  rng r(test_seed(33));
  for (int op = 0; op < 60; ++op) {
    const std::uint64_t f = r.below(10 * n);
    const std::uint64_t l = f + (op % 3 == 0 ? r.below(10) : r.between(10 * S, 20 * S * S));
    void *e = op % 4 == 0 ? nullptr : val(100000 + static_cast<std::uint64_t>(op));
    {
      wguard<TypeParam> w(t);
      auto c = w.cursor(f, l);
      ASSERT_FALSE(c.preallocate(e));
      const unsigned reserved = c.reserved();
      const std::size_t a0 = mr.allocs;
      c.store_prealloc(e);
      EXPECT_EQ(mr.allocs, a0) << "store_prealloc() allocated";
      EXPECT_EQ(c.reserved(), 0u) << "store [" << f << ", " << l << "] left " << c.reserved()
                                  << " of " << reserved << " reserved nodes unused";
    }
    m.store(f, l, e);
    ASSERT_EQ(mr.live(), static_cast<long>(t.stats().nodes)) << "op " << op;
    ASSERT_TRUE(consistent(t, m)) << "op " << op;
  }
  ASSERT_TRUE(same_contents_backward(t, m));
}

}  // namespace
}  // namespace maple_test
