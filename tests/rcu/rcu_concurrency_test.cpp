// The RCU layer with threads (label `concurrency`; the tsan stage runs these
// with the std backend under ThreadSanitizer). Orderings are forced with
// latches and atomics; the short sleeps only give a broken implementation
// the chance to misbehave, no assertion depends on them.
#include <gtest/gtest.h>
#include <maple/rcu.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "test_env.h"

namespace rcu = maple::rcu;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t magic = 0x5ca1ab1e0ddba11ULL;

struct object {
  std::atomic<std::uint64_t> value{magic};
  std::atomic<bool> *freed = nullptr;
};

void free_object(void *p) {
  auto *o = static_cast<object *>(p);
  if (o->freed != nullptr) o->freed->store(true);
  o->value.store(0);  // a reader that still sees it would notice (and ASan too)
  delete o;
}

// Waits for f, at most `limit`; true if it finished.
template <typename Future>
bool finishes(Future &f, std::chrono::seconds limit = std::chrono::seconds(60)) {
  return f.wait_for(limit) == std::future_status::ready;
}

TEST(RcuConcurrency, ReaderKeepsDeferredObjectAliveUntilItLeaves) {
  std::atomic<bool> freed{false};
  auto *first = new object;
  first->freed = &freed;
  std::atomic<object *> shared{first};

  std::latch entered(1);
  std::latch replaced(1);
  std::atomic<bool> reader_saw_freed{false};
  std::atomic<std::uint64_t> reader_value{0};
  std::thread reader([&] {
    rcu::read_guard g;
    object *o = shared.load(std::memory_order_acquire);
    entered.count_down();
    replaced.wait();
    std::this_thread::sleep_for(50ms);  // let the grace-period machinery run
    reader_saw_freed = freed.load();
    reader_value = o->value.load();
  });

  entered.wait();
  object *old = shared.exchange(new object, std::memory_order_acq_rel);
  rcu::defer(free_object, old);
  replaced.count_down();
  rcu::barrier();  // returns only after the reader has left and the object is freed
  reader.join();
  EXPECT_FALSE(reader_saw_freed.load());
  EXPECT_EQ(reader_value.load(), magic);
  EXPECT_TRUE(freed.load());
  free_object(shared.load());
}

TEST(RcuConcurrency, SynchronizeWaitsForAPreExistingReader) {
  std::latch entered(1);
  std::latch may_leave(1);
  std::atomic<bool> synchronized{false};
  std::atomic<bool> synchronized_while_reading{false};
  std::thread reader([&] {
    rcu::read_guard g;
    entered.count_down();
    may_leave.wait();
    std::this_thread::sleep_for(50ms);
    synchronized_while_reading = synchronized.load();
  });
  entered.wait();
  auto sync = std::async(std::launch::async, [&] {
    rcu::synchronize();
    synchronized = true;
  });
  may_leave.count_down();
  ASSERT_TRUE(finishes(sync));
  reader.join();
  EXPECT_FALSE(synchronized_while_reading.load());
}

// defer() never waits for a grace period: a reader may hold its section
// until the deferring writer has done something (a handshake, a test's
// baton). Enough objects to fill several of the std backend's batches, far
// below the pending bound (which is the one documented wait).
TEST(RcuConcurrency, DeferNeverWaitsForAReaderThatWaitsForTheWriter) {
  constexpr int objects = 5000;
  ASSERT_LT(static_cast<std::size_t>(objects), rcu::pending_limit());
  rcu::barrier();
  std::latch entered(1);
  std::latch writer_done(1);
  std::atomic<bool> freed{false};
  std::thread reader([&] {
    rcu::read_guard g;
    entered.count_down();
    writer_done.wait();
  });
  entered.wait();
  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; i < objects; ++i) {
      auto *o = new object;
      o->freed = &freed;
      rcu::defer(free_object, o);
    }
  });
  const bool finished = finishes(writer, std::chrono::seconds(30));
  const bool freed_while_reading = freed.load();
  writer_done.count_down();  // let the reader go either way, so the test ends
  reader.join();
  writer.wait();
  rcu::barrier();
  EXPECT_TRUE(finished) << "defer() waited for a reader (backend " << rcu::backend_name() << ")";
  EXPECT_FALSE(freed_while_reading) << "an object deferred during the section was freed in it";
  EXPECT_EQ(rcu::stats().pending, 0U);
}

// A reader that, inside its section, starts a thread which registers (its
// first guard) and waits for it: synchronize() running meanwhile must not
// block that registration (it would wait for the reader forever).
TEST(RcuConcurrency, ReaderMayWaitForANewReaderThreadDuringSynchronize) {
  std::latch entered(1);
  std::latch sync_started(1);
  std::atomic<bool> child_read{false};
  std::thread reader([&] {
    rcu::read_guard g;
    entered.count_down();
    sync_started.wait();
    std::this_thread::sleep_for(50ms);  // let synchronize() start waiting for us
    std::thread child([&] {
      rcu::read_guard child_guard;
      child_read = true;
    });
    child.join();
  });
  entered.wait();
  auto sync = std::async(std::launch::async, [&] {
    sync_started.count_down();
    rcu::synchronize();
  });
  bool done = finishes(sync);
  reader.join();
  EXPECT_TRUE(done);
  EXPECT_TRUE(child_read.load());
}

// Two readers relay a baton: each posts (bumps `step`) once it is inside a
// fresh section, and leaves that section only after the other has posted
// from a fresh one of its own. From the first posts on, some reader is
// always inside. synchronize() must not wait for sections that began after
// it did, so it still returns (a reader-writer lock would starve here).
TEST(RcuConcurrency, SynchronizeDoesNotWaitForLaterReaders) {
  std::atomic<std::uint64_t> step{0};
  std::atomic<bool> stop{false};
  std::latch both_started(2);
  auto relay = [&](std::uint64_t me) {
    auto wait_turn = [&] {
      while (step.load() % 2 != me && !stop.load()) std::this_thread::yield();
    };
    bool first = true;
    while (!stop.load()) {
      rcu::read_guard g;
      wait_turn();
      step.fetch_add(1);  // inside a fresh section: the other may leave its own
      if (first) {
        both_started.count_down();
        first = false;
      }
      wait_turn();  // the other is inside a fresh section now
    }
  };
  std::thread a(relay, 0);
  std::thread b(relay, 1);
  both_started.wait();
  auto sync = std::async(std::launch::async, [] {
    for (int i = 0; i < 3; ++i) rcu::synchronize();
  });
  bool done = finishes(sync);
  stop = true;
  a.join();
  b.join();
  EXPECT_TRUE(done) << "synchronize waited for readers that started after it";
  if (!done) sync.wait();
  EXPECT_GT(step.load(), 2U);
}

TEST(RcuConcurrency, ManyShortLivedThreadsUnregisterAtExit) {
  std::size_t before = rcu::stats().registered_threads;
  std::atomic<int> freed_count{0};
  const int rounds = static_cast<int>(maple_test::scaled(50, 5));
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        {
          rcu::read_guard g;
          rcu::read_guard nested;
        }
        rcu::defer([](void *p) { static_cast<std::atomic<int> *>(p)->fetch_add(1); }, &freed_count);
      });
    }
    for (auto &t : threads) t.join();
  }
  // Every exited thread left the registry: a grace period completes and
  // the count is back where it was.
  rcu::synchronize();
  rcu::barrier();
  EXPECT_EQ(rcu::stats().registered_threads, before);
  EXPECT_EQ(freed_count.load(), rounds * 8);
}

TEST(RcuConcurrency, BarrierRunsEverythingDeferredByAllThreads) {
  constexpr int threads = 4;
  const int per_thread = static_cast<int>(maple_test::scaled(20000, 100));
  std::atomic<int> ran{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      rcu::retire_list batch;
      for (int i = 0; i < per_thread; ++i) {
        if (i % 2 == 0) {
          rcu::defer([](void *p) { static_cast<std::atomic<int> *>(p)->fetch_add(1); }, &ran);
        } else {
          batch.add(&ran, [](void *p) { static_cast<std::atomic<int> *>(p)->fetch_add(1); });
          if (batch.size() == 100) batch.submit();
        }
      }
    });
  }
  for (auto &w : writers) w.join();  // each retire_list submitted its rest on destruction
  rcu::barrier();
  EXPECT_EQ(ran.load(), threads * per_thread);
  EXPECT_EQ(rcu::stats().pending, 0U);
}

// Chunks go back to the thread that filled them, or to the cache it left
// behind when it has exited; a later thread takes that cache over. Threads
// come and go while their batches wait for grace periods.
TEST(RcuConcurrency, RetireListsFromShortLivedThreads) {
  static std::atomic<int> freed{0};
  freed = 0;
  constexpr int rounds = 40;
  constexpr int per_thread = 37;  // more than a chunk holds
  for (int r = 0; r < rounds; ++r) {
    std::thread t([] {
      rcu::retire_list list;
      for (int i = 0; i < per_thread; ++i) list.add(&freed, [](void *) { freed.fetch_add(1); });
      list.submit();
      rcu::retire_list rest;  // submitted by its destructor at thread exit
      rest.add(&freed, [](void *) { freed.fetch_add(1); });
    });
    t.join();
    if (r % 10 == 9) rcu::barrier();
  }
  rcu::barrier();
  EXPECT_EQ(freed.load(), rounds * (per_thread + 1));
  EXPECT_EQ(rcu::stats().pending, 0U);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t stress_deferrals = 1'000'000;  // sanitizers cost ~10x
#else
constexpr std::uint64_t stress_deferrals = 10'000'000;
#endif

// The bound under a steady writer: 10^7 replacements (10^6 in sanitizer
// builds; times MAPLE_TEST_SCALE), each deferring the free of the old
// object, while readers keep dereferencing the current one.
TEST(RcuConcurrency, DeferStressStaysBoundedWithReaders) {
  const std::uint64_t n = maple_test::scaled(stress_deferrals, 1000);
  std::atomic<object *> shared{new object};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad_reads{0};
  std::atomic<std::uint64_t> reads{0};

  rcu::barrier();
  rcu::reset_peak_pending();
  std::size_t waits_before = rcu::stats().limit_waits;
  std::latch readers_started(2);
  auto reader = [&] {
    bool first = true;
    std::uint64_t local = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      rcu::read_guard g;
      if (first) {
        readers_started.count_down();
        first = false;
      }
      object *o = shared.load(std::memory_order_acquire);
      if (o->value.load(std::memory_order_relaxed) != magic) bad_reads.fetch_add(1);
      ++local;
    }
    reads.fetch_add(local);
  };
  std::thread r1(reader);
  std::thread r2(reader);
  readers_started.wait();

  auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    object *old = shared.exchange(new object, std::memory_order_acq_rel);
    rcu::defer(free_object, old);
  }
  stop = true;
  r1.join();
  r2.join();
  rcu::barrier();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rcu::deferred_stats s = rcu::stats();
  std::printf(
      "rcu stress (%s): %llu deferrals in %.2f s, peak pending %zu (limit %zu), %zu limit "
      "waits, %llu reads\n",
      rcu::backend_name(), static_cast<unsigned long long>(n), secs, s.peak_pending,
      rcu::pending_limit(), s.limit_waits - waits_before,
      static_cast<unsigned long long>(reads.load()));
  RecordProperty("peak_pending", static_cast<int>(s.peak_pending));
  EXPECT_EQ(bad_reads.load(), 0U);
  EXPECT_EQ(s.pending, 0U);
  // One deferring thread: it waits as soon as it passes the limit.
  EXPECT_LE(s.peak_pending, rcu::pending_limit() + 1);
  free_object(shared.load());
}

}  // namespace
