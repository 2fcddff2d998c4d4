// tests/tree/rcu_interleaving_test.cpp - exhaustive small-scope interleavings of
// one RCU reader with one writer.
//
// A reader program is a sequence of steps inside one read section (an
// iterator's begin / ++ / --, a cursor's find / find_rev / next / prev /
// next_range / prev_range, or one-shot loads and finds). Before each step
// in turn, the writer applies one write, chosen from a list of write kinds
// placed before, at, inside and after the reader's position; the reader then
// finishes. Every (tree, program, pause point, write) combination is run on
// the 4-slot engine and on the smallest allocation-tree geometry, with
// layouts of heights 1 to 4. The writer is another thread that runs only
// while the reader waits for it at the pause (writes defer frees, which is
// not allowed inside a read section), so each run is deterministic; a
// replaced node stays readable because the reader's section is still open.
//
// What a stepping reader must do (raw_tree.h, docs/cursor.md):
//   * report ranges in its direction, strictly (no repeat, no going back);
//   * end only when the tree, as it is then, holds nothing more ahead of
//     the last range reported;
//   * report only ranges of the state before or after the write, whole,
//     each with the entry stored over exactly those bounds;
//   * report every range that both states hold and that lies past the
//     reader's position at the pause (no skip of a range present
//     throughout);
//   * end within as many steps as the two states have ranges.
// One-shot reads are atomic here: before the pause they must give the old
// state's answer, after it the new state's.
//
// The random version (label slow) runs bigger trees with several writes at
// random pauses; a range must then be in some state of the sequence and
// the no-skip rule holds for ranges present in every state.
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include <maple/cursor.h>
#include <maple/rcu.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace maple_test {
namespace {

using u64 = std::uint64_t;
using maple::range_entry;

// ---- the reader programs ----------------------------------------------------------------

enum class program {
  iterate_forward,    // for (r : ranges(lo, hi))
  iterate_backward,   // from end(), --it until it yields end()
  cursor_find,        // find(hi) until nullptr
  cursor_find_rev,    // find_rev(lo) until nullptr
  cursor_next,        // walk at lo, then next(hi) until nullptr
  cursor_prev,        // walk at hi, then prev(lo) until nullptr
  cursor_next_range,  // walk at lo, then next_range(hi) until overflow
  cursor_prev_range,  // walk at hi, then prev_range(lo) until underflow
  loads,              // load(i) for each i of the window
  finds,              // find(i, hi) for each i of the window
  finds_rev,          // find_rev(i, lo) for each i of the window
};
constexpr program all_programs[] = {program::iterate_forward,
                                    program::iterate_backward,
                                    program::cursor_find,
                                    program::cursor_find_rev,
                                    program::cursor_next,
                                    program::cursor_prev,
                                    program::cursor_next_range,
                                    program::cursor_prev_range,
                                    program::loads,
                                    program::finds,
                                    program::finds_rev};

const char *name_of(program p) {
  switch (p) {
    case program::iterate_forward: return "iterate forward";
    case program::iterate_backward: return "iterate backward";
    case program::cursor_find: return "cursor find";
    case program::cursor_find_rev: return "cursor find_rev";
    case program::cursor_next: return "cursor next";
    case program::cursor_prev: return "cursor prev";
    case program::cursor_next_range: return "cursor next_range";
    case program::cursor_prev_range: return "cursor prev_range";
    case program::loads: return "loads";
    case program::finds: return "finds";
    default: return "finds_rev";
  }
}
bool backward(program p) {
  return p == program::iterate_backward || p == program::cursor_find_rev ||
         p == program::cursor_prev || p == program::cursor_prev_range;
}
bool reports_empty(program p) {
  return p == program::cursor_next_range || p == program::cursor_prev_range;
}
bool one_shot(program p) {
  return p == program::loads || p == program::finds || p == program::finds_rev;
}

/// A thread that runs one job at a time for the caller, who waits for it:
/// the writer, while the reader stands still in its read section.
class writer_thread {
 public:
  writer_thread() : th_([this] { loop(); }) {}
  ~writer_thread() {
    {
      std::lock_guard<std::mutex> g(m_);
      quit_ = true;
    }
    cv_.notify_all();
    th_.join();
  }
  writer_thread(const writer_thread &) = delete;
  writer_thread &operator=(const writer_thread &) = delete;

  void run(const std::function<void()> &job) {
    std::unique_lock<std::mutex> g(m_);
    job_ = &job;
    cv_.notify_all();
    cv_.wait(g, [&] { return job_ == nullptr; });
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> g(m_);
    for (;;) {
      cv_.wait(g, [&] { return quit_ || job_ != nullptr; });
      if (quit_) return;
      (*job_)();
      job_ = nullptr;
      cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  const std::function<void()> *job_ = nullptr;
  bool quit_ = false;
  std::thread th_;
};

writer_thread &the_writer() {
  static writer_thread w;
  return w;
}

struct write_op {
  u64 first, last;
  void *entry;
  const char *kind;
};

std::string show(const range_entry &r) {
  std::ostringstream os;
  os << '[' << r.first << ", " << r.last << "] " << r.entry;
  return os.str();
}

/// Runs one reader program step by step; `before_step(k, position)` is
/// called before step k with the reader's position (the last range it
/// reported; nullopt before the first) and may write to the tree.
template <unsigned S>
class reader {
 public:
  using tree_t = maple::basic_raw_tree<S>;
  using hook = std::function<void(unsigned, const std::optional<range_entry> &)>;

  reader(tree_t &t, program p, u64 lo, u64 hi) : t_(t), p_(p), lo_(lo), hi_(hi) {}

  /// Steps until the program ends (or runs away: more than max_steps).
  void run(const hook &before_step, unsigned max_steps) {
    maple::rcu::read_guard section;
    if (one_shot(p_)) return run_one_shots(before_step);
    typename tree_t::range_view view = t_.ranges(lo_, hi_);
    typename tree_t::iterator it;
    std::optional<maple::basic_cursor<S>> c;
    for (unsigned k = 0;; ++k) {
      if (k > max_steps) {
        ran_away = true;
        return;
      }
      before_step(k, position());
      std::optional<range_entry> r = step(k, view, it, c);
      if (!r) return;
      reported.push_back(*r);
    }
  }

  std::vector<range_entry> reported;
  // One-shot programs: each answer, and the pause's step index.
  std::vector<std::optional<range_entry>> answers;
  bool ran_away = false;

 private:
  std::optional<range_entry> position() const {
    if (reported.empty()) return std::nullopt;
    return reported.back();
  }

  std::optional<range_entry> step(unsigned k, typename tree_t::range_view &view,
                                  typename tree_t::iterator &it,
                                  std::optional<maple::basic_cursor<S>> &c) {
    switch (p_) {
      case program::iterate_forward:
        if (k == 0)
          it = view.begin();
        else
          ++it;
        if (it == view.end()) return std::nullopt;
        return *it;
      case program::iterate_backward:
        if (k == 0) it = view.end();
        --it;
        if (it == view.end()) return std::nullopt;
        return *it;
      default: return cursor_step(k, c);
    }
  }

  std::optional<range_entry> cursor_step(unsigned k, std::optional<maple::basic_cursor<S>> &c) {
    const bool back = backward(p_);
    if (k == 0) c.emplace(t_, back ? hi_ : lo_);
    void *e = nullptr;
    switch (p_) {
      case program::cursor_find: e = c->find(hi_); break;
      case program::cursor_find_rev: e = c->find_rev(lo_); break;
      case program::cursor_next: e = k == 0 ? c->walk() : c->next(hi_); break;
      case program::cursor_prev: e = k == 0 ? c->walk() : c->prev(lo_); break;
      case program::cursor_next_range: e = k == 0 ? c->walk() : c->next_range(hi_); break;
      default: e = k == 0 ? c->walk() : c->prev_range(lo_); break;
    }
    const maple::cursor_state st = c->state();
    if (st != maple::cursor_state::active && st != maple::cursor_state::root_entry)
      return std::nullopt;
    if (!e && !reports_empty(p_)) {
      // walk() on an empty range (next / prev start there): go on.
      if (k == 0) return cursor_step_on(c);
      return std::nullopt;
    }
    return range_entry{c->index(), c->last(), e};
  }
  std::optional<range_entry> cursor_step_on(std::optional<maple::basic_cursor<S>> &c) {
    void *e = backward(p_) ? c->prev(lo_) : c->next(hi_);
    if (!e) return std::nullopt;
    return range_entry{c->index(), c->last(), e};
  }

  void run_one_shots(const hook &before_step) {
    unsigned k = 0;
    for (u64 i = lo_;; ++i, ++k) {
      before_step(k, std::nullopt);
      std::optional<range_entry> a;
      if (p_ == program::loads) {
        a = range_entry{i, i, t_.load(i)};
      } else if (p_ == program::finds) {
        a = t_.find(i, hi_);
      } else {
        a = t_.find_rev(i, lo_);
      }
      answers.push_back(a);
      if (i == hi_) return;
    }
  }

  tree_t &t_;
  program p_;
  u64 lo_, hi_;
};

/// The ranges (or, for _range programs, the tiles including empty ranges)
/// of a model within [lo, hi].
std::vector<range_entry> tiles(const reference_model &m, u64 lo, u64 hi, bool with_empty) {
  std::vector<range_entry> out;
  u64 x = lo;
  for (;;) {
    range_entry r = m.lookup(x);
    if (r.entry || with_empty) out.push_back(r);
    if (r.last >= hi || r.last == kMax) break;
    x = r.last + 1;
  }
  return out;
}

bool holds(const std::vector<range_entry> &v, const range_entry &r) {
  return std::any_of(v.begin(), v.end(), [&](const range_entry &x) {
    return x.first == r.first && x.last == r.last && x.entry == r.entry;
  });
}

/// Checks a stepping program's report against the sequence of states the
/// tree went through. `pause_pos[s]`: the reader's position when state s+1
/// began (nullopt: before its first report).
std::string check_stepping(program p, u64 lo, u64 hi, const std::vector<reference_model> &states,
                           const std::vector<std::optional<range_entry>> &pause_pos,
                           const std::vector<range_entry> &seen, bool ran_away) {
  const bool back = backward(p);
  const bool empty_too = reports_empty(p);
  if (ran_away) return "did not end (ran away)";
  std::vector<std::vector<range_entry>> st_tiles;
  for (const reference_model &m : states) st_tiles.push_back(tiles(m, lo, hi, empty_too));
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const range_entry &r = seen[i];
    if (r.last < lo || r.first > hi) return "reported " + show(r) + " outside the window";
    bool known = false;
    for (const auto &t : st_tiles) known |= holds(t, r);
    // A _range program's first step (walk) may stand on a tile that reaches
    // outside the window: look it up whole.
    for (const reference_model &m : states) {
      range_entry w = m.lookup(r.first);
      known |= w.first == r.first && w.last == r.last && w.entry == r.entry;
    }
    if (!known) return "reported " + show(r) + ", a range of no state";
    if (i > 0) {
      const range_entry &q = seen[i - 1];
      const bool ordered = back ? r.last < q.first : r.first > q.last;
      if (!ordered) return "reported " + show(r) + " after " + show(q) + ": repeat or wrong way";
    }
  }
  // The end is decided on the tree as it is then (the last state): nothing
  // of it lies ahead of the last range reported. (A loop that compares
  // with a begin() or end() taken again would otherwise run on.)
  // (A tree without nodes, empty or a lone [0, 0] entry, has no empty
  // ranges to stand on: a cursor reads none there.)
  const reference_model &last = states.back();
  const bool nodeless = last.empty() || (last.size() == 1 && last.map().begin()->first == 0 &&
                                         last.map().begin()->second.last == 0);
  const std::vector<range_entry> now = tiles(last, lo, hi, empty_too && !nodeless);
  for (const range_entry &r : now) {
    const bool ahead = seen.empty() ? true
                       : back       ? r.last < seen.back().first
                                    : r.first > seen.back().last;
    if (ahead) return "ended while the tree holds " + show(r) + " ahead";
  }
  // No skip: a range held by every state, past the position at the first
  // pause, must be reported.
  const std::optional<range_entry> &at = pause_pos.empty() ? std::nullopt : pause_pos.front();
  for (const range_entry &r : st_tiles.front()) {
    bool everywhere = true;
    for (const auto &t : st_tiles) everywhere &= holds(t, r);
    if (!everywhere) continue;
    if (at && !(back ? r.last < at->first : r.first > at->last)) continue;
    if (!holds(seen, r)) return "skipped " + show(r) + ", held throughout";
  }
  return {};
}

[[maybe_unused]] std::string check_one_shots(
    program p, u64 lo, u64 hi, const reference_model &before, const reference_model &after,
    unsigned pause, const std::vector<std::optional<range_entry>> &answers) {
  for (unsigned k = 0; k < answers.size(); ++k) {
    const reference_model &m = k < pause ? before : after;
    const u64 i = lo + k;
    std::optional<range_entry> want;
    if (p == program::loads)
      want = range_entry{i, i, m.load(i)};
    else if (p == program::finds)
      want = m.find(i, hi);
    else
      want = m.find_rev(i, lo);
    const std::optional<range_entry> &got = answers[k];
    const bool same = got.has_value() == want.has_value() &&
                      (!got || (got->first == want->first && got->last == want->last &&
                                got->entry == want->entry));
    if (!same)
      return "index " + std::to_string(i) + ": got " + (got ? show(*got) : "nothing") + ", want " +
             (want ? show(*want) : "nothing");
  }
  return {};
}

// ---- layouts and writes --------------------------------------------------------------------

/// n ranges [10i + 10, 10i + 14] with value i.
template <class Tree>
void layout(Tree &t, reference_model &m, unsigned n) {
  for (u64 i = 0; i < n; ++i) {
    ASSERT_FALSE(t.store(10 * i + 10, 10 * i + 14, val(i)));
    m.store(10 * i + 10, 10 * i + 14, val(i));
  }
}

/// The write kinds, placed relative to the reader's position p (or the
/// program's start point when it has reported nothing).
std::vector<write_op> writes_around(const reference_model &m, std::optional<range_entry> p,
                                    u64 start) {
  const u64 a = p ? p->first : start, b = p ? p->last : start;
  auto sub = [](u64 x, u64 d) { return x > d ? x - d : 0; };
  auto add = [](u64 x, u64 d) { return x < kMax - d ? x + d : kMax; };
  void *fresh = val(900000 + a);
  std::vector<write_op> w = {
      {sub(a, 3), sub(a, 3), fresh, "point in the gap before"},
      {add(b, 3), add(b, 3), fresh, "point in the gap after"},
      {a, b, fresh, "overwrite at the position"},
      {a, b, nullptr, "erase at the position"},
      {add(a, 1), std::max(add(a, 1), sub(b, 1)), fresh, "store inside the position"},
      {sub(a, 25), add(b, 25), fresh, "spanning store across the position"},
      {sub(a, 25), add(b, 25), nullptr, "spanning erase across the position"},
      {0, sub(a, 1), nullptr, "erase everything before"},
      {add(b, 1), kMax, nullptr, "erase everything after"},
      {0, 0, fresh, "store at index 0"},
      {0, 4, fresh, "store before the first range"},
      // In RCU mode these stay inside one leaf and go into a copy of it.
      {a, add(b, 1), fresh, "grow the position's range by one"},
      {add(a, 1), add(b, 2), fresh, "move the position's start and end up"},
  };
  if (auto q = m.find_rev(kMax, 0); q && q->last < kMax - 3)
    w.push_back({q->last + 2, q->last + 3, fresh, "append after the last range"});
  if (auto q = m.find_rev(sub(a, 1), 0); q && a > 0) {
    w.push_back({q->first, q->last, nullptr, "erase the range before"});
    w.push_back({q->first, q->last, fresh, "replace the range before"});
  }
  if (auto q = m.find(add(b, 1), kMax); q && b < kMax) {
    w.push_back({q->first, q->last, nullptr, "erase the range after"});
    w.push_back({q->first, q->last, fresh, "replace the range after"});
  }
  // Drop writes with first > last (at the edges of the index space).
  w.erase(std::remove_if(w.begin(), w.end(), [](const write_op &x) { return x.first > x.last; }),
          w.end());
  return w;
}

struct window {
  u64 lo, hi;
};

template <class Tree>
class RcuInterleaving : public ::testing::Test {};

// The 4-slot engine (heights 1-4 from 1 to 40 ranges) and the smallest
// allocation-tree geometry.
template <unsigned S, bool Alloc>
struct geometry {
  static constexpr unsigned slots = S;
  static maple::tree_flags flags() {
    return Alloc ? maple::tree_flags::alloc | maple::tree_flags::rcu : maple::tree_flags::rcu;
  }
};
using geometries = ::testing::Types<geometry<4, false>, geometry<6, true>>;
TYPED_TEST_SUITE(RcuInterleaving, geometries);

/// Runs one case: layout n, program p over w, write number `which` of the
/// kinds placed at the reader's position before step `pause`. Returns
/// false when `which` is past the list at that pause (the caller's loop
/// ends), or when the pause is past the program's end.
template <class G>
bool run_case(unsigned n, program p, window w, unsigned pause, std::size_t which,
              std::string &error, unsigned &height_seen) {
  using tree_t = maple::basic_raw_tree<G::slots>;
  tree_t t(G::flags());
  reference_model before;
  layout(t, before, n);
  height_seen = t.height();
  reference_model after = before;
  bool wrote = false, exists = true;
  std::optional<range_entry> at_pause;
  std::vector<std::optional<range_entry>> pause_pos;
  reader<G::slots> rd(t, p, w.lo, w.hi);
  const u64 start = backward(p) ? w.hi : w.lo;
  rd.run(
      [&](unsigned k, const std::optional<range_entry> &pos) {
        if (k != pause) return;
        std::vector<write_op> list = writes_around(before, pos, start);
        if (which >= list.size()) {
          exists = false;
          return;
        }
        const write_op &op = list[which];
        the_writer().run([&] {
          if (t.store(op.first, op.last, op.entry)) error = "store failed";
        });
        after.store(op.first, op.last, op.entry);
        wrote = true;
        at_pause = pos;
        pause_pos.push_back(pos);
        if (auto v = t.validate(); !v) error = std::string("tree invalid: ") + v.message;
        error += error.empty() ? "" : std::string(" (write: ") + op.kind + ")";
      },
      2 * (n + 2) + 8);
  if (!error.empty() || !exists) return exists && wrote;
  if (!wrote) return false;  // the program ended before this pause
  if (one_shot(p))
    error = check_one_shots(p, w.lo, w.hi, before, after, pause, rd.answers);
  else
    error = check_stepping(p, w.lo, w.hi, {before, after}, pause_pos, rd.reported, rd.ran_away);
  if (!error.empty()) {
    std::vector<write_op> list = writes_around(before, at_pause, start);
    std::ostringstream os;
    os << error << "\n  write: " << list[which].kind << " [" << list[which].first << ", "
       << list[which].last << "] " << list[which].entry << " before step " << pause
       << (at_pause ? " at " + show(*at_pause) : std::string(" (nothing reported yet)"))
       << "\n  reported:";
    for (const range_entry &r : rd.reported) os << ' ' << show(r);
    error = os.str();
  }
  t.clear();
  return true;
}

#if !MAPLE_RANDOM_INTERLEAVINGS
TYPED_TEST(RcuInterleaving, EveryWriteBeforeEveryStepOfEveryReader) {
  const window windows[] = {{0, kMax}, {55, 255}, {13, 13}, {0, 60}};
  unsigned cases = 0, heights_seen = 0;
  for (unsigned n : {1u, 3u, 6u, 14u, 40u}) {
    for (program p : all_programs) {
      for (window w : windows) {
        if (one_shot(p) && w.hi - w.lo > 300) w = {0, 300};
        for (unsigned pause = 0;; ++pause) {
          bool any = false;
          for (std::size_t which = 0;; ++which) {
            std::string error;
            unsigned h = 0;
            if (!run_case<TypeParam>(n, p, w, pause, which, error, h)) break;
            any = true;
            ++cases;
            heights_seen |= 1u << h;
            ASSERT_TRUE(error.empty()) << name_of(p) << " over [" << w.lo << ", " << w.hi << "], "
                                       << n << " ranges (height " << h << "): " << error;
            if (cases % 512 == 0) maple::rcu::barrier();
          }
          if (!any) break;
        }
      }
    }
  }
  maple::rcu::barrier();
  std::printf("[   info   ] %u interleavings\n", cases);
  EXPECT_GT(cases, 10000u);
  if (TypeParam::slots == 4) {
    for (unsigned h = 1; h <= 4; ++h) EXPECT_TRUE(heights_seen & (1u << h)) << "height " << h;
  }
}

// The outside report's loop, exactly: a reverse iteration that compares
// with begin() taken again each time, beside a writer storing in front of
// the first range. One step back reaches the new first range.
TEST(RcuIteration, ReverseLoopAgainstBeginMeetsAStoreInFront) {
  for (bool windowed : {false, true}) {
    maple::raw_tree t(maple::tree_flags::rcu);
    for (u64 i = 1; i < 40; ++i) ASSERT_FALSE(t.store(100 * i, 100 * i + 9, val(i)));
    std::vector<range_entry> seen;
    {
      maple::rcu::read_guard section;
      auto view = windowed ? t.ranges(5, 250) : t.ranges();
      auto it = view.begin();
      ASSERT_EQ((*it).first, 100u);
      std::error_code ec;
      the_writer().run([&] { ec = t.store(10, 19, val(0)); });  // in front of the reader
      ASSERT_FALSE(ec);
      while (it != view.begin() && seen.size() < 10) {
        --it;
        seen.push_back(*it);
      }
    }
    ASSERT_EQ(seen.size(), 1u) << "windowed " << windowed;
    EXPECT_EQ(seen[0], (range_entry{10, 19, val(0)}));
  }
  maple::rcu::barrier();
}

// The mirror image: a forward step from the last range after a store
// behind it reaches the new last range, then the end.
TEST(RcuIteration, ForwardStepFromTheLastRangeMeetsAStoreBehindIt) {
  maple::raw_tree t(maple::tree_flags::rcu);
  for (u64 i = 1; i < 40; ++i) ASSERT_FALSE(t.store(100 * i, 100 * i + 9, val(i)));
  {
    maple::rcu::read_guard section;
    auto it = t.end();
    --it;
    ASSERT_EQ((*it).first, 3900u);
    std::error_code ec;
    the_writer().run([&] { ec = t.store(5000, 5009, val(50)); });
    ASSERT_FALSE(ec);
    ++it;
    ASSERT_NE(it, t.end());
    EXPECT_EQ(*it, (range_entry{5000, 5009, val(50)}));
    ++it;
    EXPECT_EQ(it, t.end());
  }
  maple::rcu::barrier();
}

#else
// ---- the random version (label slow) --------------------------------------------------------

template <class G>
std::string random_case(rng &r, unsigned &writes_done) {
  using tree_t = maple::basic_raw_tree<G::slots>;
  tree_t t(G::flags());
  std::vector<reference_model> states(1);
  const unsigned n = static_cast<unsigned>(r.between(1, 300));
  layout(t, states[0], n);
  const program p = all_programs[r.below(8)];  // the stepping programs
  const u64 lo = r.chance(1, 2) ? 0 : r.below(10 * n + 20);
  const u64 hi = r.chance(1, 2) ? kMax : lo + r.below(10 * n + 20);
  std::vector<std::optional<range_entry>> pause_pos;
  std::vector<std::string> writes;
  reader<G::slots> rd(t, p, lo, hi);
  const unsigned max_steps = 4 * (n + 2) + 64;
  std::string error;
  rd.run(
      [&](unsigned, const std::optional<range_entry> &pos) {
        if (!r.chance(1, 4) || states.size() > 12) return;
        const u64 start = backward(p) ? hi : lo;
        std::vector<write_op> list = writes_around(states.back(), pos, start);
        const write_op &op = list[r.below(list.size())];
        the_writer().run([&] {
          if (t.store(op.first, op.last, op.entry)) error = "store failed";
        });
        states.push_back(states.back());
        states.back().store(op.first, op.last, op.entry);
        pause_pos.push_back(pos);
        writes.push_back(std::string(op.kind) + " [" + std::to_string(op.first) + ", " +
                         std::to_string(op.last) + "] before step " +
                         std::to_string(rd.reported.size()) +
                         (pos ? " at " + show(*pos) : std::string(" (nothing reported)")));
        ++writes_done;
      },
      max_steps);
  if (error.empty() && !pause_pos.empty())
    error = check_stepping(p, lo, hi, states, pause_pos, rd.reported, rd.ran_away);
  if (!error.empty()) {
    std::ostringstream os;
    os << name_of(p) << " over [" << lo << ", " << hi << "], " << n << " ranges: " << error
       << "\n  writes:";
    for (const std::string &w : writes) os << "\n    " << w;
    os << "\n  reported:";
    for (const range_entry &x : rd.reported) os << ' ' << show(x);
    error = os.str();
  }
  t.clear();
  return error;
}

TYPED_TEST(RcuInterleaving, RandomWritesAtRandomSteps) {
  const u64 seed = test_seed(31337 + TypeParam::slots);
  rng r(seed);
  const u64 runs = scaled(20000, 50);
  unsigned writes = 0;
  for (u64 i = 0; i < runs; ++i) {
    std::string error = random_case<TypeParam>(r, writes);
    ASSERT_TRUE(error.empty()) << "seed " << seed << " (MAPLE_TEST_SEED), run " << i << ": "
                               << error;
    if (i % 64 == 0) maple::rcu::barrier();
  }
  maple::rcu::barrier();
  std::printf("[   info   ] %llu runs, %u writes\n", static_cast<unsigned long long>(runs), writes);
}
#endif

}  // namespace
}  // namespace maple_test
