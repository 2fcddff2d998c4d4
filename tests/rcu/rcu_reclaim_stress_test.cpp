// tests/rcu/rcu_reclaim_stress_test.cpp - bounded reclamation in RCU mode (issue
// 4): a writer storing 10^7 times (MAPLE_TEST_SCALE scales it) while readers
// run keeps the nodes waiting for a grace period bounded, and every node is
// back in the memory resource once the tree is destroyed and
// maple::rcu::barrier() has returned.
#include "test_env.h"

#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory_resource>
#include <thread>
#include <vector>

namespace maple_test {
namespace {

/// Counts outstanding blocks and their peak (nodes are 256 bytes each).
class peak_resource : public std::pmr::memory_resource {
 public:
  std::atomic<long> outstanding{0}, peak{0};

 private:
  void *do_allocate(std::size_t n, std::size_t a) override {
    long now = ++outstanding;
    long p = peak.load(std::memory_order_relaxed);
    while (now > p && !peak.compare_exchange_weak(p, now, std::memory_order_relaxed)) {
    }
    return std::pmr::new_delete_resource()->allocate(n, a);
  }
  void do_deallocate(void *p, std::size_t n, std::size_t a) override {
    --outstanding;
    std::pmr::new_delete_resource()->deallocate(p, n, a);
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
};

TEST(RcuReclaimStress, TenMillionStoresBesideReadersStayBounded) {
  peak_resource res;
  const std::uint64_t stores = scaled(10'000'000, 10'000);
  const std::uint64_t ranges = 50'000;
  long tree_nodes = 0;
  std::uint64_t reads = 0;
  maple::rcu::reset_peak_pending();
  {
    maple::raw_tree t(maple::tree_flags::rcu, &res);
    for (std::uint64_t i = 0; i < ranges; ++i) ASSERT_FALSE(t.store(16 * i, 16 * i + 9, val(i)));
    tree_nodes = static_cast<long>(t.stats().nodes);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> total_reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
      readers.emplace_back([&, r] {
        std::uint64_t n = 0, x = 12345 + static_cast<std::uint64_t>(r);
        while (!stop.load(std::memory_order_relaxed)) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          std::uint64_t i = (x >> 20) % (16 * ranges);
          void *e = t.load(i);
          if (e && (i % 16) > 9) std::abort();  // a gap index never holds an entry
          ++n;
        }
        total_reads += n;
      });
    // Each store replaces one range with a new entry of the same extent in
    // RCU mode: the leaf is rebuilt aside and the old one deferred.
    for (std::uint64_t k = 0; k < stores; ++k) {
      std::uint64_t i = (k * 7919) % ranges;
      ASSERT_FALSE(t.store(16 * i, 16 * i + 9 - (k & 1), val(k))) << k;
    }
    stop = true;
    for (auto &th : readers) th.join();
    reads = total_reads;
  }
  maple::rcu::barrier();
  const maple::rcu::deferred_stats st = maple::rcu::stats();
  std::printf(
      "[   info   ] %llu stores beside 2 readers (%llu reads): tree of %ld nodes, peak "
      "%ld nodes allocated, peak %zu deferred batches pending (limit %zu, %zu waits)\n",
      static_cast<unsigned long long>(stores), static_cast<unsigned long long>(reads), tree_nodes,
      res.peak.load(), st.peak_pending, maple::rcu::pending_limit(), st.limit_waits);
  EXPECT_EQ(res.outstanding.load(), 0) << "nodes not returned after barrier()";
  // Bounded: the tree plus what the pending limit lets wait (each write
  // defers a batch of a few nodes), never a growth with the store count.
  const long bound = tree_nodes + 8 * static_cast<long>(maple::rcu::pending_limit());
  EXPECT_LE(res.peak.load(), bound);
  EXPECT_GT(reads, 0u);
}

}  // namespace
}  // namespace maple_test
