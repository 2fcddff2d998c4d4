// tests/tree_types.h - the engines every typed test runs on.
//
//  * maple::raw_tree           16 slots per node (the shipped geometry);
//  * maple::basic_raw_tree<4>  4 slots per node, instantiated for the tests
//                              in small_engine.cpp: tiny data already makes
//                              deep trees, so splits, rebalances and
//                              spanning stores across several levels are
//                              exercised by small, fast scenarios.
#pragma once

#include <maple/raw_tree.h>

#include <gtest/gtest.h>

// Defined (explicitly instantiated) in small_engine.cpp.
// Typed tests show as Suite/0 (16 slots) and Suite/1 (4 slots); ctest
// names carry the type: Suite.Test<maple::basic_raw_tree<16u>>.
extern template class maple::basic_raw_tree<4>;

namespace maple_test {

using small_tree = maple::basic_raw_tree<4>;

using engine_types = ::testing::Types<maple::raw_tree, small_tree>;

}  // namespace maple_test
