// tests/tree/external_lock_test.cpp - a tree whose writers serialise on a lock the
// user owns (basic_raw_tree::set_external_lock; the kernel's
// MT_FLAGS_LOCK_EXTERN with mt_set_external_lock and its lockdep checks).
//
//   Api           the flag, the typed facade, switching back to the tree's
//                 own mutex; held() is asked only in checked builds; the
//                 destructor asks nothing.
//   Differential  every write (store, insert, erase, erase_range, alloc_*,
//                 bulk_load, clear, dup both ways, cursor store / erase /
//                 preallocate + store_prealloc) under a user std::mutex or
//                 std::shared_mutex with owner tracking, against the
//                 reference model, validate() after each.
//   Death         (checked builds) a write without the external lock aborts
//                 naming the call.
//   Concurrent    an RCU-mode tree: two writers serialised on the external
//                 lock, two lock-free readers; the tsan stage runs it.
#include "reference_model.h"
#include "test_env.h"

#include <maple/cursor.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>
#include <maple/tree.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace maple_test {
namespace {

using maple::range_entry;

// ---- user locks that know their owner ------------------------------------------------

/// A lock with owner tracking around `Mutex` (std::mutex or
/// std::shared_mutex): held() is what lockdep's lock_is_held() would say.
template <class Mutex>
class owned_lock {
 public:
  void lock() {
    m_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  void unlock() {
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    m_.unlock();
  }
  bool held() const noexcept {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  /// The tree's view of this lock; counts the held() queries.
  maple::external_lock external() const noexcept {
    return {[](const void *self) noexcept {
              auto *l = static_cast<const owned_lock *>(self);
              l->queries_.fetch_add(1, std::memory_order_relaxed);
              return l->held();
            },
            this};
  }
  std::uint64_t queries() const noexcept { return queries_.load(std::memory_order_relaxed); }
  Mutex &native() noexcept { return m_; }

 private:
  Mutex m_;
  std::atomic<std::thread::id> owner_{};
  mutable std::atomic<std::uint64_t> queries_{0};
};

/// Readers of a std::shared_mutex do not hold it for writing.
class owned_rwlock : public owned_lock<std::shared_mutex> {
 public:
  void lock_shared() { native().lock_shared(); }
  void unlock_shared() { native().unlock_shared(); }
};

void *val(std::uint64_t v) { return maple::make_value_entry(v); }

// ---- Api ---------------------------------------------------------------------------------------

TEST(ExternalLockApi, FlagAndSwitchingBack) {
  owned_lock<std::mutex> l;
  maple::raw_tree t;
  EXPECT_FALSE(t.uses_external_lock());
  t.set_external_lock(l.external());
  EXPECT_TRUE(t.uses_external_lock());
  {
    std::lock_guard<owned_lock<std::mutex>> g(l);
    ASSERT_FALSE(t.store(10, 20, val(1)));
  }
  t.set_external_lock({});  // back to the tree's own mutex
  EXPECT_FALSE(t.uses_external_lock());
  const std::uint64_t asked = l.queries();
  ASSERT_FALSE(t.store(30, 40, val(2)));  // no user lock needed, none asked
  {
    maple::write_guard w(t);  // takes the tree's mutex again
    maple::write_cursor c = w.cursor(50, 60);
    ASSERT_FALSE(c.store(val(3)));
  }
  EXPECT_EQ(l.queries(), asked);
  EXPECT_EQ(t.load(15), val(1));
  EXPECT_EQ(t.load(35), val(2));
  EXPECT_EQ(t.load(55), val(3));
  EXPECT_TRUE(t.validate()) << t.validate().message;

  // The typed facade.
  maple::tree<std::uint64_t> typed;
  typed.set_external_lock(l.external());
  EXPECT_TRUE(typed.uses_external_lock());
  {
    std::lock_guard<owned_lock<std::mutex>> g(l);
    ASSERT_FALSE(typed.store(1, 9, 7u));
    std::optional<std::uint64_t> gone;
    EXPECT_FALSE(typed.erase(5, &gone));
    EXPECT_EQ(gone, 7u);
  }
  typed.set_external_lock(maple::external_lock{});
  EXPECT_FALSE(typed.uses_external_lock());
  ASSERT_FALSE(typed.store(1, 1, 8u));
  EXPECT_EQ(typed.load(1), 8u);
}

// held() is asked before every write in checked builds and never otherwise.
TEST(ExternalLockApi, HeldIsAskedOnlyInCheckedBuilds) {
  owned_lock<std::mutex> l;
  maple::raw_tree t;
  t.set_external_lock(l.external());
  {
    std::lock_guard<owned_lock<std::mutex>> g(l);
    ASSERT_FALSE(t.store(1, 2, val(1)));
    ASSERT_FALSE(t.insert(5, 6, val(2)));
    EXPECT_EQ(maple_test::erased(t, 1), val(1));
    maple::write_guard w(t);
    maple::write_cursor c = w.cursor(8, 9);
    ASSERT_FALSE(c.store(val(3)));
  }
#ifdef MAPLE_CHECKED
  EXPECT_GE(l.queries(), 5u);
#else
  EXPECT_EQ(l.queries(), 0u);
#endif
}

// Destroying a tree asks for no lock: nothing may run beside a destructor.
TEST(ExternalLockApi, DestructorNeedsNoLock) {
  owned_lock<std::mutex> l;
  {
    maple::raw_tree t;
    t.set_external_lock(l.external());
    std::lock_guard<owned_lock<std::mutex>> g(l);
    for (std::uint64_t i = 0; i < 200; ++i) ASSERT_FALSE(t.store(i * 10, i * 10 + 5, val(i + 1)));
  }
  SUCCEED();
  {
    maple::raw_tree t(maple::tree_flags::rcu);
    t.set_external_lock(l.external());
    {
      std::lock_guard<owned_lock<std::mutex>> g(l);
      for (std::uint64_t i = 0; i < 200; ++i) ASSERT_FALSE(t.store(i * 10, i * 10 + 5, val(i + 1)));
    }
  }  // destroyed without the lock held
  maple::rcu::barrier();
}

// After switching back, the tree's own mutex serialises writers again.
TEST(ExternalLockApi, SwitchedBackWritersSerialiseOnTheInternalLock) {
  owned_lock<std::mutex> l;
  maple::raw_tree t;
  t.set_external_lock(l.external());
  {
    std::lock_guard<owned_lock<std::mutex>> g(l);
    ASSERT_FALSE(t.store(0, 99, val(1)));
  }
  t.set_external_lock({});
  const std::uint64_t n = scaled(2000, 100);
  std::vector<std::thread> writers;
  for (std::uint64_t w = 0; w < 2; ++w) {
    writers.emplace_back([&t, w, n] {
      for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t at = 1000 + (i * 2 + w) * 4;
        if (i % 3 == 2) {
          maple::write_guard g(t);
          maple::write_cursor c = g.cursor(at, at + 2);
          (void)c.store(val(at));
        } else {
          (void)t.store(at, at + 2, val(at));
        }
      }
    });
  }
  for (auto &th : writers) th.join();
  EXPECT_TRUE(t.validate()) << t.validate().message;
  for (std::uint64_t k = 0; k < 2 * n; ++k) {
    std::uint64_t at = 1000 + k * 4;
    ASSERT_EQ(t.load(at + 1), val(at)) << k;
  }
  EXPECT_FALSE(t.uses_external_lock());
}

// ---- Differential ------------------------------------------------------------------------------

/// The lowest window of `size` empty in the model inside [lo, hi].
std::optional<std::uint64_t> lowest_fit(const reference_model &m, std::uint64_t lo,
                                        std::uint64_t hi, std::uint64_t size) {
  std::uint64_t start = lo;
  for (const auto &[first, v] : m.map()) {
    if (v.last < start) continue;
    if (first > hi) break;
    if (first > start && first - start >= size) return start;
    if (v.last >= hi) return std::nullopt;
    start = v.last + 1;
  }
  if (start <= hi && hi - start >= size - 1) return start;
  return std::nullopt;
}

/// The highest such window.
std::optional<std::uint64_t> highest_fit(const reference_model &m, std::uint64_t lo,
                                         std::uint64_t hi, std::uint64_t size) {
  std::uint64_t end = hi;  // the window ends at or before end
  const auto &map = m.map();
  for (auto it = map.rbegin(); it != map.rend(); ++it) {
    const std::uint64_t first = it->first, last = it->second.last;
    if (first > end) continue;
    if (last < lo) break;
    if (last < end && end - last >= size) return end - (size - 1);
    if (first <= lo) return std::nullopt;
    end = first - 1;
  }
  if (end >= lo && end - lo >= size - 1) return end - (size - 1);
  return std::nullopt;
}

template <class Lock>
class ExternalLockDifferential : public ::testing::Test {};
using lock_kinds = ::testing::Types<owned_lock<std::mutex>, owned_rwlock>;
TYPED_TEST_SUITE(ExternalLockDifferential, lock_kinds);

TYPED_TEST(ExternalLockDifferential, EveryWriteUnderTheUserLock) {
  constexpr std::uint64_t kSpan = 1 << 16;  // indices used
  TypeParam lock, other;                    // the tree's and a copy's locks
  for (maple::tree_flags flags : {maple::tree_flags::none, maple::tree_flags::alloc}) {
    SCOPED_TRACE(flags == maple::tree_flags::alloc ? "allocation tree" : "plain tree");
    maple::raw_tree t(flags);
    t.set_external_lock(lock.external());
    reference_model m;
    rng r(test_seed(0x6c6f636b));
    std::uint64_t next_value = 1;
    auto fresh = [&next_value] { return val(next_value++); };
    const std::uint64_t ops = scaled(3000, 200);
    for (std::uint64_t op = 0; op < ops; ++op) {
      // Readers beside nothing: a shared holder does not hold for writing.
      if constexpr (std::is_same_v<TypeParam, owned_rwlock>) {
        std::shared_lock<TypeParam> rd(lock);
        ASSERT_FALSE(lock.held());
        ASSERT_EQ(t.load(op % kSpan), m.load(op % kSpan));
      }
      std::lock_guard<TypeParam> g(lock);
      const std::uint64_t first = r.below(kSpan), len = r.chance(1, 8) ? r.below(2000) : r.below(8);
      const std::uint64_t last = std::min(first + len, kSpan - 1);
      std::string what;
      switch (r.below(13)) {
        case 0:
        case 1:
        case 2: {
          what = "store";
          void *e = fresh();
          ASSERT_FALSE(t.store(first, last, e));
          m.store(first, last, e);
          break;
        }
        case 3: {
          what = "insert";
          void *e = fresh();
          ASSERT_EQ(t.insert(first, last, e), m.insert(first, last, e));
          break;
        }
        case 4: {
          what = "erase";
          ASSERT_EQ(maple_test::erased(t, first), m.erase(first));
          break;
        }
        case 5: {
          what = "erase_range";
          ASSERT_FALSE(t.store(first, last, nullptr));
          m.store(first, last, nullptr);
          break;
        }
        case 6: {
          const bool rev = r.chance(1, 2);
          what = rev ? "alloc_rrange" : "alloc_range";
          const std::uint64_t size = 1 + r.below(64), lo = r.below(kSpan / 2), hi = lo + kSpan / 4;
          std::uint64_t at = 0;
          void *e = fresh();
          std::error_code ec =
              rev ? t.alloc_rrange(e, size, lo, hi, at) : t.alloc_range(e, size, lo, hi, at);
          std::optional<std::uint64_t> want =
              rev ? highest_fit(m, lo, hi, size) : lowest_fit(m, lo, hi, size);
          if (!want) {
            ASSERT_EQ(ec, maple::errc::busy);
          } else {
            ASSERT_FALSE(ec) << ec.message();
            ASSERT_EQ(at, *want);
            m.store(at, at + size - 1, e);
          }
          break;
        }
        case 7: {
          what = "cursor store";
          maple::write_guard w(t);
          maple::write_cursor c = w.cursor(first, last);
          void *e = fresh();
          ASSERT_FALSE(c.store(e));
          m.store(first, last, e);
          c.set(last);  // the cursor stays usable under the same guard
          ASSERT_EQ(c.walk(), e);
          break;
        }
        case 8: {
          what = "cursor erase";
          maple::write_guard w(t);
          maple::write_cursor c = w.cursor(first);
          ASSERT_EQ(maple_test::erased(c), m.erase(first));
          break;
        }
        case 9: {
          what = "cursor preallocate + store_prealloc";
          maple::write_guard w(t);
          maple::write_cursor c = w.cursor(first, last);
          void *e = fresh();
          ASSERT_FALSE(c.preallocate(e));
          c.store_prealloc(e);
          m.store(first, last, e);
          break;
        }
        case 10: {
          what = "dup";
          // Both trees on external locks (the same one, or two held
          // together as fork holds both address spaces' locks), then the
          // copy on its own mutex, then a copy back into an external tree.
          maple::raw_tree copy(flags), back(flags);
          copy.set_external_lock(r.chance(1, 2) ? lock.external() : other.external());
          {
            std::lock_guard<TypeParam> g2(other);
            ASSERT_FALSE(t.dup(copy));
          }
          ASSERT_TRUE(same_contents(copy, m));
          ASSERT_TRUE(copy.validate()) << copy.validate().message;
          copy.set_external_lock({});
          back.set_external_lock(lock.external());
          ASSERT_FALSE(copy.dup(back, [](void *e) { return e; }));
          ASSERT_TRUE(same_contents(back, m));
          maple::raw_tree internal(flags);
          ASSERT_FALSE(back.dup(internal));
          ASSERT_TRUE(same_contents(internal, m));
          break;
        }
        case 11: {
          what = "clear + bulk_load";
          if (!r.chance(1, 4)) {  // rebuild the same contents
            std::vector<range_entry> all = m.ranges();
            t.clear();
            ASSERT_TRUE(t.empty());
            ASSERT_FALSE(t.bulk_load(all));
          } else {  // a fresh, sparse set
            t.clear();
            m.clear();
            std::vector<range_entry> all;
            for (std::uint64_t i = r.below(50); i + 40 < kSpan; i += 1 + r.below(400)) {
              all.push_back({i, i + r.below(40), fresh()});
              i = all.back().last;
            }
            ASSERT_FALSE(t.bulk_load(all));
            for (const range_entry &x : all) m.store(x.first, x.last, x.entry);
          }
          break;
        }
        default: {
          what = "set_rcu_mode";
          t.set_rcu_mode(!t.rcu_mode());
          break;
        }
      }
      ASSERT_TRUE(t.validate()) << "after " << what << " #" << op << ": " << t.validate().message;
      ASSERT_TRUE(same_contents(t, m)) << "after " << what << " #" << op;
    }
    std::lock_guard<TypeParam> g(lock);
    t.clear();
    EXPECT_TRUE(t.empty());
  }
  maple::rcu::barrier();
#ifdef MAPLE_CHECKED
  EXPECT_GT(lock.queries(), 0u);
#endif
}

// A write guard spans several cursor writes and stays valid across them;
// the stale-cursor rules (tenure, epoch) still apply with an external lock.
TEST(ExternalLockCursor, GuardSectionsAndPausedCursors) {
  owned_lock<std::mutex> l;
  maple::raw_tree t;
  t.set_external_lock(l.external());
  reference_model m;
  std::lock_guard<owned_lock<std::mutex>> g(l);
  {
    maple::write_guard w(t);
    maple::write_cursor c = w.cursor(0);
    for (std::uint64_t i = 0; i < 300; ++i) {
      c.set_range(i * 16, i * 16 + 9);
      ASSERT_FALSE(c.store(val(i + 1)));
      m.store(i * 16, i * 16 + 9, val(i + 1));
    }
    // Iterate with erases: the cursor continues after each.
    c.set(0);
    for (void *e = c.find(); e; e = c.find()) {
      if (maple::value_of_entry(e) % 3 == 0) {
        std::uint64_t at = c.index();
        EXPECT_EQ(maple_test::erased(c), e);
        m.erase(at);
      }
    }
  }
  EXPECT_TRUE(same_contents(t, m));
  EXPECT_TRUE(t.validate()) << t.validate().message;
  // A paused cursor carries on in a later guard section, after the user
  // dropped and re-took its lock.
  std::optional<maple::write_guard> w1(std::in_place, t);
  maple::write_cursor c = w1->cursor(0);
  std::vector<range_entry> want = m.ranges();
  ASSERT_GT(want.size(), 12u);
  for (std::size_t i = 0; i < 10; ++i) ASSERT_EQ(c.find(), want[i].entry);
  c.pause();
  w1.reset();
  l.unlock();
  l.lock();
  maple::write_guard w2(t);
  ASSERT_EQ(c.find(), want[10].entry);  // resumes after the paused range
  EXPECT_EQ(c.index(), want[10].first);
  ASSERT_FALSE(c.store(val(1000)));
  m.store(want[10].first, want[10].last, val(1000));
  ASSERT_EQ(c.find(), want[11].entry);
  EXPECT_TRUE(same_contents(t, m));
}

// ---- Death (checked builds) ---------------------------------------------------------------------

#ifdef MAPLE_CHECKED

/// The message of a write made without the external lock.
std::string not_held(const std::string &call) {
  std::string out;
  for (char ch : "maple: external lock not held in " + call) {
    if (std::string_view(".[]{}()\\*+?|^$").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  return out;
}

class ExternalLockDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ExternalLockDeathTest, WritesWithoutTheLockAbort) {
  owned_lock<std::mutex> l;
  maple::raw_tree t;
  t.set_external_lock(l.external());
  EXPECT_DEATH((void)t.store(1, 2, val(1)), not_held("store()"));
  EXPECT_DEATH((void)t.insert(1, 2, val(1)), not_held("insert()"));
  EXPECT_DEATH((void)t.erase(1), not_held("erase()"));
  EXPECT_DEATH(t.clear(), not_held("clear()"));
  EXPECT_DEATH(t.set_rcu_mode(true), not_held("set_rcu_mode()"));
  std::vector<range_entry> one{{5, 6, val(1)}};
  EXPECT_DEATH((void)t.bulk_load(one), not_held("bulk_load()"));
  std::uint64_t at = 0, next = 0;
  bool wrapped = false;
  EXPECT_DEATH((void)t.alloc_range(val(1), 1, 0, 100, at), not_held("alloc_range()"));
  EXPECT_DEATH((void)t.alloc_rrange(val(1), 1, 0, 100, at), not_held("alloc_rrange()"));
  EXPECT_DEATH((void)t.alloc_cyclic(val(1), 0, 100, next, at, wrapped), not_held("alloc_cyclic()"));
  EXPECT_DEATH({ maple::write_guard w(t); }, not_held("write_guard()"));
}

// Held by another thread is not held.
TEST_F(ExternalLockDeathTest, LockHeldByAnotherThreadDoesNotCount) {
  EXPECT_DEATH(
      {
        owned_lock<std::mutex> l;
        maple::raw_tree t;
        t.set_external_lock(l.external());
        std::atomic<bool> taken{false};
        std::thread holder([&l, &taken] {
          l.lock();  // held until the process ends
          taken.store(true);
          for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
        });
        while (!taken.load()) std::this_thread::yield();
        (void)t.store(1, 2, val(1));
        holder.join();  // not reached
      },
      not_held("store()"));
}

// A write guard made under the lock: its cursors' writes assert the lock
// too, so dropping the lock under a live guard is caught at the next write.
TEST_F(ExternalLockDeathTest, CursorWriteAfterTheLockWasDropped) {
  auto with_dropped_lock = [](auto &&write) {
    owned_lock<std::mutex> l;
    maple::raw_tree t;
    t.set_external_lock(l.external());
    l.lock();
    maple::write_guard w(t);
    maple::write_cursor c = w.cursor(10, 20);
    l.unlock();
    write(c);
  };
  EXPECT_DEATH(with_dropped_lock([](maple::write_cursor &c) { (void)c.store(val(1)); }),
               not_held("write_cursor::store()"));
  EXPECT_DEATH(with_dropped_lock([](maple::write_cursor &c) { (void)c.erase(); }),
               not_held("write_cursor::erase()"));
  EXPECT_DEATH(with_dropped_lock([](maple::write_cursor &c) { (void)c.preallocate(val(1)); }),
               not_held("write_cursor::preallocate()"));
  EXPECT_DEATH(with_dropped_lock([](maple::write_cursor &c) { c.store_prealloc(val(1)); }),
               not_held("write_cursor::store_prealloc()"));
}

TEST_F(ExternalLockDeathTest, DupAssertsEachExternalSide) {
  owned_lock<std::mutex> a, b;
  maple::raw_tree src, dst, internal;
  src.set_external_lock(a.external());
  dst.set_external_lock(b.external());
  {
    std::lock_guard<owned_lock<std::mutex>> g(a);
    ASSERT_FALSE(src.store(1, 2, val(1)));
  }
  EXPECT_DEATH((void)src.dup(internal), not_held("dup() (source tree)"));
  EXPECT_DEATH((void)internal.dup(dst), not_held("dup() (destination tree)"));
  EXPECT_DEATH(
      {
        std::lock_guard<owned_lock<std::mutex>> g(a);
        (void)src.dup(dst);
      },
      not_held("dup() (destination tree)"));
  // The typed facade's writes go through the same checks.
  EXPECT_DEATH(
      {
        maple::tree<std::uint64_t> typed;
        typed.set_external_lock(a.external());
        (void)typed.erase_range(1, 5);
      },
      not_held("store()"));
}

#endif  // MAPLE_CHECKED

// ---- Concurrent: RCU readers beside writers serialised on the external lock ---------------------

constexpr unsigned kFirstBits = 20, kLenBits = 12;
constexpr std::uint64_t kSpace = std::uint64_t{1} << kFirstBits;
constexpr std::uint64_t kMaxLen = (std::uint64_t{1} << kLenBits) - 1;

/// An entry that says which range it was stored over (and by whom, when).
void *enc(std::uint64_t first, std::uint64_t last, std::uint64_t stamp) {
  return maple::make_value_entry(first | (last - first) << kFirstBits |
                                 stamp << (kFirstBits + kLenBits));
}
std::pair<std::uint64_t, std::uint64_t> stored_range(const void *e) {
  std::uint64_t v = maple::value_of_entry(e);
  std::uint64_t first = v & (kSpace - 1);
  return {first, first + ((v >> kFirstBits) & kMaxLen)};
}

/// The first failure any thread saw (threads cannot use ASSERT_*).
class failures {
 public:
  void add(const std::string &what) {
    std::lock_guard<std::mutex> g(m_);
    if (first_.empty()) first_ = what;
    any_.store(true, std::memory_order_relaxed);
  }
  bool any() const noexcept { return any_.load(std::memory_order_relaxed); }
  std::string first() {
    std::lock_guard<std::mutex> g(m_);
    return first_;
  }

 private:
  std::mutex m_;
  std::string first_;
  std::atomic<bool> any_{false};
};

TEST(ExternalLockConcurrent, TwoWritersOnTheUserLockBesideLockFreeReaders) {
  owned_lock<std::mutex> lock;  // guards the tree's writes and the model
  maple::raw_tree t(maple::tree_flags::rcu);
  t.set_external_lock(lock.external());
  reference_model m;
  failures fail;
  std::atomic<unsigned> writers_left{2};
  const std::uint64_t ops = scaled(6000, 300);

  auto writer = [&](std::uint64_t id) {
    rng r(test_seed(0x77726974) + id);
    for (std::uint64_t op = 0; op < ops && !fail.any(); ++op) {
      const std::uint64_t first = r.below(kSpace - kMaxLen - 1);
      const std::uint64_t last = first + (r.chance(1, 10) ? r.below(kMaxLen) : r.below(16));
      void *e = enc(first, last, op << 1 | id);
      std::lock_guard<owned_lock<std::mutex>> g(lock);
      switch (r.below(5)) {
        case 0:
        case 1:
          if (t.store(first, last, e)) fail.add("store failed");
          m.store(first, last, e);
          break;
        case 2:
          if (maple_test::erased(t, first) != m.erase(first))
            fail.add("erase returned another entry");
          break;
        case 3: {
          maple::write_guard w(t);
          maple::write_cursor c = w.cursor(first, last);
          if (c.preallocate(e)) {
            fail.add("preallocate failed");
            break;
          }
          c.store_prealloc(e);
          m.store(first, last, e);
          break;
        }
        default: {
          maple::write_guard w(t);
          maple::write_cursor c = w.cursor(first, last);
          if (c.store(nullptr)) fail.add("cursor erase_range failed");
          m.store(first, last, nullptr);
          break;
        }
      }
      if (op % 512 == 0) {
        if (auto rep = t.validate(); !rep) fail.add("validate: " + rep.message);
      }
    }
    writers_left.fetch_sub(1, std::memory_order_release);
  };

  auto reader = [&](std::uint64_t id) {
    rng r(test_seed(0x72656164) + id);
    std::uint64_t rounds = 0;
    while (writers_left.load(std::memory_order_acquire) != 0 || rounds < 4) {
      ++rounds;
      if (fail.any()) return;
      // One-shot loads: an entry is only ever seen inside the range it was
      // stored over.
      for (int i = 0; i < 64; ++i) {
        std::uint64_t at = r.below(kSpace);
        if (void *e = t.load(at)) {
          auto [f, l] = stored_range(e);
          if (at < f || at > l) fail.add("load saw an entry outside its range");
        }
      }
      // An iteration inside one read section: ordered, disjoint ranges,
      // each within the range its entry was stored over.
      maple::rcu::read_guard g;
      std::uint64_t lo = r.below(kSpace), prev_last = 0;
      bool first_range = true;
      int steps = 0;
      for (range_entry x : t.ranges(lo, lo + 50000)) {
        auto [f, l] = stored_range(x.entry);
        if (x.first < f || x.last > l) fail.add("iteration saw a range outside its entry's");
        if (!first_range && x.first <= prev_last) fail.add("iteration went backwards");
        prev_last = x.last;
        first_range = false;
        if (++steps == 200) break;
      }
    }
  };

  std::vector<std::thread> threads;
  threads.emplace_back(writer, 0);
  threads.emplace_back(writer, 1);
  threads.emplace_back(reader, 0);
  threads.emplace_back(reader, 1);
  for (auto &th : threads) th.join();
  ASSERT_FALSE(fail.any()) << fail.first();
  {
    std::lock_guard<owned_lock<std::mutex>> g(lock);
    EXPECT_TRUE(t.validate()) << t.validate().message;
    EXPECT_TRUE(same_contents(t, m));
    EXPECT_TRUE(same_contents_backward(t, m));
    t.clear();
  }
  maple::rcu::barrier();
}

}  // namespace
}  // namespace maple_test
