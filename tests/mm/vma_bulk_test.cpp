// tests/mm/vma_bulk_test.cpp - 10^6 VMA-like ranges appended in ascending order
// to the shipped 16-slot engine: node count against a derived bound, memory
// per range, and a full in-order iteration.
//
// Bound on the node count (N ranges, S = 16 slots, minimum occupancy of a
// non-root node m = 7 slots / children; only the rightmost node of each
// level may hold fewer, as validate() enforces):
//   * each range uses at most 2 leaf slots (its gap + itself), plus one
//     trailing empty slot:             leaf slots      <= 2N + 1
//   * every leaf but the last holds >= m slots:
//                                      leaves L        <= floor((2N+1)/m) + 1
//   * level k above the leaves holds at most (nodes below)/m + 1 nodes, so
//     all internal nodes together:     internal        <= L/(m-1) + height
//   => nodes <= L * (1 + 1/(m-1)) + height = L * 7/6 + height.
// For N = 10^6 that is about 333,350 nodes, i.e. <= ~85 bytes per range at
// 256 bytes per node (the measured figure is printed).
#include "reference_model.h"
#include "test_env.h"

#include <maple/raw_tree.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <vector>

namespace maple_test {
namespace {

TEST(VmaBulk, MillionAppendedRanges) {
  const std::uint64_t n = scaled(1000000, 1000);
  constexpr std::uint64_t P = 4096;
  rng r(test_seed(6006));

  std::vector<maple::range_entry> want;
  want.reserve(n);
  maple::raw_tree t;
  std::uint64_t at = std::uint64_t{4} << 30;
  auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    at += r.below(17) * P;  // gap of 0..16 pages
    std::uint64_t first = at;
    at += r.between(1, 64) * P;  // 1..64 pages
    void *e = val(i + 1);
    ASSERT_FALSE(t.store(first, at - 1, e)) << "range " << i;
    want.push_back({first, at - 1, e});
  }
  auto t1 = std::chrono::steady_clock::now();

  ASSERT_TRUE(valid(t));
  maple::tree_stats s = t.stats();
  EXPECT_EQ(s.ranges, n);
  EXPECT_EQ(s.height, t.height());

  const double m = 7.0;
  const double leaves_bound = static_cast<double>((2 * n + 1) / 7 + 1);
  const double nodes_bound = leaves_bound * (1.0 + 1.0 / (m - 1.0)) + s.height;
  EXPECT_LE(static_cast<double>(s.leaves), leaves_bound);
  EXPECT_LE(static_cast<double>(s.nodes), nodes_bound);
  EXPECT_LE(s.leaf_slots, 2 * n + 1);
  EXPECT_GE(s.leaf_slots, n + 1);

  // In-order iteration yields exactly the appended ranges.
  std::uint64_t k = 0;
  for (maple::range_entry e : t) {
    ASSERT_LT(k, n);
    ASSERT_EQ(e, want[k]) << "range " << k;
    ++k;
  }
  EXPECT_EQ(k, n);
  // And backwards, a sample of loads.
  k = n;
  for (auto it = t.end(); it != t.begin();) {
    --it;
    ASSERT_EQ(*it, want[--k]);
  }
  for (std::uint64_t i = 0; i < n; i += 997) {
    ASSERT_EQ(t.load(want[i].first), want[i].entry);
    ASSERT_EQ(t.load(want[i].last), want[i].entry);
  }

  const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  std::cout << "[   info   ] " << n << " appended VMA-like ranges: height " << s.height << ", "
            << s.nodes << " nodes (bound " << static_cast<std::uint64_t>(nodes_bound) << "), "
            << s.leaves << " leaves, " << s.leaf_slots << " leaf slots, " << s.bytes
            << " bytes = " << static_cast<double>(s.bytes) / static_cast<double>(n)
            << " bytes/range; build " << ms << " ms\n";
  RecordProperty("nodes", static_cast<int>(s.nodes));
  RecordProperty("bytes_per_range_x100", static_cast<int>(100 * s.bytes / n));
}

}  // namespace
}  // namespace maple_test
