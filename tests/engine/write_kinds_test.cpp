// tests/engine/write_kinds_test.cpp - every write kind of the engine, proven to run
// (by the per-thread write-kind counters of core/write_trace.h) and proven
// correct (whole contents against the reference model, then validate()).
//
// Where the exact node shape that triggers a kind depends on the engine's
// split/merge policy, a test drives a family of candidate writes and
// requires that the kind was counted at least once, checking the tree after
// every single write.
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_shape.h"
#include "tree_types.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <iterator>
#include <ranges>
#include <string>
#include <vector>

namespace maple_test {
namespace {

using wk = maple::detail::write_kind;

template <class Tree>
class WriteKinds : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kSlots = Tree::slots;
  void SetUp() override {
    if (!maple::detail::write_trace_enabled) GTEST_SKIP() << kNoTraceHooks;
  }
};
TYPED_TEST_SUITE(WriteKinds, plain_engine_types);

/// Resets the counters, runs one write, checks the tree; returns whether
/// `kind` was counted. Fails the test (and returns false) on a divergence.
template <class Tree>
bool write_counts(harness<Tree> &h, wk kind, const std::function<::testing::AssertionResult()> &w,
                  const std::string &what) {
  reset_trace();
  auto r = w();
  bool hit = trace(kind) > 0;
  std::string kinds = trace_summary();
  if (!r) {
    ADD_FAILURE() << what << ": " << r.message();
    return false;
  }
  if (auto c = h.check(); !c) {
    ADD_FAILURE() << what << " (kinds: " << kinds << "): " << c.message();
    return false;
  }
  return hit;
}

/// Repeats `step(i)` (one write each) until `kind` is counted; checks the
/// tree after every write. Returns the index of the hitting write or -1.
template <class Tree>
long until_kind(harness<Tree> &h, wk kind, long max_ops,
                const std::function<::testing::AssertionResult(long)> &step) {
  for (long i = 0; i < max_ops; ++i) {
    reset_trace();
    auto r = step(i);
    if (!r) {
      ADD_FAILURE() << "op " << i << ": " << r.message();
      return -2;
    }
    bool hit = trace(kind) > 0;
    if (auto c = h.check(); !c) {
      ADD_FAILURE() << "op " << i << " (kinds: " << trace_summary() << "): " << c.message();
      return -2;
    }
    if (hit) return i;
  }
  return -1;
}

// ---- store_root / new_root -------------------------------------------------------

TYPED_TEST(WriteKinds, StoreRoot) {
  harness<TypeParam> h;
  EXPECT_TRUE(write_counts(
      h, wk::store_root, [&] { return h.store(0, 0, val(1)); }, "[0,0] into empty"));
  EXPECT_EQ(h.t.height(), 0u);
  EXPECT_TRUE(write_counts(
      h, wk::store_root, [&] { return h.store(0, 0, val(2)); }, "replace root entry"));
  EXPECT_EQ(h.t.height(), 0u);
  EXPECT_TRUE(write_counts(
      h, wk::store_root, [&] { return h.store(5, 9, val(3)); }, "expand root entry"));
  EXPECT_EQ(h.t.height(), 1u);
  EXPECT_EQ(h.t.lookup(0), (maple::range_entry{0, 0, val(2)}));
  EXPECT_EQ(h.t.lookup(3), (maple::range_entry{1, 4, nullptr}));

  const std::pair<std::uint64_t, std::uint64_t> firsts[] = {{100, 200},   {0, 5},        {1, 1},
                                                            {kMax, kMax}, {0, kMax - 1}, {1, kMax}};
  for (auto [f, l] : firsts) {
    harness<TypeParam> e;
    EXPECT_TRUE(write_counts(
        e, wk::store_root, [&] { return e.store(f, l, val(4)); },
        "into empty: " + hex(f) + "-" + hex(l)));
    EXPECT_EQ(e.t.height(), 1u);
    ASSERT_TRUE(e.check_deep());
  }
}

TYPED_TEST(WriteKinds, NewRoot) {
  for (void *entry : {val(77), static_cast<void *>(nullptr)}) {
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(40 * this->kSlots, 10, 5));
    ASSERT_GE(h.t.height(), 3u);
    EXPECT_TRUE(write_counts(
        h, wk::new_root, [&] { return h.store(0, kMax, entry); }, "[0,max]"))
        << trace_summary();
    ASSERT_TRUE(h.check_deep());
    if (entry) {
      EXPECT_EQ(h.t.height(), 1u);
      EXPECT_EQ(h.t.stats().nodes, 1u);
    } else {
      EXPECT_TRUE(h.t.empty());
      EXPECT_EQ(h.t.height(), 0u);
    }
  }
}

// ---- in-place writes --------------------------------------------------------------

TYPED_TEST(WriteKinds, ExactFit) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(20 * this->kSlots, 10, 10));  // contiguous [10i, 10i+9]
  const std::uint64_t n = 20 * this->kSlots;
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, n / 3, n / 2, n - 2, n - 1}) {
    EXPECT_TRUE(write_counts(
        h, wk::exact_fit, [&] { return h.store(10 * i, 10 * i + 9, val(5000 + i)); },
        "replace range " + std::to_string(i)))
        << trace_summary();
  }
  ASSERT_TRUE(h.check_deep());
  harness<TypeParam> small;
  ASSERT_TRUE(small.fill(2, 10, 10));
  EXPECT_TRUE(write_counts(
      small, wk::exact_fit, [&] { return small.store(10, 19, val(9)); }, "root leaf"));
}

TYPED_TEST(WriteKinds, SlotStore) {
  // Overwriting the tail of one range and the whole next one (or the whole
  // of one and the head of the next) keeps the slot count: a slot store
  // wherever both slots share a leaf.
  const std::uint64_t n = 3 * this->kSlots;
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i + 1 < n; ++i) {
    for (int flavour = 0; flavour < 2; ++flavour) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(n, 10, 10));
      std::uint64_t f = flavour ? 10 * i : 10 * i + 5, l = flavour ? 10 * i + 14 : 10 * i + 19;
      if (write_counts(
              h, wk::slot_store, [&] { return h.store(f, l, val(999)); },
              "store " + hex(f) + "-" + hex(l)))
        ++hits;
      if (this->HasFailure()) return;
    }
  }
  EXPECT_GT(hits, 0u);
}

TYPED_TEST(WriteKinds, Append) {
  std::uint64_t hits = 0;
  for (std::uint64_t k = 1; k <= 3 * this->kSlots; ++k) {
    for (std::uint64_t gap : {0, 5}) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(k, 10, 10));
      if (write_counts(
              h, wk::append, [&] { return h.store(10 * k + gap, 10 * k + 9, val(999)); },
              "append after " + std::to_string(k)))
        ++hits;
      if (this->HasFailure()) return;
    }
  }
  EXPECT_GT(hits, 0u);
}

TYPED_TEST(WriteKinds, NodeStore) {
  // Splitting one range in three inside a leaf with room rewrites the node.
  std::uint64_t hits = 0;
  for (std::uint64_t k = 1; k <= 3 * this->kSlots; ++k) {
    for (std::uint64_t j = 0; j < k; j += (k > 4 ? k / 4 : 1)) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(k, 10, 10));
      if (write_counts(
              h, wk::node_store, [&] { return h.store(10 * j + 3, 10 * j + 5, val(999)); },
              "split range " + std::to_string(j) + " of " + std::to_string(k)))
        ++hits;
      if (this->HasFailure()) return;
    }
  }
  EXPECT_GT(hits, 0u);
}

// ---- growth -----------------------------------------------------------------------

/// Builds wide contiguous ranges, then splits ranges at random points of a
/// narrow region so one part of the tree keeps growing.
template <class Tree>
long grow_region_until(harness<Tree> &h, wk kind, std::uint64_t initial, long max_ops,
                       std::uint64_t seed) {
  if (!h.fill(initial, 1000, 1000)) return -2;
  rng r(seed);
  const std::uint64_t lo = (initial / 2) * 1000, hi = lo + 3999;
  return until_kind(h, kind, max_ops, [&](long i) {
    std::uint64_t x = r.between(lo, hi);
    return h.store(x, x, val(100000 + static_cast<std::uint64_t>(i)));
  });
}

TYPED_TEST(WriteKinds, LeafSplit) {
  harness<TypeParam> h;
  long at = grow_region_until(h, wk::leaf_split, 4 * this->kSlots, 4000, test_seed(11));
  ASSERT_GE(at, 0) << "leaf_split never counted";
  EXPECT_GE(h.t.height(), 2u);
}

TYPED_TEST(WriteKinds, Push) {
  // A push moves an overflowing node's data into a sibling when both fit in
  // two nodes with a spare slot (kernel: combined < 2*slots - 2, section
  // 4.2). Growing one region of 16-slot nodes finds such a sibling soon; a
  // 4-slot node overflows with >= 5 items, so only an under-full rightmost
  // sibling can take them: random writes near the right edge find one.
  harness<TypeParam> h;
  long at = grow_region_until(h, wk::push, 4 * this->kSlots, 4000, test_seed(12));
  if (at == -1) {
    rng r(test_seed(15));
    at = until_kind(h, wk::push, 20000, [&](long i) {
      auto last = h.m.map().rbegin();
      std::uint64_t top = last->second.last;
      std::uint64_t x = r.between(top > 5000 ? top - 5000 : 0, top + 100);
      if (r.chance(1, 4)) return h.erase(x);
      return h.store(x, x + r.below(8), val(static_cast<std::uint64_t>(i)));
    });
  }
  ASSERT_GE(at, 0) << "push never counted";
}

TYPED_TEST(WriteKinds, InternalSplit) {
  harness<TypeParam> h;
  long at = grow_region_until(h, wk::internal_split, 2 * this->kSlots * this->kSlots, 6000,
                              test_seed(13));
  ASSERT_GE(at, 0) << "internal_split never counted (height " << h.t.height() << ")";
  EXPECT_GE(h.t.height(), 3u);
}

TYPED_TEST(WriteKinds, RootSplit) {
  // Appending until the tree is 4 levels high: every growth of the height
  // from a node-rooted tree is a root split.
  harness<TypeParam> h;
  unsigned height = 0;
  int splits_seen = 0;
  for (std::uint64_t i = 0; h.t.height() < 4; ++i) {
    ASSERT_LT(i, 100000u);
    reset_trace();
    ASSERT_TRUE(h.store(10 * i, 10 * i + 7, val(i + 1)));
    unsigned now = h.t.height();
    ASSERT_GE(now, height) << "height dropped on an append";
    if (now > height && height >= 1) {
      EXPECT_GT(trace(wk::root_split), 0u)
          << "height " << height << "->" << now << ": " << trace_summary();
      ++splits_seen;
      ASSERT_TRUE(h.check());
    }
    height = now;
  }
  EXPECT_EQ(splits_seen, 3);
  ASSERT_TRUE(h.check_deep());
  // Also a root split caused by inserts in the middle of a root leaf.
  harness<TypeParam> m;
  ASSERT_TRUE(m.fill(2, 1000000, 1000000));
  long at = until_kind(m, wk::root_split, 10 * static_cast<long>(this->kSlots), [&](long i) {
    std::uint64_t x = 500000 + 1000 * static_cast<std::uint64_t>(i);
    return m.store(x, x + 10, val(7));
  });
  EXPECT_GE(at, 0) << "no root split from a root leaf";
}

// ---- shrinking ----------------------------------------------------------------------

TYPED_TEST(WriteKinds, Rebalance) {
  // Erasing runs of ranges in the middle of a 2+ level tree, then (if that
  // did not do it) random erases and overwrites of a few ranges by one:
  // a non-root node drops below its minimum and pulls in a neighbour.
  harness<TypeParam> h;
  const std::uint64_t n = 20 * this->kSlots;
  ASSERT_TRUE(h.fill(n, 10, 10));
  ASSERT_GE(h.t.height(), 2u);
  long at = until_kind(h, wk::rebalance, static_cast<long>(n / 2), [&](long i) {
    return h.erase(10 * (n / 4 + static_cast<std::uint64_t>(i)));
  });
  if (at == -1) {
    rng r(test_seed(14));
    at = until_kind(h, wk::rebalance, 4000, [&](long) {
      std::uint64_t x = r.between(0, 10 * n);
      if (r.chance(1, 2)) return h.erase(x);
      return h.store(x, x + r.between(10, 40), val(x));
    });
  }
  ASSERT_GE(at, 0) << "rebalance never counted";
}

TYPED_TEST(WriteKinds, RootCollapseErasingRightToLeft) {
  // A tall tree erased right to left: the height never grows, every drop in
  // height is a counted root collapse, and the tree ends empty.
  for (std::uint64_t gap : {0, 5}) {
    SCOPED_TRACE(gap ? "ranges with gaps" : "contiguous ranges");
    harness<TypeParam> h;
    const std::uint64_t n = this->kSlots == 4 ? 600 : 5000;
    ASSERT_TRUE(h.fill(n, 10, 10 - gap));
    // (5000 ranges make 3 levels of 32-slot nodes: MAPLE_TEST_WIDE.)
    ASSERT_GE(h.t.height(), this->kSlots >= 32 ? 3u : 4u);
    unsigned height = h.t.height();
    int collapses = 0;
    for (std::uint64_t i = n; i-- > 0;) {
      reset_trace();
      ASSERT_TRUE(h.erase(10 * i + 1));
      unsigned now = h.t.height();
      ASSERT_LE(now, height) << "height grew erasing " << i;
      if (now < height && now > 0) {
        EXPECT_GT(trace(wk::root_collapse), 0u)
            << "height " << height << "->" << now << " at " << i << ": " << trace_summary();
        ++collapses;
      }
      if (n - i < 100 || i % 64 == 0 || i < 100 || now != height) {
        ASSERT_TRUE(h.check()) << "after erasing range " << i;
        ASSERT_EQ(h.t.stats().height, now);
      }
      height = now;
      if (h.m.size() == 1) {
        EXPECT_EQ(now, 1u) << "one range left but height " << now;
      }
    }
    EXPECT_GE(collapses, 1);
    EXPECT_TRUE(h.t.empty());
    EXPECT_EQ(h.t.height(), 0u);
    ASSERT_TRUE(h.check_deep());
  }
}

TYPED_TEST(WriteKinds, SpanningStoreShrinksHeight) {
  // Singletons 0, 1, 2, ... until the tree is 3 high, then one store
  // replacing all but the first S/2 of them: the result must lose a level.
  harness<TypeParam> h;
  std::uint64_t n = 0;
  while (h.t.height() < 3) {
    ASSERT_TRUE(h.store(n, n, val(n + 1)));
    ++n;
  }
  const std::uint64_t keep = this->kSlots / 2;
  EXPECT_TRUE(write_counts(
      h, wk::spanning, [&] { return h.store(keep, n - 1, val(424242)); }, "store [S/2, n-1]"))
      << trace_summary();
  EXPECT_LT(h.t.height(), 3u) << "n = " << n;
  ASSERT_TRUE(h.check_deep());
  // Same with a nullptr store (an erase of most of the tree).
  harness<TypeParam> g;
  for (n = 0; g.t.height() < 3; ++n) ASSERT_TRUE(g.store(n, n, val(n + 1)));
  ASSERT_TRUE(g.store(keep, n - 1, nullptr));
  EXPECT_LT(g.t.height(), 3u);
  ASSERT_TRUE(g.check_deep());
}

// ---- spanning stores ------------------------------------------------------------------

TYPED_TEST(WriteKinds, SpanningStoresOfEveryWidth) {
  // One tree of n ranges [10i, 10i+4]; for every width w in 2..64 and a few
  // start positions, store over w consecutive ranges (exact bounds, trimming
  // both neighbours, or from the gap before), check, then put the originals
  // back and check again. Once the consumed ranges cannot fit in one leaf the
  // write must be counted as spanning.
  harness<TypeParam> h;
  const std::uint64_t n = 1500;
  ASSERT_TRUE(h.fill(n, 10, 5));
  const std::uint64_t S = this->kSlots;
  std::uint64_t spanning = 0;
  for (std::uint64_t w = 2; w <= 64; ++w) {
    for (std::uint64_t p :
         {std::uint64_t{0}, std::uint64_t{1}, S - 1, 3 * S + 2, n / 2 + w, n - 64 - 1, n - w}) {
      for (int variant = 0; variant < 4; ++variant) {
        const std::uint64_t first_r = 10 * p, last_r = 10 * (p + w - 1) + 4;
        std::uint64_t f = first_r, l = last_r;
        void *e = val(1000000 + w);
        switch (variant) {
          case 0: break;                             // exactly the w ranges
          case 1: f += 2, l -= 2; break;             // trims the outer two
          case 2: f = p ? f - 3 : f, l += 3; break;  // from / into the gaps
          case 3: e = nullptr, f += 1; break;        // erase most of them
        }
        const std::string what = "w=" + std::to_string(w) + " p=" + std::to_string(p) +
                                 " variant " + std::to_string(variant);
        bool hit = write_counts(
            h, wk::spanning, [&] { return h.store(f, l, e); }, what);
        if (this->HasFailure()) return;
        if (hit) ++spanning;
        if (2 * w - 1 > S && variant != 3) {
          EXPECT_TRUE(hit) << what << ": consumed " << w << " ranges, kinds " << trace_summary();
        }
        // Restore the original ranges.
        reset_trace();
        ASSERT_TRUE(h.store(f, l, nullptr));
        for (std::uint64_t i = (f >= 10 ? f / 10 - 1 : 0); i <= l / 10 + 1 && i < n; ++i)
          ASSERT_TRUE(h.store(10 * i, 10 * i + 4, val(i + 1)));
        ASSERT_TRUE(h.check()) << what << " (restore)";
      }
    }
  }
  EXPECT_GT(spanning, 0u);
  ASSERT_TRUE(h.check_deep());
}

TYPED_TEST(WriteKinds, SpanningStoresAtTheEdgesOfTheIndexSpace) {
  const std::uint64_t n = 40 * this->kSlots;
  // clang-format off
  const std::pair<std::uint64_t, std::uint64_t> stores[] = {
      {0, 10 * (n / 2)}, {0, 10 * (n / 2) + 4}, {0, 10 * (n - 1) + 4}, {0, kMax - 1},
      {10 * (n / 2), kMax}, {10 * (n / 2) + 2, kMax}, {1, kMax}, {3, 10 * (n - 1)},
      {10 * (n - 3), kMax - 1}, {kMax, kMax}, {0, 0}, {kMax - 1, kMax}};
  // clang-format on
  for (void *entry : {val(31337), static_cast<void *>(nullptr)}) {
    for (auto [f, l] : stores) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(n, 10, 5));
      ASSERT_TRUE(h.store(kMax - 1000, kMax - 1, val(5)));  // something near the top too
      // Ranges + gaps consumed: more than a leaf holds means several leaves.
      const std::size_t consumed = h.m.ranges(f, l).size();
      reset_trace();
      ASSERT_TRUE(h.store(f, l, entry)) << hex(f) << "-" << hex(l);
      std::string kinds = trace_summary();
      ASSERT_TRUE(h.check_deep()) << hex(f) << "-" << hex(l) << " " << entry << " kinds " << kinds;
      if (2 * consumed > this->kSlots + 1) {
        EXPECT_GT(trace(wk::spanning), 0u)
            << hex(f) << "-" << hex(l) << " consumed " << consumed << ": " << kinds;
      }
    }
  }
}

// ---- the Oct-2024 spanning-store corruption (reference section 4.3) --------------------

/// Appends [10i, 10i+9-gap] -> val(i+1) for i < count.
template <class Tree>
::testing::AssertionResult append_ranges(harness<Tree> &h, std::uint64_t count, std::uint64_t gap) {
  for (std::uint64_t i = 0; i < count; ++i)
    if (auto r = h.store(10 * i, 10 * i + 9 - gap, val(i + 1)); !r) return r;
  return ::testing::AssertionSuccess();
}

/// How many append_ranges() make a tree of `levels` levels whose root has
/// at least three children (0 if never reached).
template <class Tree>
std::uint64_t appends_for_levels(unsigned levels, std::uint64_t gap) {
  harness<Tree> h;
  for (std::uint64_t i = 0; i < 2000000; ++i) {
    if (!h.store(10 * i, 10 * i + 9 - gap, val(i + 1))) return 0;
    if (h.t.height() > levels) return 0;
    if (h.t.height() == levels) {
      auto shape = shape_of(h.t);
      if (!shape.empty() && shape[0].children.size() >= 3) return i + 1;
    }
  }
  return 0;
}

/// Checks that the parsed shape is plausible: leaves tile [0, max].
inline ::testing::AssertionResult shape_sane(const std::vector<node_info> &shape, unsigned height) {
  auto leaves = leaves_of(shape);
  if (leaves.size() < 2)
    return ::testing::AssertionFailure() << "dump parse found " << leaves.size() << " leaves";
  if (leaves.front().min != 0 || leaves.back().max != kMax)
    return ::testing::AssertionFailure() << "leaves do not span [0, max]";
  for (std::size_t i = 1; i < leaves.size(); ++i)
    if (leaves[i].min != leaves[i - 1].max + 1)
      return ::testing::AssertionFailure() << "leaf " << i << " does not follow leaf " << i - 1;
  if (leaves.front().depth + 1 != height)
    return ::testing::AssertionFailure()
           << "leaf depth " << leaves.front().depth << " vs height " << height;
  return ::testing::AssertionSuccess();
}

TYPED_TEST(WriteKinds, SpanningStoreConsumingTheWholeRightLeaf) {
  // A 3-level tree; under a non-rightmost parent A, B is the second-to-last
  // leaf (last pivot `from`) and C the last (max `to` == A's max). Storing
  // [from, to] starts in B and consumes all of C, ending exactly on A's
  // upper bound, so the walk to `to + 1` leaves A's subtree.
  for (std::uint64_t gap : {0, 3}) {
    for (void *entry : {val(555), static_cast<void *>(nullptr)}) {
      const std::uint64_t count = appends_for_levels<TypeParam>(3, gap);
      ASSERT_GT(count, 0u) << "could not build a 3-level tree";
      harness<TypeParam> proto;
      ASSERT_TRUE(append_ranges(proto, count, gap));
      auto shape = shape_of(proto.t);
      ASSERT_TRUE(shape_sane(shape, 3));
      int scenarios = 0;
      for (const auto &a : shape) {
        if (a.depth != 1 || a.max == kMax || a.children.size() < 2) continue;
        const auto &b = shape[static_cast<std::size_t>(a.children[a.children.size() - 2])];
        const auto &c = shape[static_cast<std::size_t>(a.children.back())];
        ASSERT_EQ(c.max, a.max);
        ASSERT_EQ(b.max + 1, c.min);
        harness<TypeParam> h;
        ASSERT_TRUE(append_ranges(h, count, gap));
        reset_trace();
        ASSERT_TRUE(h.store(b.max, c.max, entry));
        ASSERT_TRUE(h.check_deep())
            << "store [" << b.max << ", " << c.max << "] " << entry << " kinds " << trace_summary();
        ++scenarios;
      }
      EXPECT_GE(scenarios, 2);
    }
  }
}

TYPED_TEST(WriteKinds, SpanningStoresAlignedOnLeafBoundaries) {
  // Every pair of neighbouring leaves (B, C), siblings or cousins, in trees
  // of 3 and 4 levels: stores from B's last pivot / B's min / inside B to
  // C's max / C's min / inside C, each on a fresh tree.
  for (unsigned levels : {3u, 4u}) {
    if (levels == 4 && this->kSlots > 4)
      continue;  // 4 levels of 16 slots: too big to rebuild per store
    const std::uint64_t count = appends_for_levels<TypeParam>(levels, 2);
    ASSERT_GT(count, 0u) << "could not build a " << levels << "-level tree";
    harness<TypeParam> proto;
    ASSERT_TRUE(append_ranges(proto, count, 2));
    auto shape = shape_of(proto.t);
    ASSERT_TRUE(shape_sane(shape, levels));
    auto leaves = leaves_of(shape);
    for (std::size_t i = 0; i + 1 < leaves.size(); ++i) {
      const auto &b = leaves[i], &c = leaves[i + 1];
      const std::uint64_t froms[] = {b.max, b.min, b.max - (b.max - b.min) / 2};
      std::vector<std::uint64_t> tos = {c.max, c.min,
                                        c.min + (c.max == kMax ? 7 : (c.max - c.min) / 2)};
      for (std::uint64_t f : froms) {
        for (std::uint64_t l : tos) {
          for (void *entry : {val(777), static_cast<void *>(nullptr)}) {
            harness<TypeParam> h;
            ASSERT_TRUE(append_ranges(h, count, 2));
            reset_trace();
            ASSERT_TRUE(h.store(f, l, entry));
            ASSERT_TRUE(h.check())
                << "levels " << levels << " leaves " << i << "," << i + 1 << " store [" << f << ", "
                << l << "] " << entry << " kinds " << trace_summary();
          }
        }
      }
    }
  }
}

// ---- the seed case: one store replacing 8 VMA-like neighbours ----------------------------

TYPED_TEST(WriteKinds, OneStoreReplacesEightAdjacentVmas) {
  constexpr std::uint64_t P = 4096, base = std::uint64_t{4} << 30;
  for (int gaps = 0; gaps < 3; ++gaps) {               // between the 8: none, some, all
    for (int outer = 0; outer < 2; ++outer) {          // gap between them and the neighbours
      for (int overlap = 0; overlap < 2; ++overlap) {  // abut vs trim the neighbours
        for (std::uint64_t pre = 0; pre < 3 * this->kSlots; ++pre) {
          harness<TypeParam> h;
          std::uint64_t at = base;
          auto vma = [&](std::uint64_t pages, std::uint64_t gap_pages, std::uint64_t tag) {
            at += gap_pages * P;
            std::uint64_t f = at;
            at += pages * P;
            EXPECT_TRUE(h.store(f, at - 1, val(tag)));
            return maple::range_entry{f, at - 1, val(tag)};
          };
          for (std::uint64_t i = 0; i < pre; ++i) vma(1 + i % 5, i % 3, 10 + i);
          maple::range_entry left = vma(4, 1, 1);
          maple::range_entry eight[8];
          for (int i = 0; i < 8; ++i) {
            const auto u = static_cast<std::uint64_t>(i);
            const std::uint64_t g = gaps == 0 ? 0 : gaps == 2 ? 2 : u % 2;
            eight[i] = vma(1 + u % 3, i == 0 ? static_cast<std::uint64_t>(outer) : g, 100 + u);
          }
          maple::range_entry right = vma(3, static_cast<std::uint64_t>(outer), 2);
          for (std::uint64_t i = 0; i < 20; ++i) vma(2, 1, 1000 + i);
          ASSERT_FALSE(this->HasFailure());
          std::uint64_t f = left.last + 1, l = right.first - 1;
          if (overlap) {
            f = left.last - P + 1;
            l = right.first + P - 1;
          }
          reset_trace();
          ASSERT_TRUE(h.store(f, l, val(4242)));
          std::string kinds = trace_summary();
          ASSERT_TRUE(h.check()) << "pre " << pre << " gaps " << gaps << " outer " << outer
                                 << " overlap " << overlap << " kinds " << kinds;
          EXPECT_EQ(h.t.lookup(f), (maple::range_entry{f, l, val(4242)}));
          maple::range_entry new_left{left.first, overlap ? f - 1 : left.last, left.entry};
          maple::range_entry new_right{overlap ? l + 1 : right.first, right.last, right.entry};
          EXPECT_EQ(h.t.lookup(left.first), new_left);
          EXPECT_EQ(h.t.lookup(right.last), new_right);
          EXPECT_EQ(h.t.find_after(l), new_right);
          EXPECT_EQ(h.t.find_rev(f - 1), new_left);
          // Exactly three ranges between the neighbours' outer edges.
          EXPECT_EQ(std::ranges::distance(h.t.ranges(left.first, right.last)), 3);
          if (this->HasFailure()) return;
        }
      }
    }
  }
}

// ---- in-place leaf writes (no counters needed) -------------------------------------

/// Writes that stay inside one leaf splice it in place in plain mode: moved
/// tails, a leaf growing to full or shrinking from full, empty ranges merging
/// on either side. Every write at every position of trees from one range to
/// a few leaves, on both layouts, checked whole against the model.
template <class Tree>
class InPlaceLeafWrites : public ::testing::Test {};
TYPED_TEST_SUITE(InPlaceLeafWrites, engine_types);

TYPED_TEST(InPlaceLeafWrites, EveryPositionEveryShape) {
  const std::uint64_t S = TypeParam::slots;
  for (std::uint64_t width : {5, 10}) {  // stride 10: a gap after each range, or none
    // (first offset, last offset, stores an entry) relative to range j's start
    const struct {
      std::uint64_t f, l;
      bool entry;
    } writes[] = {{1, 2, true},   {0, 4, true},  {5, 9, true},  {2, 12, true}, {5, 7, false},
                  {3, 11, false}, {0, 24, true}, {0, 9, false}, {3, 3, false}, {9, 10, true}};
    for (std::uint64_t k = 1; k <= 2 * S + 2; ++k) {
      for (std::uint64_t j = 0; j < k; ++j) {
        for (const auto &w : writes) {
          harness<TypeParam> h;
          ASSERT_TRUE(h.fill(k, 10, width));
          const std::uint64_t f = 10 * j + w.f, l = 10 * j + w.l;
          ASSERT_TRUE(h.store(f, l, w.entry ? val(999) : nullptr));
          ASSERT_TRUE(h.check()) << "k " << k << " width " << width << " store " << hex(f) << "-"
                                 << hex(l) << (w.entry ? "" : " (null)");
          ASSERT_TRUE(h.erase(10 * j + 4));
          ASSERT_TRUE(h.check()) << "k " << k << " width " << width << " then erase at "
                                 << hex(10 * j + 4);
        }
      }
    }
  }
}

}  // namespace
}  // namespace maple_test
