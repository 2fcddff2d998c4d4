// tests/tree/typed_api_test.cpp - the typed API family: tree<T>'s lookup,
// erase with its old value, gap search and allocation, typed cursors with
// preallocation; moving and swapping raw trees and typed trees; the range
// views' concepts (view, borrowed_range, operator->).
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include <maple/maple.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <iterator>
#include <memory_resource>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace maple_test {
namespace {

struct alignas(8) item {
  int id;
};

using ptr_tree = maple::tree<item *>;
using int_tree = maple::tree<std::uint32_t>;

// ---- concepts -------------------------------------------------------------------

static_assert(std::ranges::view<maple::raw_tree::range_view>);
static_assert(std::ranges::borrowed_range<maple::raw_tree::range_view>);
static_assert(std::ranges::bidirectional_range<maple::raw_tree::range_view>);
static_assert(std::ranges::view<ptr_tree::range_view>);
static_assert(std::ranges::borrowed_range<ptr_tree::range_view>);
static_assert(std::ranges::bidirectional_range<int_tree::range_view>);
static_assert(std::is_same_v<decltype(std::declval<maple::raw_tree::iterator>().operator->()),
                             const maple::range_entry *>);
static_assert(std::is_nothrow_move_constructible_v<maple::raw_tree>);
static_assert(std::is_nothrow_move_assignable_v<maple::raw_tree>);
static_assert(std::is_nothrow_swappable_v<maple::raw_tree>);
static_assert(std::is_nothrow_move_constructible_v<ptr_tree>);
static_assert(std::is_nothrow_move_assignable_v<ptr_tree>);
static_assert(std::is_nothrow_swappable_v<int_tree>);
static_assert(!std::is_copy_constructible_v<ptr_tree>);
// One error convention: erase never throws and reports through error_code.
static_assert(noexcept(std::declval<maple::raw_tree &>().erase(0)));
static_assert(noexcept(std::declval<ptr_tree &>().erase(0)));
static_assert(std::is_same_v<decltype(std::declval<ptr_tree &>().erase(0)), std::error_code>);
static_assert(
    std::is_same_v<decltype(std::declval<maple::write_cursor &>().erase()), std::error_code>);

TEST(RangeViews, ArrowAndBorrowedIterators) {
  maple::raw_tree raw;
  ASSERT_FALSE(raw.store(10, 19, val(1)));
  ASSERT_FALSE(raw.store(30, 39, val(2)));
  // An iterator from a temporary view stays valid (borrowed range).
  auto it = std::ranges::begin(raw.ranges(0, 100));
  EXPECT_EQ(it->first, 10u);
  EXPECT_EQ(it->entry, val(1));
  ++it;
  EXPECT_EQ(it->last, 39u);
  auto found = std::ranges::find_if(raw.ranges(),
                                    [](const maple::range_entry &r) { return r.entry == val(2); });
  static_assert(std::is_same_v<decltype(found), maple::raw_tree::iterator>);  // not dangling
  EXPECT_EQ(found->first, 30u);

  int_tree t;
  ASSERT_FALSE(t.store(5, 6, 7u));
  ASSERT_FALSE(t.store(8, 9, 9u));
  auto tit = t.begin();
  EXPECT_EQ(tit->value, 7u);
  EXPECT_EQ((++tit)->first, 8u);
  // Standard algorithms take the view; reverse iteration through it.
  EXPECT_EQ(std::ranges::distance(t.ranges()), 2);
  std::vector<std::uint64_t> firsts;
  for (auto r = std::make_reverse_iterator(t.end()); r != std::make_reverse_iterator(t.begin());
       ++r)
    firsts.push_back((*r).first);
  EXPECT_EQ(firsts, (std::vector<std::uint64_t>{8u, 5u}));
}

// ---- typed reads and erase --------------------------------------------------------

TEST(TypedTree, LookupAndEraseWithTheOldValue) {
  item a{1}, b{2};
  ptr_tree t;
  ASSERT_FALSE(t.store(100, 199, &a));
  ASSERT_FALSE(t.store(300, 300, &b));
  EXPECT_EQ(t.lookup(150), (maple::typed_lookup<item *>{100, 199, &a}));
  EXPECT_EQ(t.lookup(250), (maple::typed_lookup<item *>{200, 299, nullptr}));
  item *old = &b;
  EXPECT_FALSE(t.erase(150, &old));
  EXPECT_EQ(old, &a);
  EXPECT_FALSE(t.erase(150, &old));  // nothing there now
  EXPECT_EQ(old, nullptr);
  EXPECT_FALSE(t.erase(300));  // the old value is optional
  EXPECT_TRUE(t.empty());

  int_tree n;
  ASSERT_FALSE(n.store(1, 3, 42u));
  EXPECT_EQ(n.lookup(2).value, 42u);
  EXPECT_EQ(n.lookup(4).value, std::nullopt);
  std::optional<std::uint32_t> was;
  EXPECT_FALSE(n.erase(2, &was));
  EXPECT_EQ(was, 42u);
}

TEST(TypedTree, EraseOutOfMemoryReportsAndKeepsTheValue) {
  maple::failing_resource mr(std::pmr::new_delete_resource());
  int_tree t(&mr);
  for (std::uint32_t i = 0; i < 300; ++i) ASSERT_FALSE(t.store(i * 10, i * 10 + 4, i));
  mr.fail_after(0);
  std::size_t refused = 0;
  for (std::uint32_t i = 0; i < 300; ++i) {
    std::optional<std::uint32_t> was = 12345u;
    std::error_code ec = t.erase(i * 10 + 2, &was);
    if (ec) {
      EXPECT_EQ(ec, maple::errc::no_memory);
      EXPECT_EQ(was, std::nullopt);
      EXPECT_EQ(t.load(i * 10), i) << "a failed erase removed the range";
      ++refused;
    } else {
      EXPECT_EQ(was, i);
    }
  }
  mr.never_fail();
  EXPECT_TRUE(t.validate());
  std::cout << "[   info   ] " << refused << " of 300 typed erases refused without memory\n";
}

// ---- gap search and allocation ----------------------------------------------------

TEST(TypedTree, GapSearchAndAllocation) {
  for (maple::tree_flags f : {maple::tree_flags::none, maple::tree_flags::alloc}) {
    int_tree t(f);
    EXPECT_EQ(t.tracks_gaps(), f == maple::tree_flags::alloc);
    ASSERT_FALSE(t.store(0, 99, 1u));
    ASSERT_FALSE(t.store(150, 199, 2u));
    std::uint64_t at = 0;
    ASSERT_FALSE(t.empty_area(0, 1000, 50, at));
    EXPECT_EQ(at, 100u);
    ASSERT_FALSE(t.empty_area_rev(0, 1000, 50, at));
    EXPECT_EQ(at, 951u);
    EXPECT_EQ(t.empty_area(0, 120, 50, at), maple::errc::busy);

    ASSERT_FALSE(t.alloc_range(3u, 50, 0, 1000, at));
    EXPECT_EQ(at, 100u);
    EXPECT_EQ(t.load(149), 3u);
    ASSERT_FALSE(t.alloc_rrange(4u, 10, 0, 1000, at));
    EXPECT_EQ(at, 991u);
    EXPECT_EQ(t.lookup(995).value, 4u);
    // Unstorable values are refused before the search.
    maple::tree<std::uint64_t> big(f);
    EXPECT_EQ(big.alloc_range(maple::max_value_entry + 1, 1, 0, 10, at),
              maple::errc::invalid_argument);

    std::uint64_t next = 995, first = 0;
    bool wrapped = true;
    ASSERT_FALSE(t.alloc_cyclic(5u, 900, 1000, next, first, wrapped));
    EXPECT_EQ(first, 900u);  // [995, 1000] is taken: wraps to min
    EXPECT_TRUE(wrapped);
    EXPECT_EQ(next, 901u);
    ASSERT_FALSE(t.alloc_cyclic(6u, 900, 1000, next, first, wrapped));
    EXPECT_EQ(first, 901u);
    EXPECT_FALSE(wrapped);
    EXPECT_TRUE(t.validate());
  }
}

// ---- typed cursors --------------------------------------------------------------

TEST(TypedCursor, ReadsWritesAndPreallocation) {
  item a{1}, b{2}, c{3};
  ptr_tree t(maple::tree_flags::alloc);
  ASSERT_FALSE(t.store(10, 19, &a));
  ASSERT_FALSE(t.store(40, 49, &b));
  {
    ptr_tree::read_guard r(t);
    ptr_tree::cursor cur = r.cursor(0);
    std::vector<int> ids;
    for (item *v = cur.find(); v; v = cur.next()) ids.push_back(v->id);
    EXPECT_EQ(ids, (std::vector<int>{1, 2}));
    EXPECT_EQ(cur.state(), maple::cursor_state::overflow);
    cur.set(45);
    EXPECT_EQ(cur.walk(), &b);
    EXPECT_EQ(cur.index(), 40u);
    EXPECT_EQ(cur.prev(), &a);
    EXPECT_EQ(cur.entry(), &a);
    EXPECT_FALSE(cur.empty_area(0, 100, 15));
    EXPECT_EQ(cur.index(), 20u);
    EXPECT_EQ(cur.last(), 34u);
  }
  {
    ptr_tree::write_guard w(t);
    ptr_tree::write_cursor wc = w.cursor();
    // Gap search through the cursor, then a store that cannot fail.
    ASSERT_FALSE(wc.empty_area_rev(0, 100, 5));
    EXPECT_EQ(wc.index(), 96u);
    ASSERT_FALSE(wc.preallocate(&c));
    wc.store_prealloc(&c);
    EXPECT_EQ(wc.state(), maple::cursor_state::paused);
    wc.set_range(10, 14);
    ASSERT_FALSE(wc.erase_range());
    wc.set(40);
    item *old = nullptr;
    ASSERT_FALSE(wc.erase(&old));
    EXPECT_EQ(old, &b);
    wc.set(0);
    EXPECT_EQ(wc.find(), &a);
    EXPECT_EQ(wc.index(), 15u);
  }
  EXPECT_EQ(t.load(98), &c);
  EXPECT_EQ(t.load(12), nullptr);
  EXPECT_EQ(t.load(17), &a);
  EXPECT_EQ(t.load(45), nullptr);
  EXPECT_TRUE(t.validate());

  int_tree n;
  {
    int_tree::write_guard w(n);
    int_tree::write_cursor wc = w.cursor(5, 9);
    EXPECT_EQ(wc.preallocate(0xffffffffu), std::error_code{});
    wc.store_prealloc(0xffffffffu);
    wc.set(7);
    EXPECT_EQ(wc.walk(), 0xffffffffu);
    wc.set(100);
    EXPECT_EQ(wc.walk(), std::nullopt);
  }
  EXPECT_EQ(n.load(5), 0xffffffffu);
}

// ---- move and swap ----------------------------------------------------------------

TEST(MoveAndSwap, RawTree) {
  maple::raw_tree a(maple::tree_flags::alloc);
  for (std::uint64_t i = 0; i < 500; ++i) ASSERT_FALSE(a.store(i * 4, i * 4 + 1, val(i + 1)));
  const maple::tree_stats before = a.stats();
  maple::raw_tree b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is specified
  EXPECT_TRUE(a.validate());
  EXPECT_TRUE(a.tracks_gaps());  // keeps its own flags
  EXPECT_TRUE(b.tracks_gaps());
  EXPECT_EQ(b.stats().ranges, before.ranges);
  EXPECT_EQ(b.load(401), val(101));
  EXPECT_TRUE(b.validate());
  // The moved-from tree is usable.
  ASSERT_FALSE(a.store(7, 7, val(7)));
  std::uint64_t at = 0;
  ASSERT_FALSE(a.empty_area(0, 100, 3, at));
  EXPECT_EQ(at, 0u);

  maple::raw_tree c;
  ASSERT_FALSE(c.store(1, 1, val(9)));
  c = std::move(b);  // c's own range is freed
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(c.load(1), val(1));
  EXPECT_TRUE(c.tracks_gaps());
  EXPECT_TRUE(c.validate());

  swap(a, c);
  EXPECT_EQ(a.load(401), val(101));
  EXPECT_EQ(c.load(7), val(7));
  EXPECT_EQ(c.stats().ranges, 1u);
  a.swap(a);  // self-swap is a no-op
  EXPECT_TRUE(a.validate());
  EXPECT_FALSE(a.empty());
}

TEST(MoveAndSwap, RcuModeAndExternalLockTravel) {
  maple::raw_tree a(maple::tree_flags::rcu);
  ASSERT_FALSE(a.store(0, 9, val(1)));
  maple::raw_tree b(std::move(a));
  EXPECT_TRUE(b.rcu_mode());
  EXPECT_TRUE(a.rcu_mode());  // the moved-from tree keeps its mode
  maple::raw_tree plain;
  plain = std::move(b);
  EXPECT_TRUE(plain.rcu_mode());
  EXPECT_EQ(plain.load(5), val(1));
  plain.clear();
  maple::rcu::barrier();
}

TEST(MoveAndSwap, TypedTree) {
  item x{1};
  ptr_tree a;
  ASSERT_FALSE(a.store(10, 20, &x));
  ptr_tree b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.load(15), &x);
  ptr_tree c;
  swap(b, c);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(c.load(10), &x);
  a = std::move(c);
  EXPECT_EQ(a.find(0)->value, &x);
  EXPECT_TRUE(a.validate());
  ASSERT_FALSE(c.store(1, 1, &x));  // moved-from and usable
  EXPECT_EQ(c.load(1), &x);
}

}  // namespace
}  // namespace maple_test
