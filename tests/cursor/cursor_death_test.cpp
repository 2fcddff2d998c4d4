// tests/cursor/cursor_death_test.cpp - the cursor rules of checked builds
// (MAPLE_CHECKED; docs/cursor.md), as death tests, and the legal patterns
// next to them.
//
// A cursor is valid inside the guard section it was positioned in and until
// a write it did not make. Breaking that aborts with
//   "maple: cursor misuse in <op>(): cursor state <state>, range [<a>, <b>]: <rule>"
// Each death test matches the operation, the state and the rule's text.
// Legal patterns: pause() before dropping the guard, or set()/reset() after
// re-taking it (or after another writer ran); a cursor's own writes keep it
// valid. Those run as ordinary tests and must continue correctly.
//
// Without MAPLE_CHECKED the death tests skip (nothing is checked); the
// legal-pattern tests run in every build.
#include "cursor_types.h"
#include "reference_model.h"
#include "test_env.h"

#include <maple/cursor.h>
#include <maple/raw_tree.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace maple_test {
namespace {

using cs = maple::cursor_state;
using maple::range_entry;

#ifdef MAPLE_CHECKED
#define SKIP_UNLESS_CHECKED() (void)0
#else
#define SKIP_UNLESS_CHECKED() \
  GTEST_SKIP() << "cursor rules are checked only in MAPLE_CHECKED builds"
#endif

/// `s` as a POSIX extended regex matching it literally.
std::string lit(const std::string &s) {
  std::string out;
  for (char ch : s) {
    if (std::string_view(".[]{}()\\*+?|^$").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  return out;
}

/// The message of a broken rule: operation, state, range and rule text.
std::string misuse(const std::string &op, const char *state, const std::string &range,
                   const std::string &rule) {
  return lit("maple: cursor misuse in " + op + "(): cursor state " + state + ", range " + range +
             ": " + rule);
}

const std::string kReadSectionRule =
    "read cursor used after its read section ended and a new one began; pause() before leaving "
    "it, or set()/reset() after entering the new one";
const std::string kNoReadGuardRule = "read cursor used outside a read guard";
const std::string kRetakenRule =
    "write cursor used after the write lock was dropped and re-taken; pause() before dropping "
    "it, or set()/reset() after re-taking it";
const std::string kNoLockRule =
    "write cursor used while the tree's lock is not held (its write guard has ended)";
const std::string kModifiedRule =
    "the tree was modified since the cursor was positioned, by a write the cursor did not make; "
    "set()/reset() it first";

/// [16i, 16i+9] -> val(i) for i = 1..n (so no range starts at 0: "%#llx"
/// prints 0 without its 0x).
void fill16(maple::raw_tree &t, reference_model &m, std::uint64_t n) {
  for (std::uint64_t i = 1; i <= n; ++i) {
    ASSERT_FALSE(t.store(16 * i, 16 * i + 9, val(i)));
    m.store(16 * i, 16 * i + 9, val(i));
  }
}

class CursorDeath : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    fill16(t, m, 200);
  }
  maple::raw_tree t;
  reference_model m;
};

// ---- read cursors -------------------------------------------------------------------------

TEST_F(CursorDeath, ReadGuardDroppedAndRetaken) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0);
        c.find();  // [0x10, 0x19]
        r1.reset();
        maple::read_guard r2(t);
        c.next();
      },
      misuse("next", "active", "[0x10, 0x19]", kReadSectionRule));
  // The same for every read operation, and from the other positioned states.
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0x20);
        c.walk();
        r1.reset();
        maple::read_guard r2(t);
        c.walk();
      },
      misuse("walk", "active", "[0x20, 0x29]", kReadSectionRule));
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0x10);
        while (c.find(0x35)) {
        }
        r1.reset();
        maple::read_guard r2(t);
        c.find();
      },
      misuse("find", "overflow", "[0x30, 0x39]", kReadSectionRule));
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0x30);
        while (c.find_rev(0x20)) {
        }
        r1.reset();
        maple::read_guard r2(t);
        c.prev_range();
      },
      misuse("prev_range", "underflow", "[0x20, 0x29]", kReadSectionRule));
}

TEST_F(CursorDeath, ReadGuardDroppedAndNotRetaken) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0x40);
        c.walk();
        r1.reset();
        c.prev();
      },
      misuse("prev", "active", "[0x40, 0x49]", kNoReadGuardRule));
  // Outside any read section even a fresh (start) cursor may not read.
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0x40);
        r1.reset();
        c.find();
      },
      misuse("find", "start", "[0x40, 0x40]", kNoReadGuardRule));
}

TEST_F(CursorDeath, EmptyTreeNoneStateIsPositionedToo) {
  SKIP_UNLESS_CHECKED();
  maple::raw_tree e;
  EXPECT_DEATH(
      {
        auto r1 = std::make_unique<maple::read_guard>(e);
        maple::cursor c = r1->cursor(5);
        c.walk();  // none, [0, max]
        r1.reset();
        maple::read_guard r2(e);
        c.next_range();
      },
      misuse("next_range", "none", "[0, 0xffffffffffffffff]", kReadSectionRule));
}

// The November 2025 kernel bug (lock_vma_under_rcu): a retry loop drops the
// RCU read lock and re-takes it, then reuses the maple state without
// mas_set(). Here the retry reuses the cursor positioned in the first pass.
TEST_F(CursorDeath, RetryLoopWithoutSet) {
  SKIP_UNLESS_CHECKED();
  auto lookup_with_retry = [this](std::uint64_t addr, bool reset_on_retry) {
    std::optional<maple::cursor> c;
    for (int attempt = 0; attempt < 2; ++attempt) {
      maple::read_guard r(t);
      if (!c) c.emplace(r.cursor(addr));
      if (reset_on_retry) c->set(addr);
      void *e = c->walk();
      if (attempt == 1) return e;  // first attempt "fails to lock the VMA": retry
    }
    return static_cast<void *>(nullptr);
  };
  EXPECT_EQ(lookup_with_retry(0x55, true), val(5));  // the fixed version
  EXPECT_DEATH(lookup_with_retry(0x55, false),
               misuse("walk", "active", "[0x50, 0x59]", kReadSectionRule));
}

TEST_F(CursorDeath, AnotherWriterModifiedTheTree) {
  SKIP_UNLESS_CHECKED();
  // A read cursor positioned, then a write through the tree's own API (it
  // takes the lock: no write guard is held here).
  EXPECT_DEATH(
      {
        maple::read_guard r(t);
        maple::cursor c = r.cursor(0x10);
        c.find();
        (void)t.store(0x1000, 0x1fff, val(99));
        c.next();
      },
      misuse("next", "active", "[0x10, 0x19]", kModifiedRule));
  // Erase and clear count as writes too.
  EXPECT_DEATH(
      {
        maple::read_guard r(t);
        maple::cursor c = r.cursor(0x30);
        c.walk();
        (void)t.erase(0x50);
        c.find_rev();
      },
      misuse("find_rev", "active", "[0x30, 0x39]", kModifiedRule));
  // Another write cursor under the same guard: a write this one did not make.
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor a = w.cursor(0x10);
        maple::write_cursor b = w.cursor(0x20, 0x2f);
        a.find();
        (void)b.store(val(98));
        (void)a.store(val(97));
      },
      misuse("store", "active", "[0x10, 0x19]", kModifiedRule));
}

// ---- write cursors ---------------------------------------------------------------------------

TEST_F(CursorDeath, WriteLockDroppedAndRetaken) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        auto w1 = std::make_unique<maple::write_guard>(t);
        maple::write_cursor c = w1->cursor(0x10);
        c.find();
        w1.reset();
        maple::write_guard w2(t);
        c.next();
      },
      misuse("next", "active", "[0x10, 0x19]", kRetakenRule));
  EXPECT_DEATH(
      {
        auto w1 = std::make_unique<maple::write_guard>(t);
        maple::write_cursor c = w1->cursor(0x10);
        c.find();
        w1.reset();
        maple::write_guard w2(t);
        (void)c.erase();
      },
      misuse("erase", "active", "[0x10, 0x19]", kRetakenRule));
}

TEST_F(CursorDeath, WriteCursorAfterItsGuardEnded) {
  SKIP_UNLESS_CHECKED();
  // Writing without the lock: caught whatever the cursor's state.
  EXPECT_DEATH(
      {
        auto w1 = std::make_unique<maple::write_guard>(t);
        maple::write_cursor c = w1->cursor(0x1000, 0x1fff);
        w1.reset();
        (void)c.store(val(5));
      },
      misuse("store", "start", "[0x1000, 0x1fff]", kNoLockRule));
  EXPECT_DEATH(
      {
        auto w1 = std::make_unique<maple::write_guard>(t);
        maple::write_cursor c = w1->cursor(0x10);
        c.walk();
        c.pause();  // pausing makes re-taking legal, not going without the lock
        w1.reset();
        c.find();
      },
      misuse("find", "paused", "[0x10, 0x19]", kNoLockRule));
  EXPECT_DEATH(
      {
        auto w1 = std::make_unique<maple::write_guard>(t);
        maple::write_cursor c = w1->cursor(0x10);
        w1.reset();
        (void)c.preallocate(val(5));
      },
      misuse("preallocate", "start", "[0x10, 0x10]", kNoLockRule));
}

// ---- store_prealloc ----------------------------------------------------------------------------

TEST_F(CursorDeath, StorePreallocWithoutPreallocate) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor c = w.cursor(0x1000, 0x1fff);
        c.store_prealloc(val(5));
      },
      misuse("store_prealloc", "start", "[0x1000, 0x1fff]",
             "store_prealloc() without a successful preallocate()"));
  // A preallocation is used up by its store.
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor c = w.cursor(0x1000, 0x1fff);
        (void)c.preallocate(val(5));
        c.store_prealloc(val(5));
        c.store_prealloc(val(5));
      },
      misuse("store_prealloc", "paused", "[0x1000, 0x1fff]",
             "store_prealloc() without a successful preallocate()"));
  // release() gives it up.
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor c = w.cursor(0x1000, 0x1fff);
        (void)c.preallocate(val(5));
        c.release();
        c.store_prealloc(val(5));
      },
      misuse("store_prealloc", "start", "[0x1000, 0x1fff]",
             "store_prealloc() without a successful preallocate()"));
}

/// A resource that always fails.
class no_memory_resource : public std::pmr::memory_resource {
  void *do_allocate(std::size_t, std::size_t) override { throw std::bad_alloc(); }
  void do_deallocate(void *, std::size_t, std::size_t) override {}
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
};

TEST_F(CursorDeath, StorePreallocAfterAFailedPreallocate) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        no_memory_resource mr;
        maple::raw_tree u(&mr);
        maple::write_guard w(u);
        maple::write_cursor c = w.cursor(0x10, 0x20);  // needs a node
        if (c.preallocate(val(5)) != maple::errc::no_memory) std::abort();
        c.reset();
        c.store_prealloc(val(5));
      },
      misuse("store_prealloc", "start", "[0x10, 0x20]",
             "store_prealloc() without a successful preallocate()"));
}

TEST_F(CursorDeath, StorePreallocAfterTheRangeChanged) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor c = w.cursor(0x1000, 0x1fff);
        (void)c.preallocate(val(5));
        c.set_range(0x1000, 0x2fff);
        c.store_prealloc(val(5));
      },
      misuse("store_prealloc", "start", "[0x1000, 0x2fff]",
             "the range changed between preallocate() and store_prealloc()"));
  // walk() re-targets [index, last] to the range found: a change too.
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor c = w.cursor(0x12, 0x15);
        (void)c.preallocate(val(5));
        c.walk();  // [0x10, 0x19]
        c.store_prealloc(val(5));
      },
      misuse("store_prealloc", "active", "[0x10, 0x19]",
             "the range changed between preallocate() and store_prealloc()"));
}

TEST_F(CursorDeath, StorePreallocAfterTheTreeChanged) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor a = w.cursor(0x1000, 0x1fff);
        maple::write_cursor b = w.cursor(0x2000, 0x2fff);
        (void)a.preallocate(val(5));
        (void)b.store(val(6));
        a.store_prealloc(val(5));
      },
      misuse("store_prealloc", "start", "[0x1000, 0x1fff]",
             "the tree changed between preallocate() and store_prealloc()"));
}

TEST_F(CursorDeath, StorePreallocWithAnotherEntry) {
  SKIP_UNLESS_CHECKED();
  EXPECT_DEATH(
      {
        maple::write_guard w(t);
        maple::write_cursor c = w.cursor(0x1000, 0x1fff);
        (void)c.preallocate(val(5));
        c.store_prealloc(nullptr);
      },
      misuse("store_prealloc", "start", "[0x1000, 0x1fff]",
             "store_prealloc() with another entry than preallocate() was given"));
}

// The reserve is all store_prealloc() may use: a store that needs more
// nodes than were reserved aborts instead of allocating. Here the tree
// changes after preallocate() so that an append that fitted in place now
// splits the leaf. Checked builds stop at the rule first; unchecked builds
// hit the trap in the writer. (Runs in every build.)
TEST_F(CursorDeath, StorePreallocNeverAllocates) {
#ifdef MAPLE_CHECKED
  const std::string message = misuse("store_prealloc", "start", "[0x100, 0x100]",
                                     "the tree changed between preallocate() and store_prealloc()");
#else
  const std::string message =
      lit("maple: store_prealloc() needed more nodes than preallocate() reserved");
#endif
  EXPECT_DEATH(
      {
        maple::raw_tree u;  // one leaf: [16i, 16i+9] for i = 1..3 and the gaps
        for (std::uint64_t i = 1; i <= 3; ++i) (void)u.store(16 * i, 16 * i + 9, val(i));
        maple::write_guard w(u);
        maple::write_cursor a = w.cursor(0x100, 0x100);
        if (a.preallocate(val(9)) || a.reserved() != 0) std::exit(3);  // fits in place
        maple::write_cursor b = w.cursor(0);
        for (std::uint64_t i = 4; i <= 7; ++i) {  // fill the leaf: 15 of 16 slots
          b.set_range(16 * i, 16 * i + 9);
          (void)b.store(val(i));
        }
        a.store_prealloc(val(9));  // now needs a split
      },
      message);
}

// ---- the legal patterns -------------------------------------------------------------------------
// (Ordinary tests: they run in every build, and in checked builds they
// prove that the checks do not fire on correct code.)

using CursorRules = CursorDeath;

TEST_F(CursorRules, PauseBeforeDroppingTheReadGuard) {
  std::vector<range_entry> all = m.ranges(), got;
  auto r1 = std::make_unique<maple::read_guard>(t);
  maple::cursor c = r1->cursor(0);
  for (int k = 0; k < 5; ++k) {
    void *e = c.find();
    got.push_back(here(c, e));
  }
  c.pause();
  r1.reset();
  // ... the lock is not held: writers may run (none does here) ...
  maple::read_guard r2(t);
  for (void *e = c.next(); e; e = c.next()) got.push_back(here(c, e));  // next() from a pause
  EXPECT_EQ(got, all);
}

TEST_F(CursorRules, PauseBeforeDroppingThenAnotherWriterRan) {
  // pause() also covers writes made while the lock was dropped: the cursor
  // re-walks from where it stopped.
  auto r1 = std::make_unique<maple::read_guard>(t);
  maple::cursor c = r1->cursor(0);
  for (int k = 0; k < 5; ++k) c.find();  // [0x50, 0x59]
  c.pause();
  r1.reset();
  ASSERT_FALSE(t.store(0x55, 0x65, val(1000)));  // over the end of 5 and the start of 6
  m.store(0x55, 0x65, val(1000));
  maple::read_guard r2(t);
  // find() resumes at 0x5a, now inside [0x55, 0x65] -> 1000.
  void *e = c.find();
  EXPECT_EQ(here(c, e), (range_entry{0x55, 0x65, val(1000)}));
  e = c.find();
  EXPECT_EQ(here(c, e), (range_entry{0x66, 0x69, val(6)}));  // the rest of range 6
}

TEST_F(CursorRules, SetOrResetAfterRetakingTheReadGuard) {
  auto r1 = std::make_unique<maple::read_guard>(t);
  maple::cursor c = r1->cursor(0);
  c.find();
  c.find();  // [0x20, 0x29]
  r1.reset();
  {
    maple::read_guard r2(t);
    c.set(0x25);
    EXPECT_EQ(c.find(), val(2));
    EXPECT_EQ(c.next(), val(3));
  }
  {
    maple::read_guard r3(t);
    c.reset();  // keeps [index, last] = [0x30, 0x39]: starts over there
    EXPECT_EQ(c.find(), val(3));
    EXPECT_EQ(c.next(), val(4));
  }
}

TEST_F(CursorRules, SetAfterAnotherWriter) {
  maple::read_guard r(t);
  maple::cursor c = r.cursor(0x10);
  c.find();
  ASSERT_FALSE(t.store(0x20, 0x2f, val(500)));
  c.set(0x11);  // re-targeted: legal again
  EXPECT_EQ(c.find(), val(1));
  EXPECT_EQ(c.next(), val(500));
  EXPECT_TRUE(pos_is(c, 0x20, 0x2f, cs::active));
}

TEST_F(CursorRules, NestedReadGuards) {
  maple::read_guard outer(t);
  maple::cursor c = outer.cursor(0);
  c.find();
  {
    maple::read_guard inner(t);  // the same section: the outermost one counts
    maple::cursor d = inner.cursor(0x30);
    EXPECT_EQ(d.walk(), val(3));
    EXPECT_EQ(c.next(), val(2));
  }
  EXPECT_EQ(c.next(), val(3));  // still inside the outer section
}

TEST_F(CursorRules, PauseBeforeDroppingTheWriteLock) {
  std::vector<range_entry> all = m.ranges(), got;
  auto w1 = std::make_unique<maple::write_guard>(t);
  maple::write_cursor c = w1->cursor(0);
  for (int k = 0; k < 4; ++k) {
    void *e = c.find();
    got.push_back(here(c, e));
  }
  c.pause();
  w1.reset();
  maple::write_guard w2(t);
  void *e = c.find();
  got.push_back(here(c, e));
  EXPECT_EQ(maple_test::erased(c), e);  // writes after the resume are fine
  for (e = c.find(); e; e = c.find()) got.push_back(here(c, e));
  EXPECT_EQ(got, all);
}

TEST_F(CursorRules, SetAfterRetakingTheWriteLock) {
  auto w1 = std::make_unique<maple::write_guard>(t);
  maple::write_cursor c = w1->cursor(0x10);
  c.find();
  w1.reset();
  maple::write_guard w2(t);
  c.set_range(0x10, 0x1f);
  EXPECT_FALSE(c.store(val(77)));
  EXPECT_EQ(c.find(), val(2));
  EXPECT_EQ(&w2.tree(), &t);
}

TEST_F(CursorRules, OwnWritesKeepTheCursorValid) {
  maple::write_guard w(t);
  maple::write_cursor c = w.cursor(0);
  int n = 0;
  for (void *e = c.find(); e; e = c.find()) {
    (void)e;
    c.set_range(c.index(), c.last() + 2);
    ASSERT_FALSE(c.store(val(1000 + n)));
    ++n;
  }
  EXPECT_EQ(n, 200);
  // preallocate/store_prealloc are the cursor's own writes as well.
  c.set_range(0x5000, 0x5fff);
  ASSERT_FALSE(c.preallocate(val(1)));
  c.store_prealloc(val(1));
  EXPECT_EQ(c.prev(), val(1000 + 199));
}

// What the checks cannot see: a cursor made straight from a tree, without
// a guard, is not bound to any section; the caller vouches for it.
TEST_F(CursorRules, CursorWithoutAGuardIsUnchecked) {
  maple::cursor c(t, 0x10);
  EXPECT_EQ(c.find(), val(1));
  {
    maple::read_guard r(t);  // sections come and go
  }
  EXPECT_EQ(c.next(), val(2));  // no abort: nothing to check against
}

// Regression 17 in checked builds: a first find() whose index is already
// above its limit leaves the cursor in overflow before any node was loaded;
// the next call must neither abort nor stall.
// (Found by this test and fixed: nodeless limits record the tree epoch.)
TEST_F(CursorRules, NodelessOverflowIsNotAStalePosition) {
  EXPECT_EXIT(
      {
        maple::read_guard r(t);
        maple::cursor c = r.cursor(0x100);
        if (c.find(0x50) != nullptr) std::exit(2);
        void *e = c.find();
        maple::cursor d = r.cursor(0x100);
        if (d.find_rev(0x200) != nullptr) std::exit(3);
        void *f = d.find_rev();
        std::exit(e == val(0x10) && f == val(0x10) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The legal pause() pattern, with another writer while the lock was
// dropped, then a limit hit right at the resume: the cursor must go on.
// (Same cause as above, fixed.)
TEST_F(CursorRules, PausedCursorHittingItsLimitAfterAnotherWriter) {
  EXPECT_EXIT(
      {
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0x10);
        while (c.find(0x35)) {
        }
        // The loop ended at the limit; pause to drop the lock.
        c.pause();
        r1.reset();
        if (t.store(0x1000, 0x1fff, val(77))) std::exit(4);  // another writer
        maple::read_guard r2(t);
        if (c.find(0x35) != nullptr) std::exit(2);  // still at the limit
        void *e = c.find();                         // a wider one: goes on
        std::exit(e == val(4) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        if (t.store(0xfffffffffffff000, 0xffffffffffffffff, val(88))) std::exit(4);
        auto r1 = std::make_unique<maple::read_guard>(t);
        maple::cursor c = r1->cursor(0xfffffffffffff000);
        if (c.walk() != val(88)) std::exit(3);
        c.pause();
        r1.reset();
        if (t.store(0x1000, 0x1fff, val(77))) std::exit(4);  // another writer
        maple::read_guard r2(t);
        if (c.find() != nullptr) std::exit(2);  // nothing after max: none
        void *e = c.walk();                     // walk() re-walks at index()
        std::exit(e == val(88) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace maple_test
