// tests/engine/read_paths_test.cpp - the read side's two forms of each node
// step (scalar, and AVX2 on CPUs that have it: the library picks one at run
// time, so each test compares both directly), the iterator across leaves and
// parents, and one-shot RCU reads' sections.
#include "reference_model.h"
#include "test_env.h"

#include "engine/gap.h"
#include "engine/node.h"
#include "engine/pivot_scan.h"
#include "engine/walk.h"
#include "tree/tree_access.h"

#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace maple_test {
namespace {

using maple::detail::node;
using maple::detail::word;

#if MAPLE_PIVOT_AVX2
#define SKIP_WITHOUT_AVX2() \
  if (!maple::detail::cpu_has_avx2) GTEST_SKIP() << "no AVX2 on this CPU"
#else
#define SKIP_WITHOUT_AVX2() GTEST_SKIP() << "AVX2 forms not compiled here"
#endif

/// A node-shaped block of pivots: ascending up to `end`, pivot[end] = max
/// when the node is not full, zeros after (as node.h lays them out).
template <unsigned P>
std::vector<std::uint64_t> random_pivots(std::mt19937_64 &rng, unsigned end, std::uint64_t &max) {
  std::vector<std::uint64_t> p(P + 1, 0);  // one spare word: the loads stay inside
  std::uint64_t at = rng() % 1000;
  for (unsigned i = 0; i < end && i < P; ++i) {
    at += 1 + rng() % (i % 3 == 0 ? 1000000 : 5);
    p[i] = at;
  }
  max = at + 1 + rng() % 1000;
  if (end < P) p[end] = max;
  return p;
}

template <unsigned P>
void check_pivot_forms() {
#if MAPLE_PIVOT_AVX2
  std::mt19937_64 rng(test_seed(41));
  for (int round = 0; round < 20000; ++round) {
    const unsigned end = static_cast<unsigned>(rng() % (P + 1));
    std::uint64_t max = 0;
    auto p = random_pivots<P>(rng, end, max);
    std::uint64_t probes[] = {0,
                              1,
                              p[0],
                              p[0] + 1,
                              max,
                              max - 1,
                              rng() % (max + 1),
                              end > 0 ? p[end - 1] : 0,
                              end > 0 ? p[end - 1] + 1 : 0};
    for (std::uint64_t index : probes) {
      if (index > max) continue;
      ASSERT_EQ(maple::detail::pivots_below_scan<P>(p.data(), index),
                maple::detail::pivots_below_avx2<P>(p.data(), index))
          << "end " << end << " index " << index;
    }
  }
#endif
}

TEST(PivotScan, Avx2FormMatchesTheScanOnEveryWidth) {
  SKIP_WITHOUT_AVX2();
  check_pivot_forms<15>();
  check_pivot_forms<31>();
  check_pivot_forms<5>();
  check_pivot_forms<4>();
}

TEST(PivotScan, UnsignedOrderAcrossTheSignBit) {
  SKIP_WITHOUT_AVX2();
#if MAPLE_PIVOT_AVX2
  // Pivots above 2^63 compare as unsigned, not as negative numbers.
  std::uint64_t p[16] = {};
  const std::uint64_t high = std::uint64_t{1} << 63;
  for (unsigned i = 0; i < 15; ++i) p[i] = high - 7 + 3 * i;
  for (unsigned i = 0; i < 15; ++i) {
    EXPECT_EQ(maple::detail::pivots_below_avx2<15>(p, p[i]), i);
    EXPECT_EQ(maple::detail::pivots_below_avx2<15>(p, p[i] + 1), i + 1);
  }
  EXPECT_EQ(maple::detail::pivots_below_avx2<15>(p, maple::max_index), 15u);
#endif
}

/// A tree of `n` ranges with holes; also the model of its contents.
void fill(maple::raw_tree &t, reference_model &m, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uint64_t at = 1 + rng() % 50;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t last = at + rng() % 40;
    void *v = reinterpret_cast<void *>((i + 1) << 3);
    ASSERT_FALSE(t.store(at, last, v));
    m.store(at, last, v);
    at = last + 1 + (rng() % 4 == 0 ? 0 : 1 + rng() % 30);
  }
}

template <class Tree>
void check_walk_forms(const Tree &t, std::uint64_t span) {
#if MAPLE_PIVOT_AVX2
  using Wk = maple::detail::walker<16>;
  const auto &core = maple::detail::tree_access::core(t);
  const word root = maple::detail::engine<16>::root(core);
  ASSERT_TRUE(maple::detail::is_node_word(root));
  std::mt19937_64 rng(test_seed(43));
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t index = i < 8 ? std::uint64_t(i) : rng() % span;
    ASSERT_EQ(Wk::load_with<Wk::scalar_rank>(root, index), Wk::load_avx2(root, index)) << index;
    Wk::leaf_pos a, b;
    Wk::descend_with<Wk::scalar_rank>(root, index, a);
    Wk::descend_avx2(root, index, b);
    ASSERT_EQ(a.leaf, b.leaf) << index;
    ASSERT_EQ(a.off, b.off) << index;
    ASSERT_EQ(a.min, b.min);
    ASSERT_EQ(a.max, b.max);
    ASSERT_EQ(a.end, b.end);
    ASSERT_EQ(a.entry(), t.load(index));
  }
  ASSERT_EQ(Wk::load_avx2(root, maple::max_index), t.load(maple::max_index));
#else
  (void)t;
  (void)span;
#endif
}

TEST(ReadForms, LoadAndDescendAgreeOnPlainAndAllocationTrees) {
  SKIP_WITHOUT_AVX2();
  for (auto flags : {maple::tree_flags::none, maple::tree_flags::alloc}) {
    maple::raw_tree t(flags);
    reference_model m;
    fill(t, m, 5000, test_seed(42));
    ASSERT_GE(t.height(), 3u);
    check_walk_forms(t, 5000 * 60);
  }
}

// ---- gap search masks --------------------------------------------------------

using G = maple::detail::gap_search<16>;
using N16 = node<16>;

TEST(GapMasks, GapFitMaskMatchesTheRecords) {
  SKIP_WITHOUT_AVX2();
#if MAPLE_PIVOT_AVX2
  std::mt19937_64 rng(test_seed(44));
  N16 n;
  std::memset(&n, 0, sizeof n);
  for (int round = 0; round < 20000; ++round) {
    for (unsigned i = 0; i < N16::A; ++i)
      n.set_gap(i, rng() % 4 == 0 ? rng() : rng() % 64 + (rng() % 2 ? std::uint64_t{1} << 63 : 0));
    const std::uint64_t size = rng() % 3 == 0 ? rng() : rng() % 64;
    std::uint64_t want = 0;
    for (unsigned i = 0; i < N16::A; ++i) want |= std::uint64_t{n.gap(i) >= size} << i;
    ASSERT_EQ(G::gap_fit_mask_avx2(&n, size), want);
  }
#endif
}

TEST(GapMasks, LeafCandidatesAreTheEmptySlotsThatCanFit) {
  SKIP_WITHOUT_AVX2();
#if MAPLE_PIVOT_AVX2
  std::mt19937_64 rng(test_seed(45));
  N16 n;
  for (int round = 0; round < 20000; ++round) {
    std::memset(&n, 0, sizeof n);
    const unsigned end = 1 + static_cast<unsigned>(rng() % 15);
    std::uint64_t max = 0;
    auto p = random_pivots<15>(rng, end, max);
    std::copy(p.begin(), p.begin() + 15, n.pivot);
    for (unsigned i = 0; i <= end; ++i) n.slot[i] = rng() % 2 ? 0 : word{0x1000} * (i + 1);
    const std::uint64_t size = 1 + rng() % 8;
    std::uint64_t want = 0;
    for (unsigned i = 0; i <= end; ++i) {
      const bool wide = i == 0 || i == end || n.pivot[i] - n.pivot[i - 1] >= size;
      want |= std::uint64_t{n.slot[i] == 0 && wide} << i;
    }
    ASSERT_EQ(G::leaf_candidates_avx2(&n, end, size), want) << "end " << end;
  }
#endif
}

// ---- iteration -----------------------------------------------------------------

TEST(Iteration, CrossesLeavesAndParentsInOrderWithinBounds) {
  maple::raw_tree t;
  reference_model m;
  fill(t, m, 20000, test_seed(46));
  ASSERT_GE(t.height(), 4u);  // leaves under several parents and grandparents
  std::vector<maple::range_entry> all(m.map().size());
  std::size_t k = 0;
  for (const auto &[first, r] : m.map()) all[k++] = {first, r.last, r.entry};
  std::mt19937_64 rng(test_seed(47));
  for (int round = 0; round < 200; ++round) {
    std::uint64_t lo = round == 0 ? 0 : rng() % (all.back().last + 10);
    std::uint64_t hi = round == 0 ? maple::max_index : lo + rng() % 20000;
    std::vector<maple::range_entry> want;
    for (const auto &r : all)
      if (r.last >= lo && r.first <= hi) want.push_back(r);
    std::size_t i = 0;
    auto view = t.ranges(lo, hi);
    auto it = view.begin();
    for (; it != view.end(); ++it, ++i) {
      ASSERT_LT(i, want.size());
      ASSERT_EQ((*it).first, want[i].first);
      ASSERT_EQ((*it).last, want[i].last);
      ASSERT_EQ((*it).entry, want[i].entry);
    }
    ASSERT_EQ(i, want.size()) << "[" << lo << ", " << hi << "]";
    ++it;  // stays at the end
    ASSERT_TRUE(it == view.end());
  }
}

// ---- one-shot RCU reads ----------------------------------------------------------

TEST(OneShotRcuRead, RegistersTheThreadAndLeavesNoSectionOpen) {
  maple::raw_tree t{maple::tree_flags::rcu};
  reference_model m;
  fill(t, m, 2000, test_seed(48));
  const std::uint64_t probe = m.map().begin()->first;
  const std::size_t before = maple::rcu::stats().registered_threads;
  std::thread reader([&] {
    EXPECT_EQ(t.load(probe), m.map().begin()->second.entry);
    EXPECT_EQ(maple::rcu::stats().registered_threads, before + 1);
    EXPECT_FALSE(maple::rcu::in_read_section());
    maple::rcu::synchronize();  // would wait forever on a section left open
  });
  reader.join();
  maple::rcu::synchronize();
}

TEST(OneShotRcuRead, NestsInsideAGuard) {
  maple::raw_tree t{maple::tree_flags::rcu};
  reference_model m;
  fill(t, m, 2000, test_seed(49));
  {
    maple::rcu::read_guard g;
    for (const auto &[first, r] : m.map()) ASSERT_EQ(t.load(first), r.entry);
    EXPECT_TRUE(maple::rcu::in_read_section());
  }
  EXPECT_FALSE(maple::rcu::in_read_section());
  maple::rcu::synchronize();  // the guard's section and the loads' are all closed
}

}  // namespace
}  // namespace maple_test
