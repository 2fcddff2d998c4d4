// fuzz/fuzz_cursor.cpp - libFuzzer target for the cursor API
// (maple/cursor.h) on both engines (16 and 4 slots per node).
//
// One read cursor (from a read guard) and one write cursor (from a write
// guard) are driven by the input: walk / find / find_rev / next / prev /
// next_range / prev_range / set / set_range / reset / pause / store / erase /
// preallocate + store_prealloc / release / moves, guards opened and closed
// around them, and writes through the tree's own API in between. A model
// cursor runs beside each real one; after every operation their state,
// range, entry() and error() must agree, and after every write the tree is
// validated and compared with the reference model, and its node count with
// the allocations.
//
// The fuzz library is a checked build (MAPLE_CHECKED), so the cursor rules
// are enforced: the driver keeps them (a cursor still positioned when its
// section ends, or when someone else writes, is reset() before its next use;
// store_prealloc() only follows a matching preallocate()).
//
// The model is the test suite's (maple_test::cursor_model in
// tests/support/cursor_model.h, also run by
// tests/cursor/cursor_differential_test.cpp), written from docs/cursor.md:
// positions over the reference model's tiling of the index space, the
// turning back after a limit, the root-entry rows, and which cursors a
// section end or a foreign write leaves stale (`stale`: the driver reset()s
// them) and what error() a failed write leaves (`err`). This file adds no
// position rules of its own. Besides the comparisons, a search that stopped
// at its limit must stay there (tried on a copy of the cursor).
// Known engine bugs are steered around in fuzz_common.h (fuzz/README.md).
//
// MAPLE_FUZZ_TRACE=1 prints the operations as C++ statements.
#include "cursor_model.h"
#include "fuzz_common.h"

#include <maple/cursor.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace maple_fuzz {
namespace {

using cs = maple::cursor_state;
using maple_test::cursor_model;

constexpr std::size_t kMaxRanges = 1000;

// ---- the driver ----------------------------------------------------------------------------

enum class move { walk, find, find_rev, next, prev, next_range, prev_range };

const char *move_name(move k) {
  switch (k) {
    case move::walk: return "walk";
    case move::find: return "find";
    case move::find_rev: return "find_rev";
    case move::next: return "next";
    case move::prev: return "prev";
    case move::next_range: return "next_range";
    case move::prev_range: return "prev_range";
  }
  return "?";
}

template <class Tree>
class cursor_fuzzer {
  static constexpr unsigned S = Tree::slots;
  using read_guard = maple::basic_read_guard<S>;
  using write_guard = maple::basic_write_guard<S>;
  using read_cursor = maple::basic_cursor<S>;
  using write_cursor = maple::basic_write_cursor<S>;

 public:
  cursor_fuzzer(const std::uint8_t *data, std::size_t size) : in_(data, size) {}

  void run() {
    trace("// ---- %s", g_engine_name);
    for (unsigned step = 0; !in_.done() && step < 4096; ++step) {
      op();
      if (mr_.armed()) mr_.disarm();
    }
    check_tree(t_, m_, "the last operation");
    check_stats(t_, m_, mr_, wc_ ? wc_->reserved() : 0, "the last operation");
    wc_.reset();
    rc_.reset();
    wg_.reset();
    rg_.reset();
    FUZZ_CHECK(mr_.live == t_.stats().nodes, "nodes leaked by cursors");
  }

 private:
  std::uint64_t index() { return decode_index(in_, m_); }
  std::uint64_t upper_limit() {
    std::uint8_t b = in_.byte();
    return (b & 3) == 0 ? index() : kMax;
  }
  std::uint64_t lower_limit() {
    std::uint8_t b = in_.byte();
    return (b & 3) == 0 ? index() : 0;
  }

  void op() {
    std::uint8_t b = in_.byte();
    const bool use_write = (b / 24) & 1;
    switch (b % 24) {
      case 0: return op_new_cursor(use_write);
      case 1:
      case 2: return op_move(use_write, move::find);
      case 3: return op_move(use_write, move::walk);
      case 4: return op_move(use_write, move::find_rev);
      case 5: return op_move(use_write, move::next);
      case 6: return op_move(use_write, move::prev);
      case 7: return op_move(use_write, move::next_range);
      case 8: return op_move(use_write, move::prev_range);
      case 9: return op_set(use_write, false);
      case 10: return op_set(use_write, true);
      case 11: return op_reset_or_pause(use_write);
      case 12: return op_loop(use_write);
      case 13: return op_store();
      case 14: return op_erase();
      case 15: return op_preallocate();
      case 16: return op_store_prealloc();
      case 17: return op_release_or_move();
      case 18: return op_guards();
      case 19: return op_tree_write();
      case 20: return op_fill();
      case 21: return op_fail();
      case 22: return op_loop(use_write);
      default: return op_set(use_write, true);
    }
  }

  // ---- guards and cursors -------------------------------------------------------

  void open_read() {
    if (rg_) return;
    trace("rg.emplace(t);");
    rg_.emplace(t_);
  }
  void open_write() {
    if (wg_) return;
    trace("wg.emplace(t);");
    wg_.emplace(t_);
  }
  void close_read() {
    if (!rg_) return;
    trace("rg.reset();");
    rg_.reset();
    rm_.section_ended();
  }
  void close_write() {
    if (!wg_) return;
    trace("wg.reset();");
    wg_.reset();
    wm_.section_ended();
  }

  /// The cursor to use, ready for a checked operation: its guard open, a
  /// cursor made if there is none, and reset() if it is stale.
  read_cursor &ready(bool write) {
    write ? open_write() : open_read();
    if (write ? !wc_ : !rc_) make_cursor(write, 0, 0);
    read_cursor &c = write ? static_cast<read_cursor &>(*wc_) : *rc_;
    cursor_model &cm = model_of(write);
    if (cm.stale) {
      trace("%s->reset();  // stale", name(write));
      c.reset();
      cm.reset();
    }
    return c;
  }
  cursor_model &model_of(bool write) { return write ? wm_ : rm_; }
  const char *name(bool write) const { return write ? "wc" : "rc"; }

  void make_cursor(bool write, std::uint64_t first, std::uint64_t last) {
    write ? open_write() : open_read();
    trace("%s.emplace(%s->cursor(%s, %s));", name(write), write ? "wg" : "rg", hex(first).c_str(),
          hex(last).c_str());
    if (write) {
      wc_.emplace(wg_->cursor(first, last));
      pre_valid_ = false;
    } else {
      rc_.emplace(rg_->cursor(first, last));
    }
    model_of(write).set_range(first, last);
    compare(write, "a new cursor");
  }

  void op_new_cursor(bool write) {
    std::uint64_t first, last;
    decode_range(in_, m_, first, last);
    make_cursor(write, first, last);
  }

  /// The real cursor against its model: state, range, entry, error.
  void compare(bool write, const std::string &after) {
    const read_cursor &c = write ? static_cast<const read_cursor &>(*wc_) : *rc_;
    const cursor_model &cm = model_of(write);
    auto where = [&] {
      return std::string(name(write)) + " after " + after + ": cursor [" + hex(c.index()) + ", " +
             hex(c.last()) + "] " + maple::to_string(c.state()) + ", model [" + hex(cm.index) +
             ", " + hex(cm.last) + "] " + maple::to_string(cm.st);
    };
    FUZZ_CHECK(c.state() == cm.st, where());
    FUZZ_CHECK(c.index() == cm.index && c.last() == cm.last, where());
    if (cm.st == cs::error)
      FUZZ_CHECK(c.error() == cm.err,
                 where() + ": error '" + str(c.error()) + "', model '" + str(cm.err) + "'");
    if (!cm.stale)
      FUZZ_CHECK(c.entry() == cm.entry(),
                 where() + ": entry() " + str(c.entry()) + ", model " + str(cm.entry()));
  }

  // ---- reads ----------------------------------------------------------------------

  /// One move on the cursor and its model; returns the entry (model's).
  void *do_move(bool write, move k, std::uint64_t limit) {
    read_cursor &c = ready(write);
    cursor_model &cm = model_of(write);
    void *got = nullptr, *want = nullptr;
    switch (k) {
      case move::walk: got = c.walk(), want = cm.walk(); break;
      case move::find: got = c.find(limit), want = cm.find(limit); break;
      case move::find_rev: got = c.find_rev(limit), want = cm.find_rev(limit); break;
      case move::next: got = c.next(limit), want = cm.advance(limit, true, false); break;
      case move::prev: got = c.prev(limit), want = cm.advance(limit, false, false); break;
      case move::next_range: got = c.next_range(limit), want = cm.advance(limit, true, true); break;
      case move::prev_range:
        got = c.prev_range(limit), want = cm.advance(limit, false, true);
        break;
    }
    std::string what = std::string(move_name(k)) + "(" + (k == move::walk ? "" : hex(limit)) + ")";
    trace("EXPECT_EQ(%s->%s, %s);  // -> [%s, %s] %s", name(write), what.c_str(), src(want).c_str(),
          hex(cm.index).c_str(), hex(cm.last).c_str(), maple::to_string(cm.st));
    FUZZ_CHECK(got == want, std::string(name(write)) + "->" + what + " returned " + str(got) +
                                ", model " + str(want) + " (cursor now [" + hex(c.index()) + ", " +
                                hex(c.last()) + "] " + maple::to_string(c.state()) + ")");
    compare(write, what);
    if (!want && k != move::walk) at_the_limit(c, k, limit, what);
    return want;
  }

  /// A search that stopped at its limit stays there: the same call again
  /// returns nullptr (tried on a copy of the cursor, which leaves the real
  /// one alone).
  void at_the_limit(const read_cursor &c, move k, std::uint64_t limit, const std::string &what) {
    const bool forward = k == move::find || k == move::next || k == move::next_range;
    if (c.state() != (forward ? cs::overflow : cs::underflow)) return;
    read_cursor probe = c;
    void *again = nullptr;
    switch (k) {
      case move::find: again = probe.find(limit); break;
      case move::find_rev: again = probe.find_rev(limit); break;
      case move::next: again = probe.next(limit); break;
      case move::prev: again = probe.prev(limit); break;
      case move::next_range: again = probe.next_range(limit); break;
      case move::prev_range: again = probe.prev_range(limit); break;
      case move::walk: break;
    }
    const bool ranges = k == move::next_range || k == move::prev_range;
    FUZZ_CHECK(!again && !(ranges && probe.state() == cs::active),
               what + " stopped at its limit (" + maple::to_string(c.state()) +
                   "), but the same call again returns " + str(again) + " at [" +
                   hex(probe.index()) + ", " + hex(probe.last()) + "] " +
                   maple::to_string(probe.state()));
  }

  void op_move(bool write, move k) {
    std::uint64_t limit = 0;
    if (k == move::find || k == move::next || k == move::next_range) limit = upper_limit();
    if (k == move::find_rev || k == move::prev || k == move::prev_range) limit = lower_limit();
    do_move(write, k, limit);
  }

  /// A loop of one kind of move (an iteration), as far as it goes or up to
  /// a count; the `upto()` range-for in one variant.
  void op_loop(bool write) {
    std::uint8_t b = in_.byte();
    unsigned n = (b >> 3) + 1;  // 1..32
    if ((b & 7) == 7) {
      std::uint64_t max = upper_limit();
      read_cursor &c = ready(write);
      cursor_model &cm = model_of(write);
      // upto(): find(max), then next(max) while non-null.
      trace("for (range_entry r : %s->upto(%s)) ...  // at most %u", name(write), hex(max).c_str(),
            n);
      unsigned k = 0;
      void *want = cm.find(max);
      for (maple::range_entry r : c.upto(max)) {
        FUZZ_CHECK(want != nullptr, "upto(" + hex(max) + ") yields " + str(r) + ", model: end");
        range_entry e{cm.index, cm.last, want};
        FUZZ_CHECK(r == e, "upto(" + hex(max) + ") yields " + str(r) + ", model " + str(e));
        compare(write, "an upto() step");
        if (++k == n) break;
        want = cm.advance(max, true, false);
      }
      if (k < n) {
        FUZZ_CHECK(want == nullptr, "upto(" + hex(max) + ") ended early, model " + str(want));
        compare(write, "the end of an upto() loop");
      }
      return;
    }
    static const move kinds[] = {move::find,       move::find_rev,   move::next, move::prev,
                                 move::next_range, move::prev_range, move::find};
    move k = kinds[b & 7];
    std::uint64_t limit = 0;
    if (k == move::find || k == move::next || k == move::next_range)
      limit = upper_limit();
    else
      limit = lower_limit();
    const bool ranges = k == move::next_range || k == move::prev_range;
    for (unsigned i = 0; i < n; ++i) {
      void *e = do_move(write, k, limit);
      if (!e && (!ranges || model_of(write).st != cs::active)) break;
    }
  }

  void op_set(bool write, bool range) {
    std::uint64_t first, last = 0;
    if (range)
      decode_range(in_, m_, first, last);
    else
      first = index();
    // set() needs no guard, but the cursor must exist.
    if (write ? !wc_ : !rc_) make_cursor(write, 0, 0);
    read_cursor &c = write ? static_cast<read_cursor &>(*wc_) : *rc_;
    if (range) {
      trace("%s->set_range(%s, %s);", name(write), hex(first).c_str(), hex(last).c_str());
      c.set_range(first, last);
      model_of(write).set_range(first, last);
    } else {
      trace("%s->set(%s);", name(write), hex(first).c_str());
      c.set(first);
      model_of(write).set_range(first, first);
    }
    if (write ? !wg_ : !rg_) return;  // entry() is only compared inside a guard
    compare(write, range ? "set_range" : "set");
  }

  void op_reset_or_pause(bool write) {
    std::uint8_t b = in_.byte();
    if (write ? !wc_ : !rc_) make_cursor(write, 0, 0);
    read_cursor &c = write ? static_cast<read_cursor &>(*wc_) : *rc_;
    if (b & 1) {
      trace("%s->reset();", name(write));
      c.reset();
      model_of(write).reset();
    } else {
      trace("%s->pause();", name(write));
      c.pause();
      model_of(write).pause();
    }
    if (write ? !wg_ : !rg_) return;
    compare(write, (b & 1) ? "reset" : "pause");
  }

  // ---- writes ---------------------------------------------------------------------

  /// Every write attempt: the other cursor (and the tree-level view) moved
  /// under the other cursor; the preallocation is void.
  void wrote(bool by_write_cursor) {
    rm_.foreign_write();
    if (!by_write_cursor) wm_.foreign_write();
    pre_valid_ = false;
  }

  void after_write(const char *what) {
    check_tree(t_, m_, what);
    check_stats(t_, m_, mr_, wc_ ? wc_->reserved() : 0, what);
  }

  void cursor_store(void *e) {
    write_cursor &c = static_cast<write_cursor &>(ready(true));
    if (m_.size() >= kMaxRanges && e) e = nullptr;
    std::uint64_t first = wm_.index, last = wm_.last;
    e = dodge(m_, first, last, e);
    trace("EXPECT_EQ(wc->store(%s), ...);  // [%s, %s]", src(e).c_str(), hex(first).c_str(),
          hex(last).c_str());
    std::error_code ec = c.store(e);
    std::error_code want;
    if (maple::is_reserved_entry(e)) want = maple::errc::invalid_argument;
    if (want) {
      FUZZ_CHECK(ec == want, "wc->store(reserved) said '" + str(ec) + "'");
      wm_.write_failed(want);
    } else {
      wrote(true);
      if (ec == maple::errc::no_memory && mr_.armed()) {
        wm_.write_failed(ec);
      } else {
        FUZZ_CHECK(
            !ec, "wc->store([" + hex(first) + ", " + hex(last) + "], " + str(e) + "): " + str(ec));
        m_.store(first, last, e);
        wm_.after_write();
      }
    }
    compare(true, "store");
    after_write("a store through the write cursor");
  }

  void op_store() { cursor_store(decode_entry(in_)); }

  void op_erase() {
    write_cursor &c = static_cast<write_cursor &>(ready(true));
    std::uint64_t at = wm_.index;
    void *got = nullptr;
    (void)c.erase(&got);  // an error shows in c.state(), checked below
    range_entry r;
    void *want = wm_.erase_target(r);
    trace("EXPECT_EQ(maple_test::erased(*wc), %s);  // at %s", src(want).c_str(), hex(at).c_str());
    bool failed = false;
    if (want) {
      wrote(true);
      if (mr_.armed() && c.state() == cs::error && c.error() == maple::errc::no_memory) {
        failed = true;
        wm_.write_failed(maple::errc::no_memory);
      } else {
        m_.store(r.first, r.last, nullptr);
        wm_.after_write();
      }
    }
    FUZZ_CHECK(got == (failed ? nullptr : want),
               "wc->erase() at " + hex(at) + " returned " + str(got) + ", model " + str(want));
    compare(true, "erase");
    after_write("an erase through the write cursor");
  }

  void op_preallocate() {
    void *e = decode_entry(in_);
    std::uint8_t b = in_.byte();
    write_cursor &c = static_cast<write_cursor &>(ready(true));
    e = dodge(m_, wm_.index, wm_.last, e);
    trace("wc->preallocate(%s);  // [%s, %s]", src(e).c_str(), hex(wm_.index).c_str(),
          hex(wm_.last).c_str());
    std::error_code ec = c.preallocate(e);
    pre_valid_ = false;
    if (maple::is_reserved_entry(e)) {
      FUZZ_CHECK(ec == maple::errc::invalid_argument, "preallocate(reserved): " + str(ec));
      wm_.write_failed(ec);
    } else if (ec == maple::errc::no_memory && mr_.armed()) {
      wm_.write_failed(ec);
    } else {
      FUZZ_CHECK(!ec, "preallocate: " + str(ec));
      pre_valid_ = true;
      pre_first_ = wm_.index;
      pre_last_ = wm_.last;
      pre_entry_ = e;
    }
    if (ec) FUZZ_CHECK(c.reserved() == 0, "a failed preallocate() kept nodes");
    compare(true, "preallocate");
    check_stats(t_, m_, mr_, c.reserved(), "preallocate");
    if (!ec && (b & 1)) store_prealloc(e);
  }

  void store_prealloc(void *e) {
    write_cursor &c = static_cast<write_cursor &>(ready(true));
    FUZZ_CHECK(pre_valid_ && pre_first_ == wm_.index && pre_last_ == wm_.last && pre_entry_ == e,
               "driver: store_prealloc without its preallocate");
    trace("wc->store_prealloc(%s);  // %u nodes reserved", src(e).c_str(), c.reserved());
    mr_.forbid(true);
    c.store_prealloc(e);
    mr_.forbid(false);
    wrote(true);
    m_.store(wm_.index, wm_.last, e);
    wm_.after_write();
    FUZZ_CHECK(c.reserved() == 0, "store_prealloc() left " + std::to_string(c.reserved()) +
                                      " of the nodes preallocate() reserved unused");
    compare(true, "store_prealloc");
    after_write("store_prealloc");
  }

  void op_store_prealloc() {
    // With a valid preallocation for the cursor's range: use it; else
    // preallocate first (with the entry the input gives).
    void *e = decode_entry(in_);
    if (!(wc_ && pre_valid_ && pre_first_ == wm_.index && pre_last_ == wm_.last)) {
      if (maple::is_reserved_entry(e)) e = nullptr;
      write_cursor &c = static_cast<write_cursor &>(ready(true));
      e = dodge(m_, wm_.index, wm_.last, e);
      trace("wc->preallocate(%s);", src(e).c_str());
      std::error_code ec = c.preallocate(e);
      FUZZ_CHECK(!ec, "preallocate: " + str(ec));
      pre_valid_ = true;
      pre_first_ = wm_.index;
      pre_last_ = wm_.last;
      pre_entry_ = e;
    }
    store_prealloc(pre_entry_);
  }

  void op_release_or_move() {
    std::uint8_t b = in_.byte();
    if (!wc_) make_cursor(true, 0, 0);
    if (b & 1) {
      trace("wc->release();");
      wc_->release();
      pre_valid_ = false;
      FUZZ_CHECK(wc_->reserved() == 0, "release() kept nodes");
    } else {
      trace("{ auto moved = std::move(*wc); wc.reset(); wc.emplace(std::move(moved)); }");
      unsigned n = wc_->reserved();
      write_cursor moved(std::move(*wc_));
      FUZZ_CHECK(wc_->reserved() == 0, "a moved-from write cursor still holds nodes");
      wc_.reset();
      wc_.emplace(std::move(moved));
      FUZZ_CHECK(wc_->reserved() == n, "a move lost reserved nodes");
    }
    if (wg_) compare(true, (b & 1) ? "release" : "move");
    check_stats(t_, m_, mr_, wc_->reserved(), "release/move");
  }

  void op_guards() {
    std::uint8_t b = in_.byte();
    switch (b % 4) {
      case 0: rg_ ? close_read() : open_read(); break;
      case 1: wg_ ? close_write() : open_write(); break;
      case 2: close_read(), close_write(); break;
      default: {
        // Drop a cursor (the write cursor's reserve goes back).
        if (b & 4) {
          trace("wc.reset();");
          wc_.reset();
          pre_valid_ = false;
        } else {
          trace("rc.reset();");
          rc_.reset();
        }
        break;
      }
    }
  }

  /// Writes through the tree's own API: the write guard must be dropped.
  void op_tree_write() {
    std::uint64_t first, last;
    decode_range(in_, m_, first, last);
    void *e = decode_entry(in_);
    if (m_.size() >= kMaxRanges && e) e = nullptr;
    e = dodge(m_, first, last, e);
    close_write();
    trace("t.store(%s, %s, %s);", hex(first).c_str(), hex(last).c_str(), src(e).c_str());
    std::error_code ec = t_.store(first, last, e);
    wrote(false);
    if (first > last || maple::is_reserved_entry(e)) {
      FUZZ_CHECK(ec == maple::errc::invalid_argument, "t.store: " + str(ec));
    } else {
      FUZZ_CHECK(!ec, "t.store: " + str(ec));
      m_.store(first, last, e);
    }
    after_write("a tree-level store");
  }

  /// A fill of any shape (0xff: any stride and width), scaled 16 and 3;
  /// entries val(k). Through the tree: the write guard must be dropped.
  void op_fill() {
    fill_plan p = decode_fill(in_, m_, true, 16, 3, kMaxRanges);
    close_write();
    store_fill(t_, m_, p);
    wrote(false);
    after_write("fill");
  }

  /// The next write through the cursor runs out of memory after a few
  /// allocations: the tree must be unchanged and the cursor in error.
  void op_fail() {
    std::uint8_t b = in_.byte();
    mr_.arm(b % 8);
    trace("// allocation #%u and later ones fail", b % 8 + 1);
    switch ((b >> 3) % 3) {
      case 0: return op_store();
      case 1: return op_erase();
      default: return op_preallocate();
    }
  }

  node_resource mr_;
  Tree t_{&mr_};
  reference_model m_;
  std::optional<read_guard> rg_;
  std::optional<write_guard> wg_;
  std::optional<read_cursor> rc_;
  std::optional<write_cursor> wc_;
  cursor_model rm_{m_}, wm_{m_};
  bool pre_valid_ = false;
  std::uint64_t pre_first_ = 0, pre_last_ = 0;
  void *pre_entry_ = nullptr;
  input in_;
};

}  // namespace
}  // namespace maple_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  maple_fuzz::run_on_both_engines<maple_fuzz::cursor_fuzzer>(data, size);
  return 0;
}
