// tests/engine/leaf_write_alloc_test.cpp - what leaf writes allocate.
//
// Plain mode: a leaf split rewrites the old leaf in place as its left part
// and allocates only the leaves to its right; when an allocation later in
// the same write fails (a parent split), the old leaf gets its words back
// and the tree is as it was. RCU mode: a write that stays inside one leaf
// builds one copy of it (readers may stand on the old one) and retires the
// old leaf; a leaf split builds every part anew.
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_types.h"

#include <maple/failing_resource.h>
#include <maple/rcu.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory_resource>
#include <tuple>

namespace maple_test {
namespace {

using wk = maple::detail::write_kind;

template <class Tree>
class LeafWriteAlloc : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!maple::detail::write_trace_enabled) GTEST_SKIP() << kNoTraceHooks;
  }
};
using split_types = ::testing::Types<maple::raw_tree, small_tree>;
TYPED_TEST_SUITE(LeafWriteAlloc, split_types);

/// Ascending stores [10i, 10i + 4]; calls `each(i, allocations)` after
/// every store with the allocations it made.
template <class Tree, class F>
void ascending(Tree &t, reference_model &m, maple::failing_resource &fr, unsigned n, F each) {
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::size_t before = fr.allocations();
    reset_trace();
    ASSERT_FALSE(t.store(10 * i, 10 * i + 4, val(i)));
    m.store(10 * i, 10 * i + 4, val(i));
    each(i, fr.allocations() - before);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TYPED_TEST(LeafWriteAlloc, PlainLeafSplitAllocatesOnlyTheRightLeaf) {
  maple::failing_resource fr(std::pmr::new_delete_resource());
  TypeParam t(&fr);
  reference_model m;
  unsigned splits = 0;
  ascending(t, m, fr, 400, [&](std::uint64_t i, std::size_t allocs) {
    if (trace(wk::leaf_split) == 0 || trace(wk::internal_split) || trace(wk::root_split)) return;
    EXPECT_EQ(allocs, 1u) << "store " << i << ": " << trace_summary();
    ++splits;
  });
  ASSERT_TRUE(consistent(t, m));
  ASSERT_TRUE(t.validate());
  EXPECT_GE(splits, 5u);
}

TYPED_TEST(LeafWriteAlloc, RcuLeafWritesBuildCopies) {
  maple::failing_resource fr(std::pmr::new_delete_resource());
  {
    TypeParam t(maple::tree_flags::rcu, &fr);
    reference_model m;
    unsigned splits = 0, in_leaf = 0;
    ascending(t, m, fr, 400, [&](std::uint64_t i, std::size_t allocs) {
      if (t.height() < 2) return;
      if (trace(wk::leaf_split)) {
        if (trace(wk::internal_split) || trace(wk::root_split)) return;
        EXPECT_EQ(allocs, 3u) << "store " << i << ": two leaves and their parent";
        ++splits;
      } else if (trace(wk::append) || trace(wk::node_store) || trace(wk::slot_store)) {
        EXPECT_EQ(allocs, 1u) << "store " << i << ": " << trace_summary();
        ++in_leaf;
      }
    });
    // Writes inside one leaf that are not appends: a range split in three,
    // a range grown into the gap after it, an erase merging with its gaps.
    for (std::uint64_t i = 1; i < 300; i += 7) {
      for (auto [f, l, e] :
           {std::tuple{10 * i + 1, 10 * i + 2, val(7)}, std::tuple{10 * i, 10 * i + 6, val(8)},
            std::tuple{10 * i, 10 * i + 6, static_cast<void *>(nullptr)}}) {
        const std::size_t before = fr.allocations();
        reset_trace();
        ASSERT_FALSE(t.store(f, l, e));
        m.store(f, l, e);
        if (trace(wk::slot_store) || trace(wk::node_store)) {
          EXPECT_EQ(fr.allocations() - before, 1u)
              << hex(f) << "-" << hex(l) << ": " << trace_summary();
          ++in_leaf;
        }
      }
    }
    ASSERT_TRUE(consistent(t, m));
    ASSERT_TRUE(t.validate());
    EXPECT_GE(splits, 5u);
    EXPECT_GE(in_leaf, 50u);
  }
  maple::rcu::barrier();  // the retired leaves go back to fr
  EXPECT_EQ(fr.outstanding(), 0u);
}

TYPED_TEST(LeafWriteAlloc, FailedAllocationAfterAnInPlaceSplitLeavesTheTreeAsItWas) {
  maple::failing_resource fr(std::pmr::new_delete_resource());
  TypeParam t(&fr);
  reference_model m;
  unsigned rolled_back = 0;
  for (std::uint64_t i = 0; i < 1500; ++i) {
    // The second allocation of the store fails: a split's parent (or the
    // new root) when the leaf split first rewrote its left part in place.
    fr.fail_nth(2);
    reset_trace();
    if (t.store(10 * i, 10 * i + 4, val(i))) {
      if (trace(wk::leaf_split)) ++rolled_back;
      ASSERT_TRUE(consistent(t, m)) << "after the failed store " << i;
      ASSERT_TRUE(t.validate()) << "after the failed store " << i;
      fr.never_fail();
      ASSERT_FALSE(t.store(10 * i, 10 * i + 4, val(i)));
    }
    fr.never_fail();
    m.store(10 * i, 10 * i + 4, val(i));
  }
  ASSERT_TRUE(consistent(t, m));
  ASSERT_TRUE(t.validate());
  EXPECT_GE(rolled_back, 3u);
}

}  // namespace
}  // namespace maple_test
