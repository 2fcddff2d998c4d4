// tests/support/cursor_types.h - cursor and guard types for the engines of
// tree_types.h, and small helpers shared by the cursor tests.
//
//   rguard<Tree>   read guard        (maple::basic_read_guard<Tree::slots>)
//   wguard<Tree>   write guard       (maple::basic_write_guard<Tree::slots>)
//   rcursor<Tree>  read cursor       (maple::basic_cursor<Tree::slots>)
//   wcursor<Tree>  write cursor      (maple::basic_write_cursor<Tree::slots>)
#pragma once

#include "geometries.h"
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include <maple/cursor.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>

namespace maple {
inline void PrintTo(cursor_state s, std::ostream *os) { *os << to_string(s); }
}  // namespace maple

namespace maple_test {

template <class Tree>
using rguard = maple::basic_read_guard<Tree::slots>;
template <class Tree>
using wguard = maple::basic_write_guard<Tree::slots>;
template <class Tree>
using rcursor = maple::basic_cursor<Tree::slots>;
template <class Tree>
using wcursor = maple::basic_write_cursor<Tree::slots>;

/// The cursor's [index, last] and state, as an assertion.
template <class C>
::testing::AssertionResult pos_is(const C &c, std::uint64_t first, std::uint64_t last,
                                  maple::cursor_state st) {
  if (c.index() == first && c.last() == last && c.state() == st)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "cursor at [" << hex(c.index()) << ", " << hex(c.last()) << "] state "
         << maple::to_string(c.state()) << ", expected [" << hex(first) << ", " << hex(last)
         << "] state " << maple::to_string(st);
}

/// The cursor's current range as a range_entry (entry: `e`).
template <class C>
maple::range_entry here(const C &c, void *e) {
  return {c.index(), c.last(), e};
}

/// Stores [base + i*stride, base + i*stride + width - 1] -> val(tag + i)
/// for i < n into the tree and the model (no guard may be held).
template <class Tree>
::testing::AssertionResult fill(Tree &t, reference_model &m, std::uint64_t n, std::uint64_t stride,
                                std::uint64_t width, std::uint64_t base = 0,
                                std::uint64_t tag = 0) {
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t f = base + i * stride;
    if (std::error_code ec = t.store(f, f + width - 1, val(tag + i)))
      return ::testing::AssertionFailure() << "store(" << hex(f) << "): " << ec.message();
    m.store(f, f + width - 1, val(tag + i));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace maple_test
