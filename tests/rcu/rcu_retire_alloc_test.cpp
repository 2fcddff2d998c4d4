// The RCU layer's deferred frees allocate nothing in steady state: a write
// to an RCU-mode tree retires its replaced nodes through a retire_list whose
// chunks (with the callback record in them) are recycled to the writing
// thread, and a retire_list batch likewise. Counted with a global operator
// new replacement, on every thread (liburcu's callback worker included).
// Also: the out-of-memory fallback on the tree's retire path frees at once
// and leaks nothing.
#include <gtest/gtest.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "new_hook.h"
#include "rcu/test_hooks.h"

namespace {

// Counted through the replaced operator new (new_hook.h), on every thread.
std::atomic<bool> counting{false};
std::atomic<std::size_t> news{0};

bool count_new(std::size_t) noexcept {
  if (counting.load(std::memory_order_relaxed)) news.fetch_add(1, std::memory_order_relaxed);
  return true;
}
const bool hooked = (maple_test::new_hook.store(count_new), true);

}  // namespace

namespace {

// Node memory that never calls operator new after construction: a fixed
// set of 256-byte blocks behind a lock (frees come from the callback
// thread). Counts what is outstanding.
class block_pool final : public std::pmr::memory_resource {
 public:
  explicit block_pool(std::size_t blocks) : storage_(blocks) {
    for (auto &b : storage_) free_.push_back(&b);
  }
  std::size_t in_use() const {
    std::lock_guard g(m_);
    return storage_.size() - free_.size();
  }

 private:
  struct alignas(256) block {
    unsigned char bytes[256];
  };
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    std::lock_guard g(m_);
    if (bytes > sizeof(block) || align > alignof(block) || free_.empty()) throw std::bad_alloc();
    void *p = free_.back();
    free_.pop_back();
    return p;
  }
  void do_deallocate(void *p, std::size_t, std::size_t) override {
    std::lock_guard g(m_);
    free_.push_back(static_cast<block *>(p));  // capacity reserved: never grows
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
  mutable std::mutex m_;
  std::vector<block> storage_;
  std::vector<block *> free_;
};

void *val(std::uint64_t i) { return maple::make_value_entry(i); }

// Moves the end of every range (9 or 10 past its start, by round), so
// that each write rebuilds a leaf and retires the old one (a new entry for
// the same range would be stored in place).
void rewrite_all(maple::raw_tree &t, std::uint64_t ranges, std::uint64_t round) {
  for (std::uint64_t i = 0; i < ranges; ++i)
    ASSERT_FALSE(t.store(16 * i, 16 * i + 9 + round % 2, val(i + round)));
}

void ignore(void *) {}

// Gives this thread at least `chunks` spare chunks: lists that all hold
// theirs at once, then are submitted and freed. (How many chunks are in
// flight at once otherwise depends on when the callback thread runs.)
void warm_chunk_cache(std::size_t chunks) {
  std::vector<maple::rcu::retire_list> lists(chunks);
  for (auto &l : lists) l.add(nullptr, ignore);
  lists.clear();
  maple::rcu::barrier();
}

TEST(RcuRetireAlloc, TreeWritesInRcuModeAllocateNothingInSteadyState) {
  constexpr std::uint64_t ranges = 2000;
  block_pool pool(16384);  // a round retires up to ~2 nodes per write
  {
    maple::raw_tree t(maple::tree_flags::rcu, &pool);
    for (std::uint64_t i = 0; i < ranges; ++i) ASSERT_FALSE(t.store(16 * i, 16 * i + 9, val(i)));
    rewrite_all(t, ranges, 1);
    maple::rcu::barrier();
    warm_chunk_cache(2 * ranges);  // a round submits one batch per write
    news = 0;
    counting = true;
    for (std::uint64_t r = 2; r <= 5; ++r) {
      rewrite_all(t, ranges, r);
      maple::rcu::barrier();
    }
    counting = false;
    EXPECT_EQ(news.load(), 0U) << "operator new calls during " << 4 * ranges << " RCU-mode writes";
    EXPECT_EQ(maple::rcu::stats().pending, 0U);
    for (std::uint64_t i = 0; i < ranges; i += 97) EXPECT_EQ(t.load(16 * i + 3), val(i + 5));
  }
  maple::rcu::barrier();  // the tree's last nodes, before the pool goes
  EXPECT_EQ(pool.in_use(), 0U);
}

// The counter sees allocations at all (else the tests above and below
// would pass with no replaced operator new).
TEST(RcuRetireAlloc, CounterCountsOperatorNew) {
  news = 0;
  counting = true;
  std::vector<int> *volatile p = new std::vector<int>(3);  // the vector and its buffer (kept)
  counting = false;
  delete p;
  EXPECT_EQ(news.load(), 2U);
}

TEST(RcuRetireAlloc, RetireListBatchesAllocateNothingInSteadyState) {
  static std::atomic<int> freed{0};
  constexpr int batches = 300;
  auto one_round = [] {
    for (int b = 0; b < batches; ++b) {
      maple::rcu::retire_list list;
      for (int i = 0; i < 1 + b % 30; ++i) list.add(&freed, [](void *) { freed.fetch_add(1); });
      list.submit();
    }
    maple::rcu::barrier();
  };
  warm_chunk_cache(batches * 3);  // a batch of up to 30 objects needs at most 3 chunks
  freed = 0;
  news = 0;
  counting = true;
  for (int r = 0; r < 3; ++r) one_round();
  counting = false;
  EXPECT_EQ(news.load(), 0U);
  int expected = 0;
  for (int b = 0; b < batches; ++b) expected += 1 + b % 30;
  EXPECT_EQ(freed.load(), 3 * expected);
}

TEST(RcuRetireAlloc, RetirePathFallbackFreesAtOnceWhenNoChunk) {
  constexpr std::uint64_t ranges = 500;
  block_pool pool(2048);
  {
    maple::raw_tree t(maple::tree_flags::rcu, &pool);
    for (std::uint64_t i = 0; i < ranges; ++i) ASSERT_FALSE(t.store(16 * i, 16 * i + 9, val(i)));
    maple::rcu::barrier();
    const std::size_t live = pool.in_use();
    // Every chunk the retire path asks for now fails: each write must wait
    // for its readers and free its replaced nodes before it returns.
    maple::rcu::detail::fail_next_allocations(1'000'000);
    for (std::uint64_t i = 0; i < ranges; i += 5) {
      ASSERT_FALSE(t.store(16 * i, 16 * i + 9, val(i + 1)));
      EXPECT_EQ(maple::rcu::stats().pending, 0U);
    }
    maple::rcu::detail::fail_next_allocations(0);
    EXPECT_LE(pool.in_use(), live + 8);  // no node is left waiting
    for (std::uint64_t i = 0; i < ranges; ++i)
      EXPECT_EQ(t.load(16 * i + 9), val(i % 5 == 0 ? i + 1 : i));
  }
  maple::rcu::barrier();
  EXPECT_EQ(pool.in_use(), 0U);  // nothing leaked
}

}  // namespace
