// tests/cursor/cursor_differential_test.cpp - randomized differential testing of
// the cursor API against the reference model, on both engines.
//
// A read cursor and a write cursor are driven through alternating guard
// sections (read sections for the read cursor, write-lock tenures for the
// write cursor), with other writers (tree.store()) in between:
//   reads    walk, find, find_rev, next, prev, next_range, prev_range with
//            random limits (often tight, so overflow and underflow happen and
//            are continued from);
//   writes   store over the cursor's [index, last] (after find/walk, or a
//            set_range()), store nullptr, erase(), preallocate() +
//            store_prealloc();
//   control  pause(), set(), set_range(), reset(); pause() before a section
//            ends, or set()/reset() after the next one begins - the two legal
//            ways to carry a cursor across sections (checked builds abort on
//            anything else, so these runs also prove the checks silent on
//            legal code).
// The cursor model (tests/support/cursor_model.h, shared with
// fuzz/fuzz_cursor.cpp and written from docs/cursor.md) says what every call
// must return: its position is kept as the two boundaries a continuation
// starts from (forward: the first index after the current range or refused
// slot; backward: the last index before it), resolved against the reference
// model's tiling of the index space into stored and empty ranges. Entry,
// [index, last] and state are compared after every call; validate() runs
// often.
//
// Op counts scale with MAPLE_TEST_SCALE; seeds honour MAPLE_TEST_SEED. A
// failure names the seed and the op; rerun with MAPLE_TEST_SEED=<seed>
// --gtest_filter=<test>.
#include "cursor_model.h"
#include "cursor_types.h"
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace maple_test {
namespace {

using cs = maple::cursor_state;
using maple::range_entry;
using u64 = std::uint64_t;

inline u64 sat_add(u64 a, u64 b) { return b > kMax - a ? kMax : a + b; }
inline u64 sat_sub(u64 a, u64 b) { return b > a ? 0 : a - b; }

// dense: indices below 3000; sparse: anywhere; tiny: indices below 40, so
// the tree is often a single leaf, a lone [0, 0] entry or empty, and limits
// fall on the tree's edges.
enum class keyset { dense, sparse, tiny };

template <class Tree>
class cursor_differential {
 public:
  cursor_differential(keyset ks, u64 seed) : ks_(ks), seed_(seed), r_(seed), rm_(m_), wm_(m_) {}

  void run(u64 ops) {
    prefill();
    if (::testing::Test::HasFatalFailure()) return;
    while (op_ < ops && !::testing::Test::HasFailure()) {
      switch (r_.below(10)) {
        case 0: other_writer(); break;
        case 1:
        case 2:
        case 3:
        case 4: read_section(1 + r_.below(40)); break;
        default: write_section(1 + r_.below(40)); break;
      }
    }
    if (::testing::Test::HasFailure()) return;
    rc_.reset();
    wc_.reset();
    EXPECT_TRUE(consistent(t_, m_)) << "seed " << seed_ << ", final check";
    std::cout << "[   info   ] " << op_ << " cursor ops, final " << m_.size() << " ranges, height "
              << t_.height() << "; states seen:";
    for (unsigned s = 0; s < 8; ++s)
      std::cout << ' ' << maple::to_string(static_cast<cs>(s)) << '=' << seen_[s];
    std::cout << "\n";
    // Every state but error must have been reached (root_entry needs a
    // trivial tree: the tiny key set gets there often by wiping).
    for (unsigned s = 0; s < 8; ++s) {
      if (static_cast<cs>(s) == cs::error) continue;
      if (static_cast<cs>(s) == cs::root_entry && ks_ != keyset::tiny) continue;
      EXPECT_GT(seen_[s], 0u) << "state " << maple::to_string(static_cast<cs>(s))
                              << " never reached";
    }
  }

 private:
  // ---- sections -------------------------------------------------------------------------

  void read_section(u64 n) {
    rguard<Tree> g(t_);
    if (!rc_) {
      rc_.emplace(g.cursor(pick_index()));
      rm_.set_range(rc_->index(), rc_->last());
    } else if (rm_.stale) {
      // Not paused when the last section ended: set()/reset() now.
      retarget(*rc_, rm_);
    }
    for (u64 i = 0; i < n && !::testing::Test::HasFailure(); ++i) {
      ++op_;
      if (r_.below(100) < 12)
        control(*rc_, rm_);
      else
        read_op(*rc_, rm_);
    }
    if (r_.chance(2, 3)) {
      rc_->pause();
      rm_.pause();
      note("pause (end of section)", 0, 0);
      check(*rc_, rm_, nullptr, nullptr);
    }
    rm_.section_ended();
  }

  void write_section(u64 n) {
    wguard<Tree> g(t_);
    if (!wc_) {
      wc_.emplace(g.cursor(pick_index()));
      wm_.set_range(wc_->index(), wc_->last());
    } else if (wm_.stale) {
      retarget(*wc_, wm_);
    }
    for (u64 i = 0; i < n && !::testing::Test::HasFailure(); ++i) {
      ++op_;
      u64 u = r_.below(100);
      if (u < 10)
        control(*wc_, wm_);
      else if (u < 45)
        write_op();
      else
        read_op(*wc_, wm_);
      if (m_.size() < 600 || op_ % 64 == 0) {
        if (auto v = valid(t_); !v) fail(v.message());
      }
    }
    if (r_.chance(2, 3)) {
      wc_->pause();
      wm_.pause();
    }
    wm_.section_ended();
  }

  /// Another writer, between sections (takes the tree's own lock).
  void other_writer() {
    ++op_;
    auto [f, l] = pick_range();
    void *e = r_.chance(3, 4) ? pick_entry() : nullptr;
    if (r_.chance(1, ks_ == keyset::tiny ? 12 : 400)) {
      // Now and then a trivial tree: empty, or [0, 0] only (the ranges
      // regrow from there, see pick_range()).
      note("other writer: wipe", 0, kMax);
      if (auto ec = t_.store(0, kMax, nullptr)) return fail("wipe failed: " + ec.message());
      m_.clear();
      f = l = 0;
      if (r_.chance(1, 2)) e = nullptr;
    }
    note("other writer: tree.store", f, l, e);
    if (auto ec = t_.store(f, l, e)) return fail("tree.store failed: " + ec.message());
    m_.store(f, l, e);
    rm_.foreign_write();
    wm_.foreign_write();
    if (m_.size() < 600 || op_ % 64 == 0) {
      if (auto v = valid(t_); !v) fail(v.message());
    }
  }

  template <class C>
  void retarget(C &c, cursor_model &cm) {
    if (r_.chance(1, 2)) {
      u64 x = pick_index();
      note("set (new section)", x, x);
      c.set(x);
      cm.set_range(x, x);
    } else {
      note("reset (new section)", 0, 0);
      c.reset();
      cm.reset();
    }
    check(c, cm, nullptr, nullptr);
  }

  // ---- operations ----------------------------------------------------------------------------

  template <class C>
  void control(C &c, cursor_model &cm) {
    u64 u = r_.below(4);
    if (u == 0) {
      note("pause", 0, 0);
      c.pause();
      cm.pause();
    } else if (u == 1) {
      u64 x = pick_index();
      note("set", x, x);
      c.set(x);
      cm.set_range(x, x);
    } else if (u == 2) {
      auto [f, l] = pick_range();
      if (r_.chance(1, 10)) std::swap(f, l);  // last < first: clamped
      note("set_range", f, l);
      c.set_range(f, l);
      cm.set_range(f, l);
    } else {
      note("reset", 0, 0);
      c.reset();
      cm.reset();
    }
    check(c, cm, nullptr, nullptr);
  }

  template <class C>
  void read_op(C &c, cursor_model &cm) {
    if (cm.stale) return fail("driver: a stale cursor used, model " + cm.describe());
    void *got = nullptr, *want = nullptr;
    u64 u = r_.below(7);
    u64 lim = 0;
    if (u == 0) {
      note("walk", c.index(), 0);
      got = c.walk();
      want = cm.walk();
    } else if (u == 1 || u == 3 || u == 5) {
      lim = pick_limit(c, true);
      const char *name = u == 1 ? "find" : u == 3 ? "next" : "next_range";
      note(name, c.index(), lim);
      got = u == 1 ? c.find(lim) : u == 3 ? c.next(lim) : c.next_range(lim);
      want = u == 1 ? cm.find(lim) : cm.advance(lim, true, u == 5);
    } else {
      lim = pick_limit(c, false);
      const char *name = u == 2 ? "find_rev" : u == 4 ? "prev" : "prev_range";
      note(name, c.index(), lim);
      got = u == 2 ? c.find_rev(lim) : u == 4 ? c.prev(lim) : c.prev_range(lim);
      want = u == 2 ? cm.find_rev(lim) : cm.advance(lim, false, u == 6);
    }
    check(c, cm, got, want);
  }

  void write_op() {
    wcursor<Tree> &c = *wc_;
    cursor_model &cm = wm_;
    u64 u = r_.below(10);
    if (u < 2 && !is_trivial()) {
      // Store over the range the cursor stands on (after a walk/find).
      if (cm.st != cs::active) {
        note("walk (before store)", c.index(), 0);
        void *got = c.walk();
        void *want = cm.walk();
        check(c, cm, got, want);
      }
    } else if (u < 7) {
      auto [f, l] = pick_range();
      c.set_range(f, l);
      cm.set_range(f, l);
    }
    u64 f = c.index(), l = c.last();
    if (u == 7) {
      // erase(): the whole range holding index.
      note("erase", f, 0);
      const bool triv = is_trivial();
      range_entry r;
      void *want = triv ? trivial_erase_target(cm, r) : cm.erase_target(r);
      void *got = maple_test::erased(c);
      if (want) {
        m_.store(r.first, r.last, nullptr);
        cm.after_write();
        rm_.foreign_write();
      }
      if (got != want) return fail_values(got, want, c, cm);
      if (triv) return sync_trivial(c, cm);  // positions in trivial trees: not compared
      check(c, cm, nullptr, nullptr);
      return;
    }
    void *e = r_.chance(4, 5) ? pick_entry() : nullptr;
    if (u >= 8) {
      note("preallocate + store_prealloc", f, l, e);
      if (auto ec = c.preallocate(e)) return fail("preallocate: " + ec.message());
      c.store_prealloc(e);
    } else {
      note("store", f, l, e);
      if (auto ec = c.store(e)) return fail("store: " + ec.message());
    }
    m_.store(f, l, e);
    cm.after_write();
    rm_.foreign_write();
    if (c.reserved() != 0) fail("reserve left after store_prealloc");
    check(c, cm, nullptr, nullptr);
  }

  // ---- trivial trees --------------------------------------------------------------------------

  bool is_trivial() const { return nodeless_tree(m_); }
  void *root_entry() const { return m_.empty() ? nullptr : m_.map().begin()->second.entry; }

  void *trivial_erase_target(cursor_model &cm, range_entry &r) {
    r = {0, 0, cm.index == 0 ? root_entry() : nullptr};
    return r.entry;
  }
  template <class C>
  void sync_trivial(C &c, cursor_model &cm) {
    u64 x = pick_index();
    c.set(x);
    cm.set_range(x, x);
  }

  // ---- checking --------------------------------------------------------------------------------

  template <class C>
  void check(C &c, cursor_model &cm, void *got, void *want) {
    ++seen_[static_cast<unsigned>(c.state())];
    if (got != want) return fail_values(got, want, c, cm);
    if (c.state() != cm.st)
      return fail("state " + std::string(maple::to_string(c.state())) + ", model " + cm.describe());
    // [index, last] is defined when the cursor stands on a range, and in the
    // states that keep the range of interest.
    if (c.state() == cs::active || c.state() == cs::start || c.state() == cs::paused ||
        c.state() == cs::root_entry || c.state() == cs::none) {
      if (c.index() != cm.index || c.last() != cm.last)
        return fail("cursor at [" + hex(c.index()) + ", " + hex(c.last()) + "], model " +
                    cm.describe());
    }
    if (c.state() == cs::active && c.entry() != m_.load(c.index()))
      return fail("entry() disagrees with the tree");
  }

  template <class C>
  void fail_values(void *got, void *want, C &c, cursor_model &cm) {
    std::ostringstream os;
    os << "returned " << got << ", model " << want << "; cursor " << maple::to_string(c.state())
       << " [" << hex(c.index()) << ", " << hex(c.last()) << "], model " << cm.describe();
    fail(os.str());
  }

  void fail(const std::string &msg) {
    ADD_FAILURE() << "seed " << seed_ << ", op #" << op_ << " (" << describe_op() << "), tree of "
                  << m_.size() << " ranges, height " << t_.height() << ": " << msg
                  << "\nreproduce: MAPLE_TEST_SEED=" << seed_ << " --gtest_filter="
                  << ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()
                  << "." << ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  // ---- keys -----------------------------------------------------------------------------------

  u64 raw_index() {
    return ks_ == keyset::dense ? r_.below(3000) : ks_ == keyset::tiny ? r_.below(40) : r_.next();
  }
  u64 pick_index() {
    u64 u = r_.below(100);
    if (u < 3) return 0;
    if (u < 5) return kMax - r_.below(2);
    if (u < 55 && !m_.empty()) {
      auto f = m_.find(raw_index());
      if (!f) f = m_.find_rev(kMax);
      u64 e = r_.chance(1, 2) ? f->first : f->last;
      switch (r_.below(4)) {
        case 0: return sat_sub(e, 1);
        case 1: return sat_add(e, 1);
        default: return e;
      }
    }
    return raw_index();
  }
  u64 pick_len() {
    u64 u = r_.below(1000);
    if (ks_ == keyset::tiny) return u < 900 ? r_.below(4) : r_.below(20);
    if (ks_ == keyset::dense)
      return u < 750 ? r_.below(8) : u < 995 ? r_.below(40) : r_.below(2000);
    return u < 300 ? r_.below(4) : r_.next() >> r_.between(20, 63);
  }
  std::pair<u64, u64> pick_range() {
    u64 f = pick_index();
    u64 l = sat_add(f, pick_len());
    if (m_.size() < 250 && r_.chance(2, 3)) {  // regrow after wipes: short ranges anywhere
      f = raw_index();
      l = sat_add(f, r_.below(4));
    }
    if (r_.chance(1, 300)) l = kMax;
    if (ks_ == keyset::dense && m_.size() > 1200 && r_.chance(1, 20)) {  // keep the tree small-ish
      f = r_.below(1500);
      l = f + 1500;
    }
    return {f, l};
  }
  /// A limit: often the extreme, often within a few ranges of the cursor.
  template <class C>
  u64 pick_limit(const C &c, bool up) {
    u64 u = r_.below(10);
    if (u < 4) return up ? kMax : 0;
    u64 base = up ? c.last() : c.index();
    u64 d = u < 8 ? pick_len() * (1 + r_.below(4)) : r_.next();
    if (u == 9) base = pick_index();
    return up ? sat_add(base, d) : sat_sub(base, d);
  }
  void *pick_entry() {
    ++tag_;
    if (r_.chance(1, 2)) return val(tag_);
    return reinterpret_cast<void *>(0x10000 + 8 * (tag_ & 0xffffff));
  }

  void prefill() {
    u64 n = ks_ == keyset::dense ? 300 : ks_ == keyset::tiny ? 6 : 600;
    for (u64 i = 0; i < n; ++i) {
      const bool small = ks_ != keyset::sparse;
      u64 f = small ? 7 * i : r_.next();
      u64 l = small ? f + 3 : sat_add(f, r_.next() >> 40);
      void *e = pick_entry();
      ASSERT_FALSE(t_.store(f, l, e));
      m_.store(f, l, e);
    }
    ASSERT_TRUE(consistent(t_, m_));
  }

  void note(const char *what, u64 a, u64 b, void *e = nullptr) {
    op_name_ = what;
    op_a_ = a;
    op_b_ = b;
    op_e_ = e;
  }
  std::string describe_op() const {
    std::ostringstream os;
    os << op_name_ << ' ' << hex(op_a_) << ' ' << hex(op_b_);
    if (op_e_) os << ' ' << op_e_;
    return os.str();
  }

  keyset ks_;
  u64 seed_;
  rng r_;
  Tree t_;
  reference_model m_;
  std::optional<rcursor<Tree>> rc_;
  std::optional<wcursor<Tree>> wc_;
  cursor_model rm_, wm_;
  u64 op_ = 0, tag_ = 0;
  u64 seen_[8] = {};
  const char *op_name_ = "";
  u64 op_a_ = 0, op_b_ = 0;
  void *op_e_ = nullptr;
};

template <class Tree>
class CursorDifferential : public ::testing::Test {
 protected:
  void run(keyset ks, u64 default_seed, u64 n) {
    u64 seed = test_seed(default_seed + Tree::slots);
    SCOPED_TRACE("seed " + std::to_string(seed) + " (MAPLE_TEST_SEED)");
    cursor_differential<Tree> d(ks, seed);
    d.run(scaled(n, 500));
  }
};
TYPED_TEST_SUITE(CursorDifferential, engine_types);

// About 2.6 * 10^6 cursor calls in all at scale 1 (a few seconds optimised).
TYPED_TEST(CursorDifferential, Dense) { this->run(keyset::dense, 6006, 600000); }
TYPED_TEST(CursorDifferential, Sparse) { this->run(keyset::sparse, 7007, 400000); }
TYPED_TEST(CursorDifferential, DenseSecondSeed) { this->run(keyset::dense, 8008, 300000); }
TYPED_TEST(CursorDifferential, Tiny) { this->run(keyset::tiny, 9009, 300000); }

}  // namespace
}  // namespace maple_test
