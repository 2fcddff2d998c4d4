// tests/engine/gap_tracking_test.cpp - the gap records of allocation trees
// (tree_flags::alloc): the checker rejects a wrong record or offset, the root's
// largest record equals the largest empty range of the contents after every
// kind of write, bulk builds carry records, the flags reach the typed facade,
// and the same searches give the same answers with and without tracking.
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include "engine/engine.h"
#include "engine/node.h"
#include "tree/tree_access.h"

#include <maple/tree.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace maple_test {
namespace {

template <class Tree>
class GapTracking : public ::testing::Test {};
using gap_engines = ::testing::Types<alloc_tree<16>, alloc_tree<6>>;
TYPED_TEST_SUITE(GapTracking, gap_engines);

template <class Tree>
using node_of = maple::detail::node<Tree::slots>;

/// The largest empty range of the model's contents (2^64 - 1 saturates).
std::uint64_t largest_gap(const reference_model &m) {
  std::uint64_t best = 0, next = 0;
  bool done = false;
  for (const auto &[first, r] : m.map()) {
    if (first > next) best = std::max(best, first - next);
    if (r.last == maple::max_index) {
      done = true;
      break;
    }
    next = r.last + 1;
  }
  if (!done) best = std::max(best, next == 0 ? maple::max_index : maple::max_index - next + 1);
  return best;
}

/// The root's largest record (or the leaf root's largest empty slot).
template <class Tree>
std::uint64_t root_gap(const Tree &t) {
  using E = maple::detail::engine<Tree::slots>;
  using N = node_of<Tree>;
  maple::detail::word root = E::root(maple::detail::tree_access::core(t));
  if (!maple::detail::is_node_word(root)) return 0;
  if (N::ref_is_leaf(root)) return 0;  // leaf roots keep no records
  return N::from_ref(root)->max_gap();
}

template <class Tree>
void fill_layout(Tree &t, reference_model &m, unsigned n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t first = 1000 + 20 * i, last = first + 9 + (i % 7);
    ASSERT_FALSE(t.store(first, last, val(i)));
    m.store(first, last, val(i));
  }
}

TYPED_TEST(GapTracking, FlagsAreReported) {
  TypeParam t;
  EXPECT_TRUE(t.tracks_gaps());
  EXPECT_EQ(t.flags(), maple::tree_flags::alloc);
  maple::basic_raw_tree<TypeParam::slots> plain;
  EXPECT_FALSE(plain.tracks_gaps());
  EXPECT_EQ(plain.flags(), maple::tree_flags::none);
  maple::tree<int *> typed(maple::tree_flags::alloc);
  EXPECT_TRUE(typed.raw().tracks_gaps());
}

TYPED_TEST(GapTracking, CheckerRejectsAWrongRecord) {
  TypeParam t;
  reference_model m;
  fill_layout(t, m, 200);
  ASSERT_TRUE(consistent(t, m));
  using E = maple::detail::engine<TypeParam::slots>;
  using N = node_of<TypeParam>;
  N *root = N::from_ref(E::root(maple::detail::tree_access::core(t)));
  ASSERT_FALSE(N::ref_is_leaf(E::root(maple::detail::tree_access::core(t))));
  const unsigned off = root->gap_offset();
  const std::uint64_t saved = root->gap(off);
  root->set_gap(off, saved + 1);
  maple::check_report r = t.validate();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("gap"), std::string::npos) << r.message;
  root->set_gap(off, saved);
  ASSERT_TRUE(t.validate().ok);

  // An offset that does not point at the largest record.
  const unsigned end = root->meta_end();
  unsigned other = off == 0 ? 1 : 0;
  if (root->gap(other) != root->gap(off)) {
    root->set_meta(end, other);
    r = t.validate();
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.message.find("offset"), std::string::npos) << r.message;
    root->set_meta(end, off);
  }
  ASSERT_TRUE(t.validate().ok);
}

// Every write kind (random stores, spanning stores, erases, bulk builds):
// the root's largest record is the largest empty range of the contents and
// validate() (which recomputes every record) passes.
TYPED_TEST(GapTracking, RootRecordIsTheLargestGap) {
  std::mt19937_64 rng(test_seed(0x9a9));
  const unsigned ops = static_cast<unsigned>(4000 * test_scale());
  for (int round = 0; round < 3; ++round) {
    TypeParam t;
    reference_model m;
    const std::uint64_t span = round == 0 ? 2000 : round == 1 ? 100000 : maple::max_index;
    for (unsigned i = 0; i < ops; ++i) {
      std::uint64_t a = rng() % span, len = rng() % (round == 2 ? 1ull << 40 : 64);
      std::uint64_t b = a + std::min(len, maple::max_index - a);
      switch (rng() % 8) {
        case 0:
        case 1: {  // erase the range at a random index
          void *want = m.erase(a);
          ASSERT_EQ(maple_test::erased(t, a), want);
          break;
        }
        case 2:  // store NULL over a window
          ASSERT_FALSE(t.store(a, b, nullptr));
          m.store(a, b, nullptr);
          break;
        default: ASSERT_FALSE(t.store(a, b, val(i))); m.store(a, b, val(i));
      }
      if (i % 16 == 0 || i + 1 == ops) {
        ASSERT_TRUE(consistent(t, m)) << "after op " << i;
        if (t.height() > 1) {
          ASSERT_EQ(root_gap(t), largest_gap(m)) << "after op " << i;
        }
      }
    }
  }
}

TYPED_TEST(GapTracking, BulkLoadBuildsRecords) {
  for (unsigned n : {1u, 5u, 50u, 3000u}) {
    std::vector<maple::range_entry> in;
    reference_model m;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t first = 10 + 100 * i + (i % 5) * 7, last = first + 20 + (i % 13);
      in.push_back({first, last, val(i)});
      m.store(first, last, val(i));
    }
    TypeParam t;
    ASSERT_FALSE(t.bulk_load(in));
    ASSERT_TRUE(consistent(t, m)) << n;
    if (t.height() > 1) {
      EXPECT_EQ(root_gap(t), largest_gap(m));
    }
    // One wide hole in the middle becomes the largest gap; the search finds it.
    for (std::uint64_t i = n / 3; i < n / 3 + n / 4; ++i) {
      ASSERT_TRUE(maple_test::erased(t, in[i].first) == in[i].entry);
      m.erase(in[i].first);
    }
    ASSERT_TRUE(consistent(t, m)) << n;
    if (t.height() > 1) {
      EXPECT_EQ(root_gap(t), largest_gap(m));
    }
  }
}

// The same questions asked of a plain tree (leaf scan) and an allocation
// tree (descent by records) holding the same ranges get the same answers.
TYPED_TEST(GapTracking, AgreesWithTheScanningSearch) {
  std::mt19937_64 rng(test_seed(0x5ca9));
  TypeParam t;
  maple::basic_raw_tree<TypeParam::slots> plain;
  const unsigned n = static_cast<unsigned>(3000 * test_scale()) + 50;
  for (unsigned i = 0; i < n; ++i) {
    std::uint64_t a = rng() % 1000000, b = a + rng() % 300;
    void *e = rng() % 4 == 0 ? nullptr : val(i);
    ASSERT_FALSE(t.store(a, b, e));
    ASSERT_FALSE(plain.store(a, b, e));
  }
  ASSERT_TRUE(t.validate().ok) << t.validate().message;
  for (unsigned q = 0; q < 20000; ++q) {
    std::uint64_t lo = rng() % 1100000, hi = lo + rng() % 200000;
    std::uint64_t size = 1 + rng() % (q % 3 == 0 ? 2000 : 40);
    std::uint64_t s1 = 0, s2 = 0;
    ASSERT_EQ(t.empty_area(lo, hi, size, s1), plain.empty_area(lo, hi, size, s2));
    ASSERT_EQ(s1, s2) << lo << " " << hi << " " << size;
    ASSERT_EQ(t.empty_area_rev(lo, hi, size, s1), plain.empty_area_rev(lo, hi, size, s2));
    ASSERT_EQ(s1, s2) << lo << " " << hi << " " << size;
  }
}

}  // namespace
}  // namespace maple_test
