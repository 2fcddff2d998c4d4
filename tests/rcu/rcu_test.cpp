// The RCU layer on one thread (plus liburcu's worker): read sections and
// their nesting, deferred callbacks and barrier, retire_list batching, the
// pending bound, the allocation-failure fallbacks, and the aborts that
// replace deadlocks. The threaded properties are in
// rcu_concurrency_test.cpp.
#include <gtest/gtest.h>
#include <maple/rcu.h>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "rcu/test_hooks.h"

namespace rcu = maple::rcu;

namespace {

std::atomic<int> calls{0};
void count_call(void * /*unused*/) { calls.fetch_add(1); }

// Sets the pending bound for one test and puts the default back.
class limit_override {
 public:
  explicit limit_override(std::size_t l) : saved_(rcu::pending_limit()) {
    rcu::set_pending_limit(l);
  }
  ~limit_override() { rcu::set_pending_limit(saved_); }
  limit_override(const limit_override &) = delete;
  limit_override &operator=(const limit_override &) = delete;

 private:
  std::size_t saved_;
};

// An object whose deleter records that it ran.
struct tracked {
  std::atomic<int> *freed;
};
void free_tracked(void *p) {
  auto *t = static_cast<tracked *>(p);
  t->freed->fetch_add(1);
  delete t;
}

TEST(Rcu, BackendIsOneOfTheTwo) {
  std::string b = rcu::backend_name();
  EXPECT_TRUE(b == "urcu" || b == "std") << b;
}

TEST(Rcu, InReadSectionFollowsNestedGuards) {
  EXPECT_FALSE(rcu::in_read_section());
  {
    rcu::read_guard outer;
    EXPECT_TRUE(rcu::in_read_section());
    {
      rcu::read_guard inner;
      EXPECT_TRUE(rcu::in_read_section());
      {
        rcu::read_guard innermost;
        EXPECT_TRUE(rcu::in_read_section());
      }
      EXPECT_TRUE(rcu::in_read_section());
    }
    EXPECT_TRUE(rcu::in_read_section());
  }
  EXPECT_FALSE(rcu::in_read_section());
  // A thread may enter again after leaving.
  {
    rcu::read_guard again;
    EXPECT_TRUE(rcu::in_read_section());
  }
  EXPECT_FALSE(rcu::in_read_section());
}

TEST(Rcu, SynchronizeWithNoReadersReturns) {
  {
    rcu::read_guard g;  // registers this thread; it is not reading below
  }
  rcu::synchronize();
  rcu::synchronize();
  SUCCEED();
}

TEST(Rcu, BarrierRunsDeferredCallbacks) {
  calls = 0;
  for (int i = 0; i < 100; ++i) rcu::defer(count_call, nullptr);
  rcu::barrier();
  EXPECT_EQ(calls.load(), 100);
  EXPECT_EQ(rcu::stats().pending, 0U);
}

TEST(Rcu, DeferredObjectIsFreedAfterBarrier) {
  std::atomic<int> freed{0};
  rcu::defer(free_tracked, new tracked{&freed});
  rcu::barrier();
  EXPECT_EQ(freed.load(), 1);
}

TEST(Rcu, CallbackMayDeferAnother) {
  calls = 0;
  rcu::defer(
      [](void * /*unused*/) {
        calls.fetch_add(1);
        rcu::defer(count_call, nullptr);
      },
      nullptr);
  rcu::barrier();  // runs the first; the second was deferred after the call
  rcu::barrier();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(rcu::stats().pending, 0U);
}

TEST(Rcu, RetireListFreesTheWholeBatchAfterSubmit) {
  std::atomic<int> freed{0};
  rcu::retire_list list;
  EXPECT_TRUE(list.empty());
  for (int i = 0; i < 1000; ++i) list.add(new tracked{&freed}, free_tracked);
  EXPECT_EQ(list.size(), 1000U);
  EXPECT_EQ(freed.load(), 0);  // nothing is freed before submit
  list.submit();
  EXPECT_TRUE(list.empty());
  rcu::barrier();
  EXPECT_EQ(freed.load(), 1000);
  EXPECT_EQ(rcu::stats().pending, 0U);
}

TEST(Rcu, RetireListAddDeleteAndDestructorSubmit) {
  struct counted {
    std::atomic<int> *dtor;
    counted(const counted &) = delete;
    counted &operator=(const counted &) = delete;
    explicit counted(std::atomic<int> *d) : dtor(d) {}
    ~counted() { dtor->fetch_add(1); }
  };
  std::atomic<int> destroyed{0};
  {
    rcu::retire_list list;
    for (int i = 0; i < 70; ++i) list.add_delete(new counted(&destroyed));
    rcu::retire_list moved(std::move(list));
    EXPECT_TRUE(list.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(moved.size(), 70U);
  }  // the destructor submits
  rcu::barrier();
  EXPECT_EQ(destroyed.load(), 70);
}

TEST(Rcu, EmptySubmitDefersNothing) {
  std::size_t before = rcu::stats().pending;
  rcu::retire_list list;
  list.submit();
  EXPECT_EQ(rcu::stats().pending, before);
}

TEST(Rcu, DeferRunsInlineWhenBookkeepingCannotBeAllocated) {
  std::atomic<int> freed{0};
  maple::rcu::detail::fail_next_allocations(1);
  rcu::defer(free_tracked, new tracked{&freed});
  EXPECT_EQ(freed.load(), 1);  // already run: synchronize, then the callback
  EXPECT_EQ(rcu::stats().pending, 0U);
  maple::rcu::detail::fail_next_allocations(0);
}

TEST(Rcu, RetireListFreesAtOnceWhenAChunkCannotBeAllocated) {
  std::atomic<int> freed{0};
  rcu::retire_list list;
  // Two chunks' worth fill the first two chunks; the next add needs a
  // third, which fails.
  const int held = 2 * static_cast<int>(maple::rcu::detail::retire_chunk_capacity());
  for (int i = 0; i < held; ++i) list.add(new tracked{&freed}, free_tracked);
  EXPECT_EQ(freed.load(), 0);
  maple::rcu::detail::fail_next_allocations(1);
  list.add(new tracked{&freed}, free_tracked);
  EXPECT_EQ(freed.load(), held + 1);
  EXPECT_TRUE(list.empty());
  // The list works normally afterwards.
  list.add(new tracked{&freed}, free_tracked);
  list.submit();
  rcu::barrier();
  EXPECT_EQ(freed.load(), held + 2);
}

TEST(Rcu, RetireListWithAContextDeleter) {
  struct counter {
    std::atomic<int> freed{0};
    std::vector<int *> seen;
  } c;
  int objects[30] = {};
  {
    rcu::retire_list list(
        [](void *ctx, void *p) {
          auto *k = static_cast<counter *>(ctx);
          k->seen.push_back(static_cast<int *>(p));  // callbacks run one at a time here
          k->freed.fetch_add(1);
        },
        &c);
    for (int &o : objects) list.add(&o);
    list.add(new tracked{&c.freed}, free_tracked);  // a per-object deleter in the same list
    rcu::retire_list moved(std::move(list));        // the context goes along
    EXPECT_EQ(c.freed.load(), 0);
  }
  rcu::barrier();
  EXPECT_EQ(c.freed.load(), 31);
  EXPECT_EQ(c.seen.size(), 30U);
  for (int &o : objects) EXPECT_NE(std::find(c.seen.begin(), c.seen.end(), &o), c.seen.end());
}

TEST(Rcu, PendingStaysNearTheLimit) {
  limit_override limit(100);
  rcu::barrier();
  rcu::reset_peak_pending();
  std::size_t waits = rcu::stats().limit_waits;
  calls = 0;
  for (int i = 0; i < 5000; ++i) rcu::defer(count_call, nullptr);
  rcu::deferred_stats s = rcu::stats();
  // One deferring thread: it waits as soon as it passes the limit.
  EXPECT_LE(s.peak_pending, 101U);
  EXPECT_GT(s.limit_waits, waits);
  rcu::barrier();
  EXPECT_EQ(calls.load(), 5000);
}

TEST(Rcu, LimitBelowOneBecomesOne) {
  limit_override limit(0);
  EXPECT_EQ(rcu::pending_limit(), 1U);
}

TEST(RcuDeathTest, SynchronizeInsideAReadSectionAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        rcu::read_guard g;
        rcu::synchronize();
      },
      "synchronize called inside a read section");
}

TEST(RcuDeathTest, BarrierAndDeferInsideAReadSectionAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        rcu::read_guard g;
        rcu::barrier();
      },
      "barrier called inside a read section");
  EXPECT_DEATH(
      {
        rcu::read_guard g;
        rcu::defer(count_call, nullptr);
      },
      "defer called inside a read section");
}

TEST(RcuDeathTest, RetireListAddInsideAReadSectionAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        rcu::read_guard g;
        rcu::retire_list list;
        list.add(nullptr, count_call);
      },
      "retire_list::add called inside a read section");
}

TEST(RcuDeathTest, BarrierFromACallbackAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        rcu::defer([](void * /*unused*/) { rcu::barrier(); }, nullptr);
        rcu::barrier();
      },
      "barrier called from a deferred callback");
}

}  // namespace

namespace maple_test {
namespace {

// set_callback_cpu: this thread's callbacks run on a worker pinned to the
// CPU asked for (urcu), or nothing changes (std: callbacks run on the
// deferring threads); -1 goes back to the default worker.
TEST(RcuCallbackCpu, CallbacksRunOnTheCpuAskedFor) {
  static std::atomic<int> ran_on{-2};
  const bool pinned = maple::rcu::set_callback_cpu(0);
  EXPECT_EQ(pinned, std::string(maple::rcu::backend_name()) == "urcu");
  maple::rcu::defer([](void *) { ran_on.store(sched_getcpu()); }, nullptr);
  maple::rcu::barrier();
  if (pinned) {
    EXPECT_EQ(ran_on.load(), 0);
  }
  EXPECT_NE(ran_on.load(), -2);
  EXPECT_TRUE(maple::rcu::set_callback_cpu(-1) || !pinned);
  ran_on.store(-2);
  maple::rcu::defer([](void *) { ran_on.store(sched_getcpu()); }, nullptr);
  maple::rcu::barrier();
  EXPECT_NE(ran_on.load(), -2);
}

}  // namespace
}  // namespace maple_test
