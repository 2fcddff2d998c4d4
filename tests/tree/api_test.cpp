// tests/tree/api_test.cpp - unit tests of every public function of the raw
// engines (both geometries) and of the typed facade maple::tree<T>.
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_types.h"

#include <maple/maple.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <memory_resource>
#include <new>
#include <ranges>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

namespace maple_test {
namespace {

using maple::range_entry;

struct alignas(8) obj_for_concepts {
  int x;
};

template <class Tree>
class RawApi : public ::testing::Test {};
TYPED_TEST_SUITE(RawApi, engine_types);

// ---- empty tree -------------------------------------------------------------

TYPED_TEST(RawApi, EmptyTreeReadsAsNullEverywhere) {
  TypeParam t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.height(), 0u);
  for (std::uint64_t i :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{12345}, kMax - 1, kMax}) {
    EXPECT_EQ(t.load(i), nullptr);
    EXPECT_EQ(t.lookup(i), (range_entry{0, kMax, nullptr}));
    EXPECT_FALSE(t.find(i).has_value());
    EXPECT_FALSE(t.find_after(i).has_value());
    EXPECT_FALSE(t.find_rev(i).has_value());
  }
  EXPECT_TRUE(t.begin() == t.end());
  auto v = t.ranges(5, 10);
  EXPECT_TRUE(v.begin() == v.end());
  maple::tree_stats s = t.stats();
  EXPECT_EQ(s.height, 0u);
  EXPECT_EQ(s.nodes, 0u);
  EXPECT_EQ(s.leaves, 0u);
  EXPECT_EQ(s.ranges, 0u);
  EXPECT_TRUE(valid(t));
}

// ---- store / load / lookup ----------------------------------------------------

TYPED_TEST(RawApi, StoreThenLoadAndLookup) {
  TypeParam t;
  void *e = val(7);
  ASSERT_FALSE(t.store(10, 19, e));
  EXPECT_FALSE(t.empty());
  EXPECT_EQ(t.load(9), nullptr);
  for (std::uint64_t i = 10; i <= 19; ++i) EXPECT_EQ(t.load(i), e) << i;
  EXPECT_EQ(t.load(20), nullptr);
  EXPECT_EQ(t.lookup(0), (range_entry{0, 9, nullptr}));
  EXPECT_EQ(t.lookup(9), (range_entry{0, 9, nullptr}));
  EXPECT_EQ(t.lookup(15), (range_entry{10, 19, e}));
  EXPECT_EQ(t.lookup(20), (range_entry{20, kMax, nullptr}));
  EXPECT_EQ(t.lookup(kMax), (range_entry{20, kMax, nullptr}));
  EXPECT_TRUE(valid(t));
}

TYPED_TEST(RawApi, SingleIndexOverloads) {
  TypeParam t;
  ASSERT_FALSE(t.store(5, val(5)));
  EXPECT_EQ(t.lookup(5), (range_entry{5, 5, val(5)}));
  ASSERT_FALSE(t.insert(6, val(6)));
  EXPECT_EQ(t.lookup(6), (range_entry{6, 6, val(6)}));
  EXPECT_EQ(t.insert(5, val(9)), maple::errc::exists);
  EXPECT_EQ(t.load(5), val(5));
  ASSERT_FALSE(t.store(5, nullptr));
  EXPECT_EQ(t.load(5), nullptr);
  EXPECT_EQ(t.lookup(5), (range_entry{0, 5, nullptr}));
  EXPECT_TRUE(valid(t));
}

TYPED_TEST(RawApi, StoreOverwritesAndTrimsOverlaps) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.store(10, 29, val(1)));
  ASSERT_TRUE(h.store(20, 39, val(2)));  // trims the right end of [10,29]
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.t.lookup(19), (range_entry{10, 19, val(1)}));
  EXPECT_EQ(h.t.lookup(20), (range_entry{20, 39, val(2)}));
  ASSERT_TRUE(h.store(15, 24, val(3)));  // straddles both
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.t.lookup(14), (range_entry{10, 14, val(1)}));
  EXPECT_EQ(h.t.lookup(15), (range_entry{15, 24, val(3)}));
  EXPECT_EQ(h.t.lookup(25), (range_entry{25, 39, val(2)}));
  ASSERT_TRUE(h.store(30, 30, val(4)));  // splits [25,39] in three
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.t.lookup(29), (range_entry{25, 29, val(2)}));
  EXPECT_EQ(h.t.lookup(31), (range_entry{31, 39, val(2)}));
  ASSERT_TRUE(h.store(5, 50, val(5)));  // swallows everything
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.m.size(), 1u);
  ASSERT_TRUE(h.store(13, 30, nullptr));  // a hole in the middle
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.t.lookup(20), (range_entry{13, 30, nullptr}));
}

TYPED_TEST(RawApi, AdjacentEqualEntriesAreNotMerged) {
  TypeParam t;
  ASSERT_FALSE(t.store(0, 9, val(1)));
  ASSERT_FALSE(t.store(10, 19, val(1)));
  EXPECT_EQ(t.lookup(5), (range_entry{0, 9, val(1)}));
  EXPECT_EQ(t.lookup(15), (range_entry{10, 19, val(1)}));
  EXPECT_EQ(std::ranges::distance(t.ranges()), 2);
  EXPECT_TRUE(valid(t));
}

TYPED_TEST(RawApi, EmptyRangesCoalesce) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(5, 10, 10, 100));  // [100,109] .. [140,149], no gaps
  ASSERT_TRUE(h.store(120, 129, nullptr));
  EXPECT_EQ(h.t.lookup(125), (range_entry{120, 129, nullptr}));
  ASSERT_TRUE(h.erase(115));
  EXPECT_EQ(h.t.lookup(125), (range_entry{110, 129, nullptr}));
  ASSERT_TRUE(h.erase(130));
  EXPECT_EQ(h.t.lookup(110), (range_entry{110, 139, nullptr}));
  ASSERT_TRUE(h.erase(100));
  EXPECT_EQ(h.t.lookup(0), (range_entry{0, 139, nullptr}));
  ASSERT_TRUE(h.erase(149));
  EXPECT_TRUE(h.t.empty());
  EXPECT_EQ(h.t.lookup(1234), (range_entry{0, kMax, nullptr}));
  ASSERT_TRUE(h.check_deep());
}

// ---- insert ---------------------------------------------------------------------

TYPED_TEST(RawApi, InsertSucceedsOnlyIntoEmptyRanges) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.insert(100, 199, val(1)));
  ASSERT_TRUE(h.insert(200, 200, val(2)));  // adjacent right
  ASSERT_TRUE(h.insert(99, 99, val(3)));    // adjacent left
  for (auto [f, l] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {50, 99}, {50, 100}, {150, 160}, {199, 250}, {0, kMax}, {200, 200}, {98, 100}}) {
    EXPECT_EQ(h.t.insert(f, l, val(9)), maple::errc::exists) << f << "-" << l;
    ASSERT_TRUE(h.check_deep());
  }
  ASSERT_TRUE(h.insert(0, 98, val(4)));
  ASSERT_TRUE(h.insert(201, kMax, val(5)));
  EXPECT_EQ(h.t.insert(kMax, kMax, val(6)), maple::errc::exists);
  ASSERT_TRUE(h.check_deep());
}

// ---- erase ----------------------------------------------------------------------

TYPED_TEST(RawApi, EraseRemovesTheWholeRange) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(50, 10, 5, 1000));  // [1000,1004], [1010,1014], ...
  EXPECT_EQ(maple_test::erased(h.t, 1012), val(2));
  h.m.erase(1012);
  EXPECT_EQ(h.t.load(1010), nullptr);
  EXPECT_EQ(h.t.load(1014), nullptr);
  EXPECT_EQ(h.t.lookup(1012), (range_entry{1005, 1019, nullptr}));
  EXPECT_EQ(maple_test::erased(h.t, 1007), nullptr);  // nothing there
  EXPECT_EQ(maple_test::erased(h.t, 0), nullptr);
  EXPECT_EQ(maple_test::erased(h.t, kMax), nullptr);
  ASSERT_TRUE(h.check_deep());
  for (std::uint64_t i = 0; i < 50; i += 3) ASSERT_TRUE(h.erase(1000 + i * 10 + 4));
  ASSERT_TRUE(h.check_deep());
}

// ---- argument errors ----------------------------------------------------------

TYPED_TEST(RawApi, InvalidArgumentsChangeNothing) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(40, 10, 5));
  void *reserved[] = {reinterpret_cast<void *>(2), reinterpret_cast<void *>(6),
                      reinterpret_cast<void *>(1026), reinterpret_cast<void *>(4094)};
  for (void *r : reserved) {
    ASSERT_TRUE(maple::is_reserved_entry(r));
    EXPECT_EQ(h.t.store(3, 27, r), maple::errc::invalid_argument) << r;
    EXPECT_EQ(h.t.store(1000, 1000, r), maple::errc::invalid_argument) << r;
    EXPECT_EQ(h.t.insert(1000, 2000, r), maple::errc::invalid_argument) << r;
    ASSERT_TRUE(h.check_deep());
  }
  EXPECT_EQ(h.t.store(20, 19, val(1)), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.store(kMax, 0, val(1)), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.store(20, 19, nullptr), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.insert(2000, 1999, val(1)), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.insert(1000, 2000, nullptr), maple::errc::invalid_argument);
  EXPECT_EQ(h.t.insert(3, 3, nullptr), maple::errc::invalid_argument);
  ASSERT_TRUE(h.check_deep());

  // Also on an empty tree and a root-entry tree.
  TypeParam e;
  EXPECT_EQ(e.store(0, 0, reinterpret_cast<void *>(2)), maple::errc::invalid_argument);
  EXPECT_EQ(e.insert(0, 0, nullptr), maple::errc::invalid_argument);
  EXPECT_TRUE(e.empty());
  ASSERT_FALSE(e.store(0, 0, val(1)));
  EXPECT_EQ(e.store(1, 0, val(2)), maple::errc::invalid_argument);
  EXPECT_EQ(e.insert(0, 5, val(2)), maple::errc::exists);
  EXPECT_EQ(e.lookup(0), (range_entry{0, 0, val(1)}));
  EXPECT_EQ(e.lookup(1), (range_entry{1, kMax, nullptr}));
  EXPECT_TRUE(valid(e));
}

TYPED_TEST(RawApi, NonReservedWordsAreStorable) {
  // Words below 4096 with low bits != 0b10, and words >= 4096 with any low
  // bits, are ordinary entries.
  std::vector<void *> words = {reinterpret_cast<void *>(1),    reinterpret_cast<void *>(3),
                               reinterpret_cast<void *>(4),    reinterpret_cast<void *>(4092),
                               reinterpret_cast<void *>(4095), reinterpret_cast<void *>(4096),
                               reinterpret_cast<void *>(4098), reinterpret_cast<void *>(0x10002)};
  for (void *w : words) {
    ASSERT_FALSE(maple::is_reserved_entry(w));
    TypeParam root_only;  // [0,0] only: kept in the root word when it can be
    ASSERT_FALSE(root_only.store(0, 0, w)) << w;
    EXPECT_EQ(root_only.load(0), w);
    EXPECT_EQ(root_only.load(1), nullptr);
    EXPECT_EQ(root_only.lookup(0), (range_entry{0, 0, w}));
    EXPECT_TRUE(valid(root_only)) << w;
    EXPECT_EQ(std::ranges::distance(root_only.ranges()), 1);
  }
  harness<TypeParam> h;
  for (std::size_t i = 0; i < words.size(); ++i) ASSERT_TRUE(h.store(i * 10, i * 10 + 3, words[i]));
  ASSERT_TRUE(h.check_deep());
}

// ---- edge indices ----------------------------------------------------------------

TYPED_TEST(RawApi, OnlyZeroIsKeptInTheRootWord) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.store(0, 0, val(1)));
  EXPECT_EQ(h.t.height(), 0u);
  EXPECT_EQ(h.t.stats().nodes, 0u);
  EXPECT_EQ(h.t.stats().ranges, 1u);
  EXPECT_FALSE(h.t.empty());
  EXPECT_EQ(h.t.lookup(0), (range_entry{0, 0, val(1)}));
  EXPECT_EQ(h.t.lookup(1), (range_entry{1, kMax, nullptr}));
  EXPECT_EQ(h.t.find(0), (range_entry{0, 0, val(1)}));
  EXPECT_EQ(h.t.find(1), std::nullopt);
  EXPECT_EQ(h.t.find_rev(kMax), (range_entry{0, 0, val(1)}));
  EXPECT_EQ(h.t.find_after(0), std::nullopt);
  EXPECT_EQ(*std::ranges::prev(h.t.end()), (range_entry{0, 0, val(1)}));
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.store(0, 0, val(2)));  // replace in the root word
  EXPECT_EQ(h.t.height(), 0u);
  ASSERT_TRUE(h.check_deep());
  std::ostringstream os;
  h.t.dump(os);
  EXPECT_FALSE(os.str().empty());
  ASSERT_TRUE(h.erase(0));
  EXPECT_TRUE(h.t.empty());
  EXPECT_EQ(h.t.height(), 0u);
  ASSERT_TRUE(h.check_deep());
}

TYPED_TEST(RawApi, IndexMaxAndZero) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.store(kMax, kMax, val(1)));
  EXPECT_EQ(h.t.load(kMax), val(1));
  EXPECT_EQ(h.t.load(kMax - 1), nullptr);
  EXPECT_EQ(h.t.lookup(kMax - 1), (range_entry{0, kMax - 1, nullptr}));
  EXPECT_EQ(h.t.find(kMax), (range_entry{kMax, kMax, val(1)}));
  EXPECT_EQ(h.t.find(0), (range_entry{kMax, kMax, val(1)}));
  EXPECT_EQ(h.t.find_after(kMax), std::nullopt);
  EXPECT_EQ(h.t.find_after(kMax - 1), (range_entry{kMax, kMax, val(1)}));
  EXPECT_EQ(h.t.find_rev(kMax, kMax), (range_entry{kMax, kMax, val(1)}));
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.store(0, 0, val(2)));
  EXPECT_EQ(h.t.find_rev(kMax - 1), (range_entry{0, 0, val(2)}));
  EXPECT_EQ(h.t.find_after(0), (range_entry{kMax, kMax, val(1)}));
  EXPECT_EQ(h.t.lookup(12345), (range_entry{1, kMax - 1, nullptr}));
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.t.insert(kMax - 5, kMax, val(3)), maple::errc::exists);
  ASSERT_TRUE(h.insert(kMax - 5, kMax - 1, val(3)));
  ASSERT_TRUE(h.insert(1, 1, val(4)));
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.erase(kMax));
  ASSERT_TRUE(h.erase(0));
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.store(kMax - 100, kMax, nullptr));
  ASSERT_TRUE(h.store(0, 10, nullptr));
  EXPECT_TRUE(h.t.empty());
  ASSERT_TRUE(h.check_deep());
}

TYPED_TEST(RawApi, FullRangeStore) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(300, 7, 3, 11));
  ASSERT_TRUE(h.store(0, kMax, val(42)));
  EXPECT_EQ(h.t.lookup(0), (range_entry{0, kMax, val(42)}));
  EXPECT_EQ(h.t.lookup(kMax), (range_entry{0, kMax, val(42)}));
  EXPECT_EQ(h.t.find(777), (range_entry{0, kMax, val(42)}));
  EXPECT_EQ(h.t.find_after(kMax), std::nullopt);
  EXPECT_EQ(h.t.find_rev(0), (range_entry{0, kMax, val(42)}));
  EXPECT_LE(h.t.height(), 1u);
  ASSERT_TRUE(h.check_deep());
  EXPECT_EQ(h.t.insert(5, 5, val(1)), maple::errc::exists);
  EXPECT_EQ(maple_test::erased(h.t, 999), val(42));
  h.m.erase(999);
  EXPECT_TRUE(h.t.empty());
  EXPECT_EQ(h.t.height(), 0u);
  ASSERT_TRUE(h.check_deep());
  ASSERT_TRUE(h.store(0, kMax, val(43)));  // into an empty tree
  ASSERT_TRUE(h.store(0, kMax, nullptr));
  EXPECT_TRUE(h.t.empty());
  ASSERT_TRUE(h.check_deep());
}

// ---- find / find_after / find_rev ---------------------------------------------------

TYPED_TEST(RawApi, FindFamilyHonoursLimits) {
  TypeParam t;
  ASSERT_FALSE(t.store(10, 19, val(1)));
  ASSERT_FALSE(t.store(30, 39, val(2)));
  const range_entry a{10, 19, val(1)}, b{30, 39, val(2)};
  EXPECT_EQ(t.find(0), a);
  EXPECT_EQ(t.find(0, 9), std::nullopt);
  EXPECT_EQ(t.find(0, 10), a);
  EXPECT_EQ(t.find(15), a);
  EXPECT_EQ(t.find(19, 19), a);
  EXPECT_EQ(t.find(20), b);
  EXPECT_EQ(t.find(20, 29), std::nullopt);
  EXPECT_EQ(t.find(20, 30), b);
  EXPECT_EQ(t.find(40), std::nullopt);
  EXPECT_EQ(t.find(15, 12), std::nullopt);  // empty window: index > max

  EXPECT_EQ(t.find_after(0), a);
  EXPECT_EQ(t.find_after(9), a);
  EXPECT_EQ(t.find_after(9, 9), std::nullopt);
  EXPECT_EQ(t.find_after(19), b);
  EXPECT_EQ(t.find_after(20, 29), std::nullopt);
  EXPECT_EQ(t.find_after(20, 30), b);
  EXPECT_EQ(t.find_after(39), std::nullopt);
  EXPECT_EQ(t.find_after(kMax), std::nullopt);

  EXPECT_EQ(t.find_rev(kMax), b);
  EXPECT_EQ(t.find_rev(35), b);
  EXPECT_EQ(t.find_rev(30, 30), b);
  EXPECT_EQ(t.find_rev(29), a);
  EXPECT_EQ(t.find_rev(25, 20), std::nullopt);
  EXPECT_EQ(t.find_rev(25, 19), a);
  EXPECT_EQ(t.find_rev(9), std::nullopt);
  EXPECT_EQ(t.find_rev(10), a);
  EXPECT_EQ(t.find_rev(12, 15), std::nullopt);  // empty window: min > index
}

TYPED_TEST(RawApi, FindAfterSkipsTheRangeHoldingIndex) {
  // raw_tree.h: find_after continues after the whole range (stored or
  // empty) holding index, i.e. it returns the first stored range lying
  // wholly after index: a range that holds index (and goes on past it) is
  // not returned.
  TypeParam t;
  ASSERT_FALSE(t.store(10, 19, val(1)));
  ASSERT_FALSE(t.store(30, 39, val(2)));
  const range_entry b{30, 39, val(2)};
  EXPECT_EQ(t.find_after(10), b) << "[10,19] holds 10";
  EXPECT_EQ(t.find_after(15), b) << "[10,19] holds 15";
  EXPECT_EQ(t.find_after(18), b) << "[10,19] holds 18";
  EXPECT_EQ(t.find_after(30), std::nullopt) << "[30,39] holds 30";
  TypeParam full;
  ASSERT_FALSE(full.store(0, kMax, val(3)));
  EXPECT_EQ(full.find_after(0), std::nullopt) << "[0,max] holds 0";
  EXPECT_EQ(full.find_after(kMax - 1), std::nullopt) << "[0,max] holds max-1";
}

// ---- iteration ------------------------------------------------------------------------

TYPED_TEST(RawApi, IterationForwardAndBackward) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(200, 10, 4, 5));  // [5,8], [15,18], ...
  std::vector<range_entry> fwd;
  for (range_entry r : h.t) fwd.push_back(r);
  EXPECT_EQ(fwd, h.m.ranges());

  std::vector<range_entry> bwd;
  for (range_entry r : std::ranges::reverse_view(h.t.ranges())) bwd.push_back(r);
  std::reverse(bwd.begin(), bwd.end());
  EXPECT_EQ(bwd, fwd);

  EXPECT_EQ(*std::ranges::prev(h.t.end()), fwd.back());
  EXPECT_EQ(*h.t.begin(), fwd.front());
  EXPECT_EQ(std::ranges::distance(h.t.ranges()), 200);
  EXPECT_EQ(std::ranges::distance(h.t.begin(), h.t.end()), 200);

  auto all = h.t.ranges();
  auto it = std::ranges::find_if(all, [](range_entry r) { return r.first == 1005; });
  ASSERT_TRUE(it != h.t.end());
  EXPECT_EQ(*it, (range_entry{1005, 1008, val(101)}));
  auto none = std::ranges::find_if(all, [](range_entry r) { return r.first == 1006; });
  EXPECT_TRUE(none == h.t.end());

  // Post-increment / post-decrement.
  auto p = h.t.begin();
  auto old = p++;
  EXPECT_EQ(*old, fwd[0]);
  EXPECT_EQ(*p, fwd[1]);
  old = p--;
  EXPECT_EQ(*old, fwd[1]);
  EXPECT_EQ(*p, fwd[0]);
  EXPECT_TRUE(p == h.t.begin());

  // Walk off the end, then back.
  auto q = std::ranges::prev(h.t.end());
  ++q;
  EXPECT_TRUE(q == h.t.end());
  --q;
  EXPECT_EQ(*q, fwd.back());
}

TYPED_TEST(RawApi, IteratorConcepts) {
  using it = typename TypeParam::iterator;
  static_assert(std::bidirectional_iterator<it>);
  static_assert(std::ranges::bidirectional_range<typename TypeParam::range_view>);
  static_assert(std::bidirectional_iterator<typename maple::tree<obj_for_concepts *>::iterator>);
  // The legacy algorithms (std::prev, std::advance with n < 0, std::reverse_iterator)
  // dispatch on iterator_traits<>::iterator_category: with input_iterator_tag
  // std::prev(end()) takes the input-iterator path of std::advance, which
  // only steps forward, so it never reaches the previous range (undefined
  // behaviour). The C++20 forms (std::ranges::prev, reverse_view) work.
  EXPECT_TRUE((std::is_base_of_v<std::bidirectional_iterator_tag,
                                 typename std::iterator_traits<it>::iterator_category>))
      << "std::prev(t.end()) does not work: iterator_category is only input_iterator_tag";
}

TYPED_TEST(RawApi, BoundedRangesReportWholeRanges) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(100, 10, 5));  // [0,4], [10,14], ...
  auto collect = [&](std::uint64_t lo, std::uint64_t hi) {
    std::vector<range_entry> v;
    for (range_entry r : h.t.ranges(lo, hi)) v.push_back(r);
    return v;
  };
  auto collect_rev = [&](std::uint64_t lo, std::uint64_t hi) {
    std::vector<range_entry> v;
    for (range_entry r : std::ranges::reverse_view(h.t.ranges(lo, hi))) v.push_back(r);
    std::reverse(v.begin(), v.end());
    return v;
  };
  const std::pair<std::uint64_t, std::uint64_t> windows[] = {
      {12, 32},    {15, 19},   {15, 20},    {0, 0},    {4, 10},    {5, 9},
      {990, kMax}, {994, 994}, {995, kMax}, {0, kMax}, {333, 333}, {337, 337}};
  for (auto [lo, hi] : windows) {
    EXPECT_EQ(collect(lo, hi), h.m.ranges(lo, hi)) << lo << "-" << hi;
    EXPECT_EQ(collect_rev(lo, hi), h.m.ranges(lo, hi)) << lo << "-" << hi;
  }
  EXPECT_EQ(collect(12, 32).front(), (range_entry{10, 14, val(2)}));
}

// ---- clear ------------------------------------------------------------------------

TYPED_TEST(RawApi, ClearEmptiesAndTheTreeIsReusable) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(1000, 3, 2));
  EXPECT_GT(h.t.height(), 1u);
  h.t.clear();
  h.m.clear();
  EXPECT_TRUE(h.t.empty());
  EXPECT_EQ(h.t.height(), 0u);
  EXPECT_EQ(h.t.stats().nodes, 0u);
  ASSERT_TRUE(h.check_deep());
  h.t.clear();  // clearing an empty tree is fine
  ASSERT_TRUE(h.fill(100, 3, 2, 7));
  ASSERT_TRUE(h.check_deep());
}

// ---- inspection ----------------------------------------------------------------------

TYPED_TEST(RawApi, DumpAndDotProduceOutput) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(100, 10, 5));
  std::ostringstream hexs, decs, dot;
  h.t.dump(hexs);
  h.t.dump(decs, maple::dump_format::dec);
  h.t.dump_dot(dot);
  EXPECT_NE(hexs.str().find("maple_tree"), std::string::npos) << hexs.str();
  EXPECT_NE(hexs.str().find("height"), std::string::npos) << hexs.str();
  EXPECT_NE(hexs.str().find(": node "), std::string::npos) << hexs.str();
  EXPECT_NE(decs.str().find(": node "), std::string::npos) << decs.str();
  EXPECT_NE(decs.str().find("990"), std::string::npos);  // a pivot in decimal
  EXPECT_EQ(dot.str().rfind("digraph", 0), 0u) << dot.str().substr(0, 80);
  EXPECT_NE(dot.str().find('}'), std::string::npos);
  TypeParam e;
  std::ostringstream empty_dump, empty_dot;
  e.dump(empty_dump);
  e.dump_dot(empty_dot);
  EXPECT_NE(empty_dump.str().find("maple_tree"), std::string::npos);
  EXPECT_EQ(empty_dot.str().rfind("digraph", 0), 0u);
}

TYPED_TEST(RawApi, StatsArePlausible) {
  harness<TypeParam> h;
  ASSERT_TRUE(h.fill(5000, 10, 5));
  for (std::uint64_t i = 0; i < 5000; i += 7) ASSERT_TRUE(h.erase(i * 10));
  maple::tree_stats s = h.t.stats();
  EXPECT_EQ(s.height, h.t.height());
  EXPECT_EQ(s.ranges, static_cast<std::size_t>(std::ranges::distance(h.t.ranges())));
  EXPECT_EQ(s.ranges, h.m.size());
  EXPECT_GE(s.leaf_slots, s.ranges);
  EXPECT_GE(s.nodes, s.leaves);
  EXPECT_GT(s.leaves, 1u);
  EXPECT_GE(s.bytes, s.nodes * sizeof(void *) * TypeParam::slots);
  // Leaves hold at most `slots` slots each.
  EXPECT_LE(s.leaf_slots, s.leaves * TypeParam::slots);
  EXPECT_GE(s.height, 2u);
  ASSERT_TRUE(h.check());
}

// ---- memory resource ---------------------------------------------------------------

/// Counts outstanding allocations; can be told to fail (throw bad_alloc)
/// once `budget` more allocations have succeeded.
class counting_resource : public std::pmr::memory_resource {
 public:
  std::size_t outstanding = 0, bytes = 0, allocations = 0;
  long budget = -1;  // < 0: unlimited

 private:
  void *do_allocate(std::size_t n, std::size_t align) override {
    if (budget == 0) throw std::bad_alloc();
    if (budget > 0) --budget;
    ++outstanding;
    ++allocations;
    bytes += n;
    return std::pmr::new_delete_resource()->allocate(n, align);
  }
  void do_deallocate(void *p, std::size_t n, std::size_t align) override {
    --outstanding;
    bytes -= n;
    std::pmr::new_delete_resource()->deallocate(p, n, align);
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
};

TYPED_TEST(RawApi, NodesComeFromTheGivenResourceAndAreReturned) {
  counting_resource mr;
  {
    TypeParam t(&mr);
    for (std::uint64_t i = 0; i < 2000; ++i) ASSERT_FALSE(t.store(i * 4, i * 4 + 2, val(i + 1)));
    EXPECT_GT(mr.allocations, 0u);
    EXPECT_GT(mr.outstanding, 0u);
    EXPECT_GE(mr.bytes, t.stats().nodes * sizeof(void *) * TypeParam::slots);
    for (std::uint64_t i = 0; i < 2000; i += 2) ASSERT_FALSE(t.erase(i * 4));
    EXPECT_TRUE(valid(t));
  }
  EXPECT_EQ(mr.outstanding, 0u);
  EXPECT_EQ(mr.bytes, 0u);
}

TYPED_TEST(RawApi, OutOfMemoryLeavesTheTreeUnchanged) {
  // For every allocation budget from 0 up, run one write that needs nodes
  // (a split-heavy insert, a spanning store, a full-tree build step): it
  // either succeeds completely or fails with no_memory and changes nothing.
  for (int scenario = 0; scenario < 4; ++scenario) {
    SCOPED_TRACE(scenario);
    for (long budget = 0;; ++budget) {
      counting_resource mr;
      reference_model m;
      TypeParam t(&mr);
      for (std::uint64_t i = 0; i < 300; ++i) {
        ASSERT_FALSE(t.store(i * 10, i * 10 + 4, val(i + 1)));
        m.store(i * 10, i * 10 + 4, val(i + 1));
      }
      std::uint64_t f = 0, l = 0;
      switch (scenario) {
        case 0: f = l = 1502; break;        // split one range: leaf grows
        case 1: f = 1503, l = 2222; break;  // spanning store
        case 2: f = 0, l = 2994; break;     // spanning from index 0
        case 3: f = 1234, l = kMax; break;  // spanning to the end
      }
      mr.budget = budget;
      std::error_code ec = t.store(f, l, val(999));
      mr.budget = -1;
      if (ec) {
        ASSERT_EQ(ec, maple::errc::no_memory) << "budget " << budget;
        ASSERT_TRUE(consistent(t, m)) << "budget " << budget;
      } else {
        m.store(f, l, val(999));
        ASSERT_TRUE(consistent(t, m)) << "budget " << budget;
        break;
      }
      ASSERT_LT(budget, 1000) << "store never succeeded";
    }
  }
}

TYPED_TEST(RawApi, EraseOutOfMemoryLeavesTheTreeUnchanged) {
  // erase() may need a node to merge the freed range with its neighbours;
  // without memory it either succeeds anyway (in place) or reports
  // no_memory and erases nothing (never throws).
  static_assert(noexcept(std::declval<TypeParam &>().erase(0)));
  counting_resource mr;
  reference_model m;
  TypeParam t(&mr);
  for (std::uint64_t i = 0; i < 500; ++i) {
    ASSERT_FALSE(t.store(i * 10, i * 10 + 9, val(i + 1)));
    m.store(i * 10, i * 10 + 9, val(i + 1));
  }
  mr.budget = 0;
  std::size_t ok = 0, refused = 0;
  for (std::uint64_t pass = 0; pass < 3; ++pass) {
    for (std::uint64_t i = pass; i < 500; i += 3) {
      void *got = val(9999);  // overwritten either way
      std::error_code ec = t.erase(i * 10 + 3, &got);
      if (ec) {
        ASSERT_EQ(ec, maple::errc::no_memory);
        EXPECT_EQ(got, nullptr);
        ++refused;
      } else {
        ASSERT_EQ(got, m.erase(i * 10 + 3)) << i;
        ++ok;
      }
      ASSERT_TRUE(consistent(t, m)) << "after erasing " << i << (ec ? " (refused)" : "");
    }
  }
  EXPECT_GT(ok, 0u) << "erases that need no node (exact fit) must work without memory";
  // Without an out-parameter: the same error, nothing erased.
  for (std::uint64_t i = 0; i < 500; ++i) {
    if (!m.load(i * 10)) continue;
    if (std::error_code ec = t.erase(i * 10))
      ASSERT_EQ(ec, maple::errc::no_memory);
    else
      m.erase(i * 10);
    ASSERT_TRUE(consistent(t, m)) << "after erasing " << i;
  }
  mr.budget = -1;
  for (std::uint64_t i = 0; i < 500; ++i) {
    void *got = nullptr;
    ASSERT_FALSE(t.erase(i * 10 + 5, &got));
    ASSERT_EQ(got, m.erase(i * 10 + 5));
  }
  EXPECT_TRUE(t.empty());
  ASSERT_TRUE(consistent(t, m));
  std::cout << "[   info   ] without memory: " << ok << " erases done in place, " << refused
            << " refused\n";
}

// ---- locking -------------------------------------------------------------------------

TYPED_TEST(RawApi, ConcurrentWritersSerialise) {
  TypeParam t;
  constexpr int kThreads = 4;
  constexpr std::uint64_t kPer = 3000;
  std::vector<std::thread> th;
  for (int w = 0; w < kThreads; ++w) {
    th.emplace_back([&t, w] {
      // Interleaved indices so the writers contend for the same leaves.
      for (std::uint64_t i = 0; i < kPer; ++i) {
        std::uint64_t idx = (i * kThreads + static_cast<std::uint64_t>(w)) * 4;
        (void)t.store(idx, idx + 2, val(idx + 1));
        if (i % 5 == 4) (void)t.erase(idx - 20 * kThreads);
      }
    });
  }
  for (auto &x : th) x.join();
  reference_model m;
  for (int w = 0; w < kThreads; ++w)
    for (std::uint64_t i = 0; i < kPer; ++i) {
      std::uint64_t idx = (i * kThreads + static_cast<std::uint64_t>(w)) * 4;
      m.store(idx, idx + 2, val(idx + 1));
      if (i % 5 == 4) m.erase(idx - 20 * kThreads);
    }
  EXPECT_TRUE(consistent(t, m));
}

// ---- typed facade --------------------------------------------------------------------

struct alignas(8) obj {
  int id;
};

TEST(TypedTree, PointerEntries) {
  maple::tree<obj *> t;
  obj a{1}, b{2}, c{3};
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.load(5), nullptr);
  ASSERT_FALSE(t.store(0x1000, 0x1fff, &a));
  ASSERT_FALSE(t.store(0x3000, &b));
  ASSERT_FALSE(t.insert(0x4000, 0x4fff, &c));
  EXPECT_EQ(t.insert(0x4800, 0x5fff, &a), maple::errc::exists);
  EXPECT_EQ(t.insert(0x5000, 0x5fff, nullptr), maple::errc::invalid_argument);
  EXPECT_EQ(t.store(9, 8, &a), maple::errc::invalid_argument);
  EXPECT_EQ(t.load(0x1800), &a);
  EXPECT_EQ(t.load(0x3000), &b);
  EXPECT_EQ(t.load(0x3001), nullptr);
  EXPECT_EQ(t.load(0x4fff), &c);

  auto f = t.find(0x2000);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (maple::typed_range<obj *>{0x3000, 0x3000, &b}));
  EXPECT_EQ(t.find(0x2000, 0x2fff), std::nullopt);
  EXPECT_EQ(t.find_after(0x1fff)->value, &b);
  EXPECT_EQ(t.find_after(0x4fff), std::nullopt);
  EXPECT_EQ(t.find_rev(0x2fff)->value, &a);
  EXPECT_EQ(t.find_rev(0xfff), std::nullopt);

  std::vector<int> ids;
  for (auto [first, last, v] : t.ranges(0x1800, 0x4000)) {
    EXPECT_LE(first, last);
    ids.push_back(v->id);
  }
  EXPECT_EQ(ids, (std::vector<int>{1, 2, 3}));
  ids.clear();
  for (auto r : std::ranges::reverse_view(t.ranges())) ids.push_back(r.value->id);
  EXPECT_EQ(ids, (std::vector<int>{3, 2, 1}));
  EXPECT_EQ((*std::ranges::prev(t.end())).value, &c);
  EXPECT_EQ(std::ranges::distance(t.ranges()), 3);
  auto view = t.ranges();
  auto it = std::ranges::find_if(view, [](const auto &r) { return r.value->id == 2; });
  ASSERT_TRUE(it != t.end());
  EXPECT_EQ((*it).first, 0x3000u);

  ASSERT_FALSE(t.erase_range(0x1400, 0x17ff));  // a hole inside [0x1000, 0x1fff]
  EXPECT_EQ(t.load(0x13ff), &a);
  EXPECT_EQ(t.load(0x1400), nullptr);
  EXPECT_EQ(t.load(0x1800), &a);
  obj *gone = nullptr;
  EXPECT_FALSE(t.erase(0x1900, &gone));
  EXPECT_EQ(gone, &a);
  EXPECT_EQ(t.load(0x1800), nullptr);
  EXPECT_EQ(t.load(0x1000), &a);  // the left piece is its own range
  EXPECT_FALSE(t.erase(0x7777, &gone));
  EXPECT_EQ(gone, nullptr);
  EXPECT_TRUE(t.validate());
  EXPECT_EQ(t.stats().ranges, 3u);
  EXPECT_EQ(t.height(), t.raw().height());
  std::ostringstream os, dot;
  t.dump(os);
  t.dump_dot(dot);
  EXPECT_FALSE(os.str().empty());
  EXPECT_EQ(dot.str().rfind("digraph", 0), 0u);
  t.clear();
  EXPECT_TRUE(t.empty());
}

TEST(TypedTree, ConstPointerEntries) {
  maple::tree<const obj *> t;
  const obj a{7};
  ASSERT_FALSE(t.store(1, 2, &a));
  EXPECT_EQ(t.load(2), &a);
  EXPECT_EQ(t.find(0)->value->id, 7);
}

TEST(TypedTree, UnsignedValueEntries) {
  maple::tree<unsigned long> t;
  EXPECT_EQ(t.load(0), std::nullopt);
  ASSERT_FALSE(t.store(10, 20, 0ul));  // zero is a value, not "empty"
  EXPECT_EQ(t.load(15), std::optional<unsigned long>(0));
  EXPECT_EQ(t.load(21), std::nullopt);
  ASSERT_FALSE(t.store(30, 40, static_cast<unsigned long>(maple::max_value_entry)));
  EXPECT_EQ(t.load(30), std::optional<unsigned long>(maple::max_value_entry));
  EXPECT_EQ(t.insert(35, 36, 5ul), maple::errc::exists);
  ASSERT_FALSE(t.insert(41, 41, 5ul));
  EXPECT_EQ(t.find(21)->value, maple::max_value_entry);
  EXPECT_EQ(t.find_rev(29)->value, 0u);
  std::optional<unsigned long> was;
  EXPECT_FALSE(t.erase(12, &was));
  EXPECT_EQ(was, std::optional<unsigned long>(0));
  EXPECT_FALSE(t.erase(12, &was));
  EXPECT_EQ(was, std::nullopt);
  std::vector<unsigned long> vals;
  for (auto [first, last, v] : t) vals.push_back(v);
  EXPECT_EQ(vals, (std::vector<unsigned long>{maple::max_value_entry, 5}));
  EXPECT_TRUE(t.validate());
}

TEST(TypedTree, ValuesAboveTheValueEntryLimitAreRejected) {
  maple::tree<unsigned long long> t;
  ASSERT_FALSE(t.store(0, 9, 1ull));
  const unsigned long long too_big[] = {maple::max_value_entry + 1, ~0ull, 1ull << 63 | 5};
  for (auto v : too_big) {
    EXPECT_EQ(t.store(0, 100, v), maple::errc::invalid_argument) << v;
    EXPECT_EQ(t.store(50, v), maple::errc::invalid_argument) << v;
    EXPECT_EQ(t.insert(50, 60, v), maple::errc::invalid_argument) << v;
    EXPECT_EQ(t.insert(50, v), maple::errc::invalid_argument) << v;
  }
  EXPECT_EQ(t.load(5), std::optional<unsigned long long>(1));
  EXPECT_EQ(t.load(50), std::nullopt);
  EXPECT_EQ(std::ranges::distance(t.ranges()), 1);
  EXPECT_TRUE(t.validate());

  maple::tree<std::uint8_t> small;
  ASSERT_FALSE(small.store(3, 4, std::uint8_t{255}));
  EXPECT_EQ(small.load(4), std::optional<std::uint8_t>(255));
}

TEST(TypedTree, RawAccessSharesTheEngine) {
  maple::tree<unsigned> t;
  ASSERT_FALSE(t.store(5, 6, 9u));
  EXPECT_EQ(t.raw().load(5), maple::make_value_entry(9));
  ASSERT_FALSE(t.raw().store(7, 7, maple::make_value_entry(10)));
  EXPECT_EQ(t.load(7), std::optional<unsigned>(10));
  const auto &ct = t;
  EXPECT_EQ(ct.raw().lookup(6), (range_entry{5, 6, maple::make_value_entry(9)}));
}

TEST(TypedTree, NodesComeFromTheGivenResource) {
  counting_resource mr;
  {
    maple::tree<unsigned> t(&mr);
    for (unsigned i = 0; i < 1000; ++i) ASSERT_FALSE(t.store(i * 3, i * 3 + 1, i));
    EXPECT_GT(mr.outstanding, 0u);
    EXPECT_TRUE(t.validate());
  }
  EXPECT_EQ(mr.outstanding, 0u);
}

// ---- entry words -------------------------------------------------------------------

TEST(Entries, ValueEntriesAndReservedWords) {
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2047},
                          std::uint64_t{1} << 40, maple::max_value_entry}) {
    void *e = maple::make_value_entry(v);
    EXPECT_TRUE(maple::is_value_entry(e)) << v;
    EXPECT_FALSE(maple::is_reserved_entry(e)) << v;
    EXPECT_NE(e, nullptr);
    EXPECT_EQ(maple::value_of_entry(e), v);
  }
  obj o{1};
  EXPECT_FALSE(maple::is_value_entry(&o));
  EXPECT_FALSE(maple::is_reserved_entry(&o));
  EXPECT_FALSE(maple::is_reserved_entry(nullptr));
  for (std::uintptr_t w = 2; w < 4096; w += 4)
    EXPECT_TRUE(maple::is_reserved_entry(reinterpret_cast<void *>(w))) << w;
  for (std::uintptr_t w :
       {std::uintptr_t{4}, std::uintptr_t{8}, std::uintptr_t{4097}, std::uintptr_t{4098}})
    EXPECT_FALSE(maple::is_reserved_entry(reinterpret_cast<void *>(w))) << w;
}

// ---- error codes -------------------------------------------------------------------

TEST(ErrorCodes, MapleCategoryAndStdEquivalents) {
  std::error_code ok;
  EXPECT_FALSE(ok);
  std::error_code inval = maple::errc::invalid_argument;
  std::error_code exists = maple::errc::exists;
  std::error_code nomem = maple::make_error_code(maple::errc::no_memory);
  std::error_code busy = maple::errc::busy;
  EXPECT_TRUE(inval);
  EXPECT_EQ(std::string(inval.category().name()), "maple");
  EXPECT_EQ(&inval.category(), &maple::error_category());
  EXPECT_EQ(inval.value(), 1);
  EXPECT_EQ(exists.value(), 2);
  EXPECT_EQ(nomem.value(), 3);
  EXPECT_EQ(busy.value(), 4);
  EXPECT_EQ(inval, maple::errc::invalid_argument);
  EXPECT_NE(inval, maple::errc::exists);
  EXPECT_TRUE(inval == std::errc::invalid_argument);
  EXPECT_TRUE(exists == std::errc::file_exists);
  EXPECT_TRUE(nomem == std::errc::not_enough_memory);
  EXPECT_TRUE(busy == std::errc::device_or_resource_busy);
  EXPECT_FALSE(exists == std::errc::invalid_argument);
  EXPECT_FALSE(inval == std::errc::file_exists);
  for (auto e : {inval, exists, nomem, busy}) EXPECT_FALSE(e.message().empty());
  EXPECT_NE(inval.message(), exists.message());

  maple::raw_tree t;
  std::error_code got = t.store(2, 1, val(1));
  EXPECT_EQ(got, maple::errc::invalid_argument);
  EXPECT_TRUE(got == std::errc::invalid_argument);
  ASSERT_FALSE(t.store(1, 2, val(1)));
  got = t.insert(2, 3, val(2));
  EXPECT_EQ(got, maple::errc::exists);
  EXPECT_TRUE(got == std::errc::file_exists);
}

}  // namespace
}  // namespace maple_test

namespace maple_test {
namespace {

template <class Tree>
class BulkLoadInput : public ::testing::Test {
 protected:
  Tree t;
};
TYPED_TEST_SUITE(BulkLoadInput, engine_types);

// nullptr ranges obey the same order and overlap rules as stored ones (an
// outside check found them accepted out of order and overlapping, while a
// nullptr range with first > last was refused).
TYPED_TEST(BulkLoadInput, NullRangesFollowTheSameRules) {
  using R = maple::range_entry;
  const R out_of_order[] = {{10, 19, val(1)}, {5, 6, nullptr}, {30, 39, val(2)}};
  EXPECT_EQ(this->t.bulk_load(out_of_order), maple::errc::invalid_argument);
  const R overlapping[] = {{10, 19, val(1)}, {15, 25, nullptr}, {30, 39, val(2)}};
  EXPECT_EQ(this->t.bulk_load(overlapping), maple::errc::invalid_argument);
  const R null_then_overlap[] = {{0, 9, nullptr}, {5, 19, val(1)}};
  EXPECT_EQ(this->t.bulk_load(null_then_overlap), maple::errc::invalid_argument);
  const R reversed[] = {{10, 19, val(1)}, {29, 20, nullptr}};
  EXPECT_EQ(this->t.bulk_load(reversed), maple::errc::invalid_argument);
  EXPECT_TRUE(this->t.empty());  // unchanged by every refusal
  const R fine[] = {{0, 9, nullptr}, {10, 19, val(1)}, {20, 29, nullptr}, {30, 39, val(2)}};
  ASSERT_FALSE(this->t.bulk_load(fine));
  EXPECT_EQ(this->t.load(5), nullptr);
  EXPECT_EQ(this->t.load(15), val(1));
  EXPECT_EQ(this->t.load(35), val(2));
  EXPECT_TRUE(valid(this->t));
}

}  // namespace
}  // namespace maple_test
