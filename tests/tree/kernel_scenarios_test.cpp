// tests/tree/kernel_scenarios_test.cpp - the core-tree scenarios of the kernel's
// lib/test_maple_tree.c (reference section 9.1), re-designed for this suite:
// fixed insert sets, sequential and reverse-sequential loads, bound splits,
// next/prev across nodes and levels, node overwrites, spanning stores that
// need relatives, minimum-size spanning, and fuzzer-style op sequences.
// Every scenario runs on both geometries and is checked against the
// reference model and validate().
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_types.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace maple_test {
namespace {

using maple::range_entry;

template <class Tree>
class KernelScenarios : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kSlots = Tree::slots;
};
TYPED_TEST_SUITE(KernelScenarios, engine_types);

// ---- insert / load / dup-insert on a fixed set -----------------------------------------

TYPED_TEST(KernelScenarios, FixedInsertSet) {
  const std::uint64_t set[] = {5015, 5014, 5017, 25, 1000, 1001, 1002, 1003, 1005, 0, 5003, 5002};
  harness<TypeParam> h;
  for (std::size_t i = 0; i < std::size(set); ++i) {
    ASSERT_TRUE(h.insert(set[i], set[i], val(set[i])));
    for (std::size_t j = 0; j < std::size(set); ++j)
      EXPECT_EQ(h.t.load(set[j]), j <= i ? val(set[j]) : nullptr)
          << "after inserting " << set[i] << ", load " << set[j];
    for (std::uint64_t x :
         {std::uint64_t{24}, std::uint64_t{26}, std::uint64_t{1004}, std::uint64_t{1006},
          std::uint64_t{5016}, std::uint64_t{5018}, std::uint64_t{1}, kMax})
      EXPECT_EQ(h.t.load(x), nullptr) << x;
    ASSERT_TRUE(h.check());
  }
  for (std::uint64_t x : set) {
    EXPECT_EQ(h.t.insert(x, x, val(1)), maple::errc::exists) << x;
    EXPECT_EQ(h.t.insert(x > 0 ? x - 1 : x, x, val(1)), maple::errc::exists) << x;
  }
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.insert(1004, 1004, val(1004)));  // fills the hole between 1003 and 1005
  EXPECT_EQ(h.t.lookup(1004), (range_entry{1004, 1004, val(1004)}));
  ASSERT_TRUE(h.check_deep());
  for (std::uint64_t x : set) ASSERT_TRUE(h.erase(x));
  ASSERT_TRUE(h.erase(1004));
  EXPECT_TRUE(h.t.empty());
  ASSERT_TRUE(h.check_deep());
}

// ---- sequential / reverse sequential -------------------------------------------------------

TYPED_TEST(KernelScenarios, SequentialInsertLoads) {
  for (std::uint64_t n : {16, 1000}) {
    harness<TypeParam> h;
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(h.insert(i, i, val(i)));
      for (std::uint64_t j = 0; j <= i; ++j)
        ASSERT_EQ(h.t.load(j), val(j)) << "n " << n << " i " << i;
      ASSERT_EQ(h.t.load(i + 1), nullptr);
      ASSERT_TRUE(valid(h.t)) << "n " << n << " i " << i;
    }
    EXPECT_EQ(h.t.lookup(n), (range_entry{n, kMax, nullptr}));
    ASSERT_TRUE(h.check_deep());
  }
}

TYPED_TEST(KernelScenarios, ReverseSequentialInsertLoads) {
  const std::uint64_t n = 1000;
  harness<TypeParam> h;
  for (std::uint64_t i = n; i-- > 0;) {
    ASSERT_TRUE(h.insert(i, i, val(i)));
    for (std::uint64_t j = i; j < n; ++j) ASSERT_EQ(h.t.load(j), val(j)) << "i " << i;
    if (i > 0) {
      ASSERT_EQ(h.t.load(i - 1), nullptr);
      ASSERT_EQ(h.t.lookup(i - 1), (range_entry{0, i - 1, nullptr}));
    }
    ASSERT_TRUE(valid(h.t)) << "i " << i;
  }
  ASSERT_TRUE(h.check_deep());
}

// ---- splits at the lower bound, upper bound and middle ------------------------------------

TYPED_TEST(KernelScenarios, LowerBoundSplits) {
  // Each insert goes into the first slot of the leftmost leaf.
  for (std::uint64_t base = this->kSlots - 3; base <= 2 * this->kSlots + 1; ++base) {
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(base, 2, 1, 10000));
    for (std::uint64_t x = 10000; x-- > 9000;) {
      ASSERT_TRUE(h.insert(x, x, val(x))) << "base " << base;
      if (x % 97 == 0 || x > 9990) {
        ASSERT_TRUE(h.check()) << "base " << base << " x " << x;
      }
    }
    ASSERT_TRUE(h.insert(0, 0, val(0)));
    ASSERT_TRUE(h.check_deep()) << "base " << base;
  }
}

TYPED_TEST(KernelScenarios, UpperBoundSplits) {
  // Each insert goes right after the last entry (and finally at max).
  for (std::uint64_t base = this->kSlots - 3; base <= 2 * this->kSlots + 1; ++base) {
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(base, 2, 1, 100));
    for (std::uint64_t x = 100 + 2 * base; x < 100 + 2 * base + 1000; ++x) {
      ASSERT_TRUE(h.insert(x, x, val(x))) << "base " << base;
      if (x % 97 == 0) {
        ASSERT_TRUE(h.check()) << "base " << base << " x " << x;
      }
    }
    ASSERT_TRUE(h.insert(kMax, kMax, val(1)));
    ASSERT_TRUE(h.insert(kMax - 2, kMax - 1, val(2)));
    ASSERT_TRUE(h.check_deep()) << "base " << base;
  }
}

TYPED_TEST(KernelScenarios, MidSplits) {
  // Ranges at even indices; the odd holes are filled from the middle
  // outwards, so every insert lands in the middle of a full leaf.
  for (std::uint64_t base = this->kSlots - 3; base <= 2 * this->kSlots + 1; ++base) {
    harness<TypeParam> h;
    const std::uint64_t n = base + 400;
    ASSERT_TRUE(h.fill(n, 2, 1));
    const std::uint64_t mid = n / 2;
    for (std::uint64_t d = 0; d < n / 2; ++d) {
      ASSERT_TRUE(h.insert(2 * (mid + d) + 1, 2 * (mid + d) + 1, val(mid + d)));
      if (mid > d + 1) {
        ASSERT_TRUE(h.insert(2 * (mid - d - 1) + 1, 2 * (mid - d - 1) + 1, val(d)));
      }
      if (d % 13 == 0) {
        ASSERT_TRUE(h.check()) << "base " << base << " d " << d;
      }
    }
    ASSERT_TRUE(h.check_deep()) << "base " << base;
  }
}

// ---- next / prev across nodes and levels -----------------------------------------------------

TYPED_TEST(KernelScenarios, NextPrevAcrossNodesAndLevels) {
  harness<TypeParam> h;
  const std::uint64_t n = this->kSlots == 4 ? 400 : 3000;
  ASSERT_TRUE(h.fill(n, 10, 6, 5));  // [5,10], [15,20], ...: gaps at both ends too
  ASSERT_GE(h.t.height(), 3u);
  const auto all = h.m.ranges();

  // Forward with find / find_after, and off the end.
  std::vector<range_entry> fwd;
  for (auto r = h.t.find(0); r; r = h.t.find_after(r->last)) fwd.push_back(*r);
  EXPECT_EQ(fwd, all);
  EXPECT_EQ(h.t.find_after(all.back().last), std::nullopt);
  EXPECT_EQ(h.t.find(all.back().last + 1), std::nullopt);

  // Backward with find_rev, and off the start.
  std::vector<range_entry> bwd;
  for (auto r = h.t.find_rev(kMax); r; r = r->first ? h.t.find_rev(r->first - 1) : std::nullopt)
    bwd.push_back(*r);
  std::reverse(bwd.begin(), bwd.end());
  EXPECT_EQ(bwd, all);
  EXPECT_EQ(h.t.find_rev(all.front().first - 1), std::nullopt);

  // Iterators across every node boundary, both ways.
  ASSERT_TRUE(same_contents(h.t, h.m));
  ASSERT_TRUE(same_contents_backward(h.t, h.m));
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {
    // Window from the last index of one range to the first of the next.
    auto v = h.t.ranges(all[i].last, all[i + 1].first);
    auto it = v.begin();
    ASSERT_TRUE(it != v.end());
    EXPECT_EQ(*it, all[i]);
    ++it;
    ASSERT_TRUE(it != v.end());
    EXPECT_EQ(*it, all[i + 1]);
    ++it;
    EXPECT_TRUE(it == v.end());
    --it;
    EXPECT_EQ(*it, all[i + 1]);
    --it;
    EXPECT_EQ(*it, all[i]);
    EXPECT_TRUE(it == v.begin());
    // A window inside the gap is empty.
    auto g = h.t.ranges(all[i].last + 1, all[i + 1].first - 1);
    EXPECT_TRUE(g.begin() == g.end());
    // find / find_rev from inside the gap.
    EXPECT_EQ(h.t.find(all[i].last + 1), all[i + 1]);
    EXPECT_EQ(h.t.find_rev(all[i + 1].first - 1), all[i]);
    if (this->HasFailure()) return;
  }
  // Off both ends of bounded views.
  auto before = h.t.ranges(0, all.front().first - 1);
  EXPECT_TRUE(before.begin() == before.end());
  auto after = h.t.ranges(all.back().last + 1, kMax);
  EXPECT_TRUE(after.begin() == after.end());
  auto last = std::ranges::prev(h.t.end());
  EXPECT_EQ(*last, all.back());
  EXPECT_TRUE(std::ranges::next(last) == h.t.end());
}

// ---- overwriting many nodes ------------------------------------------------------------------

TYPED_TEST(KernelScenarios, NodeOverwrite) {
  // 4000 ranges [100i, 100i+50]; then nullptr and entry stores over
  // hundreds of them (from a gap, from inside a range, to a range's end,
  // into a gap), cumulatively on one tree.
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(4000, 100, 51));
  struct op {
    std::uint64_t first, last;
    bool null;
  };
  const op ops[] = {
      {1600 * 100 + 51, 2250 * 100 + 50, true},   // gap start .. range end
      {100 * 100 + 25, 900 * 100 + 25, true},     // mid range .. mid range
      {3000 * 100, 3499 * 100 + 99, true},        // range start .. gap end
      {2500 * 100 + 60, 2999 * 100 + 40, false},  // gap .. mid range, with an entry
      {1 * 100, 99 * 100 + 50, false},            // exactly ranges 1..99
      {3999 * 100 + 51, kMax, true},              // the trailing null
      {0, 3 * 100 + 50, true},                    // from index 0
      {1000 * 100, 3000 * 100 + 51, true},        // across earlier holes
  };
  for (const op &o : ops) {
    ASSERT_TRUE(h.store(o.first, o.last, o.null ? nullptr : val(o.first)));
    ASSERT_TRUE(h.check()) << "after [" << o.first << ", " << o.last << "]";
  }
  ASSERT_TRUE(h.check_deep());
}

// ---- spanning stores that need relatives -------------------------------------------------------

TYPED_TEST(KernelScenarios, SpanningRelatives) {
  // 1001 ranges [10i, 10i+5]; nullptr stores from a range's end into later
  // ranges, mostly near the right edge, where rebalancing must borrow from
  // a right cousin or has none.
  const std::uint64_t n = 1001;
  const std::pair<std::uint64_t, std::uint64_t> spans[] = {
      {936, 995}, {940, 1000}, {900, 999},  {990, 1000}, {700, 759}, {500, 517}, {0, 59},
      {1, 33},    {960, 961},  {985, 1000}, {999, 1000}, {850, 930}, {10, 990}};
  for (auto [k, m] : spans) {
    for (int variant = 0; variant < 3; ++variant) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(n, 10, 6));
      std::uint64_t f = 10 * k + 5, l = 10 * m + 5;
      if (variant == 1) f = 10 * k + 7;  // from inside the gap
      if (variant == 2) l = 10 * m + 2;  // ending inside a range
      ASSERT_TRUE(h.store(f, l, nullptr));
      ASSERT_TRUE(h.check()) << "null over [" << f << ", " << l << "]";
      ASSERT_TRUE(h.store(f, l, val(1)));
      ASSERT_TRUE(h.check()) << "entry over [" << f << ", " << l << "]";
    }
  }
}

TYPED_TEST(KernelScenarios, MinimumSpanning) {
  // 51 ranges [10i, 10i+5]; every nullptr store [10a, 10b+9] (a < b) on a
  // fresh tree, and an entry store over the same ranges.
  for (std::uint64_t a = 0; a < 51; ++a) {
    for (std::uint64_t b = a + 1; b <= 50; ++b) {
      harness<TypeParam> h;
      ASSERT_TRUE(h.fill(51, 10, 6));
      ASSERT_TRUE(h.store(10 * a, 10 * b + 9, nullptr));
      ASSERT_TRUE(h.check()) << "null over [" << 10 * a << ", " << 10 * b + 9 << "]";
      if ((a + b) % 3 == 0) {
        ASSERT_TRUE(h.store(10 * a + 3, 10 * b + 1, val(2)));
        ASSERT_TRUE(h.check()) << "entry over [" << 10 * a + 3 << ", " << 10 * b + 1 << "]";
      }
    }
  }
}

// ---- fuzzer-style scenarios -------------------------------------------------------------

/// A tiny replayable op language: each op is applied to tree and model and
/// followed by a full check.
enum class op_kind { fill, store, snull, erase, insert };
struct op {
  op_kind kind;
  std::uint64_t a, b;                          // store/snull/insert: [a, b]; erase: a
  std::uint64_t n = 0, stride = 0, width = 0;  // fill: n ranges of width at a + i*stride
};

template <class Tree>
void replay(const std::vector<op> &ops, const std::string &name) {
  SCOPED_TRACE(name);
  harness<Tree> h;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const op &o = ops[i];
    ::testing::AssertionResult r = ::testing::AssertionSuccess();
    switch (o.kind) {
      case op_kind::fill: r = h.fill(o.n, o.stride, o.width, o.a, 1000 * (i + 1)); break;
      case op_kind::store: r = h.store(o.a, o.b, val(o.a ^ i)); break;
      case op_kind::snull: r = h.store(o.a, o.b, nullptr); break;
      case op_kind::erase: r = h.erase(o.a); break;
      case op_kind::insert: r = h.insert(o.a, o.b, val(o.b ^ i)); break;
    }
    ASSERT_TRUE(r) << "op " << i;
    ASSERT_TRUE(h.check_deep()) << "after op " << i << " [" << o.a << ", " << o.b << "]";
  }
}

op fill(std::uint64_t base, std::uint64_t n, std::uint64_t stride, std::uint64_t width) {
  return {op_kind::fill, base, 0, n, stride, width};
}
op st(std::uint64_t a, std::uint64_t b) { return {op_kind::store, a, b}; }
op sn(std::uint64_t a, std::uint64_t b) { return {op_kind::snull, a, b}; }
op er(std::uint64_t a) { return {op_kind::erase, a, a}; }
op in(std::uint64_t a, std::uint64_t b) { return {op_kind::insert, a, b}; }

TYPED_TEST(KernelScenarios, FuzzerSpanningRebalanceOfASingleRootNode) {
  const std::uint64_t S = this->kSlots;
  // A root with a few leaves; stores consume the whole right side.
  replay<TypeParam>({fill(0, 2 * S, 10, 5), st(10 * (S / 2) + 2, kMax), st(3, 10 * S), sn(1, kMax),
                     fill(100, S, 3, 2), sn(90, 150), st(0, 0), sn(1, kMax)},
                    "consume right side");
  // Every start position, entry and nullptr.
  for (std::uint64_t x = 0; x < 20 * S; x += 3) {
    replay<TypeParam>({fill(0, 2 * S + 1, 10, 5), st(x, kMax)}, "entry from " + std::to_string(x));
    replay<TypeParam>({fill(0, 2 * S + 1, 10, 5), sn(x, kMax), st(0, 1)},
                      "null from " + std::to_string(x));
    if (this->HasFailure()) return;
  }
}

TYPED_TEST(KernelScenarios, FuzzerSpanningRebalanceOfTwoNodesInRoot) {
  // The smallest 2-level tree (the first append that splits the root leaf),
  // then every store whose range covers parts of both leaves.
  std::uint64_t count = 0;
  {
    harness<TypeParam> h;
    while (h.t.height() < 2) {
      ASSERT_TRUE(h.store(10 * count, 10 * count + 5, val(count)));
      ++count;
    }
  }
  for (std::uint64_t a = 0; a < count; ++a) {
    for (std::uint64_t b = a; b < count; ++b) {
      for (int v = 0; v < 3; ++v) {
        std::uint64_t f = 10 * a + (v == 1 ? 7 : 0), l = 10 * b + (v == 2 ? 9 : 5);
        if (f > l) continue;
        harness<TypeParam> h;
        ASSERT_TRUE(h.fill(count, 10, 6));
        ASSERT_TRUE(h.store(f, l, v == 0 ? nullptr : val(3)));
        ASSERT_TRUE(h.check_deep()) << "count " << count << " [" << f << ", " << l << "] v" << v;
      }
    }
  }
}

TYPED_TEST(KernelScenarios, FuzzerStoreToTheEndOfData) {
  const std::uint64_t S = this->kSlots;
  for (std::uint64_t n : {S, 2 * S, 5 * S, 30 * S}) {
    const std::uint64_t end = 10 * (n - 1) + 5;  // last index of the last range
    for (std::uint64_t k = 1; k <= std::min<std::uint64_t>(n, 3 * S); ++k) {
      const std::uint64_t from = 10 * (n - k);
      replay<TypeParam>({fill(0, n, 10, 6), st(from + 2, end)}, "to end, n=" + std::to_string(n));
      replay<TypeParam>({fill(0, n, 10, 6), st(from, end + 1)}, "past end, n=" + std::to_string(n));
      replay<TypeParam>({fill(0, n, 10, 6), sn(from + 3, end), st(end + 1, kMax)},
                        "null to end then tail, n=" + std::to_string(n));
      replay<TypeParam>({fill(0, n, 10, 6), st(end + 1, kMax), sn(from, kMax - 1), er(kMax)},
                        "tail entry, n=" + std::to_string(n));
      if (this->HasFailure()) return;
    }
  }
}

TYPED_TEST(KernelScenarios, FuzzerExtendingNullOverNodeEnds) {
  // Ranges with gaps; every single range erased (its null joins the gaps on
  // both sides, across whatever node boundary is there), and pairs of
  // neighbours erased in both orders.
  const std::uint64_t n = this->kSlots == 4 ? 120 : 400;
  for (std::uint64_t i = 0; i < n; ++i) {
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(n, 10, 5, 3));
    ASSERT_TRUE(h.erase(10 * i + 3));
    ASSERT_TRUE(h.check()) << "erase " << i;
    if (i + 1 < n) {
      ASSERT_TRUE(h.erase(10 * (i + 1) + 3));
      ASSERT_TRUE(h.check()) << "erase " << i << " then " << i + 1;
    }
    ASSERT_TRUE(h.store(10 * i + 8, 10 * i + 12, nullptr));  // null over null: no change
    ASSERT_TRUE(h.check()) << "null over gap " << i;
    if (i > 0) {
      ASSERT_TRUE(h.store(10 * i - 2, 10 * i + 12, nullptr));
      ASSERT_TRUE(h.check()) << "null over gaps " << i;
    }
  }
  for (std::uint64_t i = n; i-- > 1;) {
    harness<TypeParam> h;
    ASSERT_TRUE(h.fill(n, 10, 5, 3));
    ASSERT_TRUE(h.erase(10 * i + 3));
    ASSERT_TRUE(h.erase(10 * (i - 1) + 3));
    ASSERT_TRUE(h.check()) << "erase " << i << " then " << i - 1;
  }
}

TYPED_TEST(KernelScenarios, FuzzerShrinkingAReusedNode) {
  // A node rewritten with much less data must not keep stale slots: wide
  // stores over full leaves, then reads of everything.
  const std::uint64_t S = this->kSlots;
  for (std::uint64_t k = 2; k <= 3 * S; ++k) {
    replay<TypeParam>({fill(0, 4 * S, 4, 3), st(4, 4 * k + 1), st(2, 3), sn(5, 4 * k), in(5, 6)},
                      "shrink k=" + std::to_string(k));
    replay<TypeParam>({fill(0, 4 * S, 4, 4), sn(1, 4 * k + 2), st(0, 4 * k + 3), er(7)},
                      "shrink contiguous k=" + std::to_string(k));
    if (this->HasFailure()) return;
  }
}

TYPED_TEST(KernelScenarios, FuzzerRecordedSequences) {
  // Hand-written VMA-style op sequences (page addresses), in the spirit of
  // the kernel's recorded STORE / SNULL / ERASE sets.
  constexpr std::uint64_t P = 0x1000, B = 0x7f0000000000;
  replay<TypeParam>(
      {fill(B, 60, 3 * P, 2 * P), st(B + 5 * P, B + 40 * P - 1), sn(B + 41 * P, B + 90 * P - 1),
       st(B + 2 * P, B + 6 * P - 1), er(B + 100 * P), in(B + 2 * P - P, B + 2 * P - 1),
       st(B + 60 * P, B + 200 * P - 1), sn(B, B + 61 * P - 1), st(B + 180 * P, kMax)},
      "mmap churn");
  replay<TypeParam>({fill(0x555500000000, 40, 0x21000, 0x20000), fill(B, 40, 4 * P, 4 * P),
                     sn(0x555500000000 + 0x21000 * 10, B + 20 * 4 * P - 1),
                     st(0x555500000000, 0x555500000000 + P - 1), er(B + 30 * 4 * P),
                     st(B + 30 * 4 * P, B + 39 * 4 * P + P), sn(0, 0x555500000000 - 1),
                     st(0, P - 1), sn(P, kMax)},
                    "heap and libs");
  replay<TypeParam>(
      {fill(P, 200, 2 * P, P), sn(50 * P, 51 * P - 1), sn(49 * P, 52 * P - 1), er(53 * P),
       er(47 * P), st(46 * P, 55 * P - 1), sn(2 * P, 398 * P), st(3 * P, 3 * P)},
      "holes merging");
}

}  // namespace
}  // namespace maple_test
