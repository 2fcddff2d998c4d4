// tests/support/tree_types.h - the engines every typed test runs on.
//
//  * maple::raw_tree           16 slots per node (the shipped geometry);
//  * maple::basic_raw_tree<4>  4 slots per node, instantiated for the tests
//                              in small_engine.cpp: tiny data already makes
//                              deep trees, so splits, rebalances and
//                              spanning stores across several levels are
//                              exercised by small, fast scenarios;
//  * alloc_tree<16>, alloc_tree<6>  allocation trees (tree_flags::alloc:
//                              gap records in internal nodes of 10 and 3
//                              children), whose validate() also checks every
//                              gap record after each operation.
//  * maple::basic_raw_tree<32> the kernel's 32-bit node width (wide_engine.cpp),
//                              only with -DMAPLE_TEST_WIDE=ON.
#pragma once

#include <maple/raw_tree.h>
#include "geometries.h"

#include <gtest/gtest.h>

// Defined (explicitly instantiated) in small_engine.cpp and wide_engine.cpp.
// Typed tests show as Suite/0 (16 slots) and Suite/1 (4 slots), and
// Suite/2 (32 slots) when configured with -DMAPLE_TEST_WIDE=ON; ctest names
// carry the type: Suite.Test<maple::basic_raw_tree<16u>>.

namespace maple_test {

using small_tree = maple::basic_raw_tree<4>;
/// The kernel's 32-bit node width: 32 slots, 31 pivots.
using wide_tree = maple::basic_raw_tree<32>;

/// A tree created with tree_flags::alloc (default-constructible like the
/// plain engines, so every typed harness can hold one).
template <unsigned S>
class alloc_tree : public maple::basic_raw_tree<S> {
 public:
  explicit alloc_tree(std::pmr::memory_resource *mr = nullptr) noexcept
      : maple::basic_raw_tree<S>(maple::tree_flags::alloc, mr) {}
};

#if defined(MAPLE_TEST_WIDE) && MAPLE_TEST_WIDE
/// The plain engines (suites whose expectations depend on node shapes).
using plain_engine_types = ::testing::Types<maple::raw_tree, small_tree, wide_tree>;
/// Every engine, allocation trees included.
using engine_types =
    ::testing::Types<maple::raw_tree, small_tree, wide_tree, alloc_tree<16>, alloc_tree<6>>;
#else
using plain_engine_types = ::testing::Types<maple::raw_tree, small_tree>;
using engine_types = ::testing::Types<maple::raw_tree, small_tree, alloc_tree<16>, alloc_tree<6>>;
#endif

}  // namespace maple_test
