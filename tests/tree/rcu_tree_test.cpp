// tests/tree/rcu_tree_test.cpp - the maple tree in RCU mode: readers that never
// block beside a writer (issue 4; reference sections 4.4 and 7).
//
//   Stress        k readers (1, 2, 4) and one writer (spanning stores, erases,
//                 splits, empty stores) for a bounded time, on a plain and an
//                 allocation tree. Every entry encodes the (first, last,
//                 version) it was stored with, so a reader checks without
//                 locks that each range it sees lies inside a range really
//                 stored, with a version already published; iterations and
//                 cursor walks yield strictly increasing, disjoint ranges.
//                 The writer checks validate() as it goes and the final
//                 contents against its model.
//   DeadNodes     deterministic interleavings: a reader iterating with a
//                 cursor (forwards and backwards) stops after every step
//                 while the writer replaces the leaf it stands on; the reader
//                 then finishes, and what it reported must be ranges of the
//                 state before or after the write, in order, with nothing
//                 that both states hold skipped; the dead-node retry path is
//                 proved taken (detail::dead_steps).
//   Reclamation   destroy()/clear() of an RCU tree: once maple::rcu::barrier()
//                 returns every node is back in the memory resource.
//   Mode          set_rcu_mode on and off, creation flag, one-shot reads.
#include "reference_model.h"
#include "test_env.h"

#include "engine/walk.h"
#include "engine/write_trace.h"

#include <maple/cursor.h>
#include <maple/failing_resource.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>
#include <maple/tree.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory_resource>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace maple_test {
namespace {

using maple::range_entry;

// ---- entries that say what they are ------------------------------------------------

constexpr unsigned kFirstBits = 20, kLenBits = 12;
constexpr std::uint64_t kSpace = std::uint64_t{1} << kFirstBits;  // indices used
constexpr std::uint64_t kMaxLen = (std::uint64_t{1} << kLenBits) - 1;

void *enc(std::uint64_t first, std::uint64_t last, std::uint64_t version) {
  return maple::make_value_entry(first | (last - first) << kFirstBits |
                                 version << (kFirstBits + kLenBits));
}
struct decoded {
  std::uint64_t first, last, version;
};
decoded dec(const void *e) {
  std::uint64_t v = maple::value_of_entry(e);
  std::uint64_t first = v & (kSpace - 1);
  std::uint64_t len = (v >> kFirstBits) & kMaxLen;
  return {first, first + len, v >> (kFirstBits + kLenBits)};
}

/// The first failure any thread saw (threads cannot use ASSERT_*).
class failures {
 public:
  void add(const std::string &what) {
    std::lock_guard<std::mutex> g(m_);
    if (first_.empty()) first_ = what;
    any_.store(true, std::memory_order_relaxed);
  }
  bool any() const { return any_.load(std::memory_order_relaxed); }
  std::string first() const {
    std::lock_guard<std::mutex> g(m_);
    return first_;
  }

 private:
  mutable std::mutex m_;
  std::string first_;
  std::atomic<bool> any_{false};
};

/// A range [first, last] read with entry e: e was stored over a range
/// holding [first, last] (later writes only trim), and published already.
bool plausible(std::uint64_t first, std::uint64_t last, const void *e, std::uint64_t published,
               std::string &why) {
  if (!maple::is_value_entry(e)) {
    why =
        "not one of the writer's entries: " + std::to_string(reinterpret_cast<std::uintptr_t>(e)) +
        " at [" + std::to_string(first) + ", " + std::to_string(last) + "]";
    return false;
  }
  decoded d = dec(e);
  if (first < d.first || last > d.last || first > last) {
    why = "range [" + std::to_string(first) + ", " + std::to_string(last) +
          "] outside the stored [" + std::to_string(d.first) + ", " + std::to_string(d.last) + "]";
    return false;
  }
  if (d.version > published) {
    why = "version " + std::to_string(d.version) + " not published yet";
    return false;
  }
  return true;
}

// ---- stress ---------------------------------------------------------------------

struct stress_result {
  std::uint64_t writes = 0, reads = 0, iterations = 0, restarts = 0;
};

stress_result run_stress(maple::raw_tree &t, unsigned readers, double seconds, failures &fail) {
  reference_model m;
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0}, iterations{0};
  const std::uint64_t dead0 = maple::detail::dead_steps.load();

  auto reader = [&](unsigned id) {
    std::mt19937_64 rng(test_seed(1000 + id));
    std::uint64_t n = 0, its = 0;
    std::string why;
    while (!stop.load(std::memory_order_relaxed) && !fail.any()) {
      std::uint64_t i = rng() % kSpace;
      switch (rng() % 5) {
        case 0: {  // load
          void *e = t.load(i);
          std::uint64_t pub = published.load(std::memory_order_acquire);
          if (e && !plausible(i, i, e, pub, why))
            fail.add("load(" + std::to_string(i) + "): " + why);
          break;
        }
        case 1: {  // lookup: the range holding i
          range_entry r = t.lookup(i);
          std::uint64_t pub = published.load(std::memory_order_acquire);
          if (r.first > i || r.last < i) fail.add("lookup: range does not hold the index");
          if (r.entry && !plausible(r.first, r.last, r.entry, pub, why)) fail.add("lookup: " + why);
          break;
        }
        case 2: {  // find
          auto r = t.find(i, i + 5000);
          std::uint64_t pub = published.load(std::memory_order_acquire);
          if (r && (r->last < i || r->first > i + 5000)) fail.add("find: outside the window");
          if (r && !plausible(r->first, r->last, r->entry, pub, why)) fail.add("find: " + why);
          break;
        }
        case 3: {  // iteration over a window
          maple::rcu::read_guard g;
          std::uint64_t prev_last = 0;
          bool have = false;
          for (const range_entry &r : t.ranges(i, i + 20000)) {
            std::uint64_t pub = published.load(std::memory_order_acquire);
            if (have && r.first <= prev_last)
              fail.add("iteration: ranges not increasing: [" + std::to_string(r.first) + ", " +
                       std::to_string(r.last) + "] after one ending at " +
                       std::to_string(prev_last) + " (window from " + std::to_string(i) + ")");
            if (!plausible(r.first, r.last, r.entry, pub, why)) fail.add("iteration: " + why);
            prev_last = r.last;
            have = true;
          }
          ++its;
          break;
        }
        default: {  // cursor walk forwards or backwards
          maple::read_guard g(t);
          maple::cursor c = g.cursor(i);
          const bool fwd = rng() % 2;
          std::uint64_t bound = fwd ? 0 : maple::max_index;
          bool have = false;
          for (void *e = fwd ? c.find(i + 20000) : c.find_rev(i > 20000 ? i - 20000 : 0); e;
               e = fwd ? c.next(i + 20000) : c.prev(i > 20000 ? i - 20000 : 0)) {
            std::uint64_t pub = published.load(std::memory_order_acquire);
            if (have && (fwd ? c.index() <= bound : c.last() >= bound))
              fail.add(std::string("cursor ") + (fwd ? "next" : "prev") + ": not monotone");
            if (!plausible(c.index(), c.last(), e, pub, why)) fail.add("cursor: " + why);
            bound = fwd ? c.last() : c.index();
            have = true;
          }
          ++its;
        }
      }
      ++n;
    }
    reads += n;
    iterations += its;
  };

  std::vector<std::thread> ts;
  for (unsigned r = 0; r < readers; ++r) ts.emplace_back(reader, r);

  std::mt19937_64 rng(test_seed(77));
  stress_result res;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::uint64_t version = 0;
  while (std::chrono::steady_clock::now() < until && !fail.any()) {
    for (int k = 0; k < 64; ++k) {
      std::uint64_t a = rng() % (kSpace - kMaxLen - 1);
      std::uint64_t len = rng() % 4 == 0 ? rng() % kMaxLen : rng() % 40;
      std::error_code ec;
      switch (rng() % 8) {
        case 0:
        case 1: {  // erase the range at a
          void *want = m.erase(a);
          void *got = maple_test::erased(t, a);
          if (got != want) fail.add("writer: erase returned another entry");
          break;
        }
        case 2:  // empty store (spanning)
          ec = t.store(a, a + len, nullptr);
          m.store(a, a + len, nullptr);
          break;
        default: {  // store (split, overwrite, spanning)
          // Announced before the store publishes it: a reader that sees
          // the entry reads a count at least this large.
          void *e = enc(a, a + len, ++version);
          published.store(version, std::memory_order_release);
          ec = t.store(a, a + len, e);
          m.store(a, a + len, e);
        }
      }
      if (ec) fail.add("writer: store failed: " + ec.message());
      ++res.writes;
    }
    if (res.writes % 8192 == 0) {
      maple::check_report r = t.validate();
      if (!r.ok) fail.add("writer: " + r.message);
    }
  }
  stop = true;
  for (auto &th : ts) th.join();
  res.reads = reads;
  res.iterations = iterations;
  res.restarts = maple::detail::dead_steps.load() - dead0;
  if (!fail.any()) {
    ::testing::AssertionResult ok = consistent(t, m);
    if (!ok) fail.add(std::string("final contents: ") + ok.message());
  }
  return res;
}

class RcuStress : public ::testing::TestWithParam<std::tuple<unsigned, bool>> {};

TEST_P(RcuStress, ReadersBesideOneWriter) {
  const auto [readers, alloc] = GetParam();
  // Under AddressSanitizer nodes come from operator new, so that a node
  // freed too early is reported (the default slab hides it from ASan).
#if defined(__SANITIZE_ADDRESS__)
  std::pmr::memory_resource *mr = std::pmr::new_delete_resource();
#else
  std::pmr::memory_resource *mr = nullptr;
#endif
  maple::raw_tree t(
      alloc ? maple::tree_flags::alloc | maple::tree_flags::rcu : maple::tree_flags::rcu, mr);
  ASSERT_TRUE(t.rcu_mode());
  failures fail;
  const double secs = 1.5 * test_scale();
  stress_result r = run_stress(t, readers, secs, fail);
  ASSERT_FALSE(fail.any()) << fail.first();
  EXPECT_GT(r.reads, 0u);
  EXPECT_GT(r.writes, 50u);  // few under TSan with its 0.1 time scale
  std::printf(
      "[   info   ] %u readers, %s tree, %.1f s: %llu writes, %llu reads (%llu walks), "
      "%llu dead-node restarts, final height %u\n",
      readers, alloc ? "allocation" : "plain", secs, static_cast<unsigned long long>(r.writes),
      static_cast<unsigned long long>(r.reads), static_cast<unsigned long long>(r.iterations),
      static_cast<unsigned long long>(r.restarts), t.height());
  t.clear();
  maple::rcu::barrier();
}

INSTANTIATE_TEST_SUITE_P(Readers, RcuStress,
                         ::testing::Combine(::testing::Values(1u, 2u, 4u), ::testing::Bool()));

// ---- deterministic dead-node interleavings ----------------------------------------

/// A one-shot handshake between the reader and the writer thread.
class baton {
 public:
  void pass() {
    std::lock_guard<std::mutex> g(m_);
    ++turn_;
    cv_.notify_all();
  }
  void wait_for(unsigned turn) {
    std::unique_lock<std::mutex> g(m_);
    cv_.wait(g, [&] { return turn_ >= turn; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned turn_ = 0;
};

/// Builds 300 ranges [10i, 10i + 4] (value i): many leaves.
void layout(maple::raw_tree &t, reference_model &m) {
  for (std::uint64_t i = 0; i < 300; ++i) {
    ASSERT_FALSE(t.store(10 * i, 10 * i + 4, val(i)));
    m.store(10 * i, 10 * i + 4, val(i));
  }
}

/// One interleaving: the reader reports `stop_after` ranges, then the writer
/// replaces the reader's leaf by storing [x, x] in the gap after (forwards)
/// or before (backwards) the reader's range, then the reader finishes.
/// Checks what the reader reported.
void interleave(unsigned stop_after, bool forward, bool alloc, std::string &error) {
  maple::raw_tree t(alloc ? maple::tree_flags::alloc | maple::tree_flags::rcu
                          : maple::tree_flags::rcu);
  reference_model before;
  layout(t, before);
  std::vector<range_entry> seen;
  std::uint64_t at = 0;  // the reader's range when it stopped
  baton b;
  std::thread reader([&] {
    maple::read_guard g(t);
    maple::cursor c = g.cursor(forward ? 0 : maple::max_index);
    void *e = forward ? c.find(maple::max_index) : c.find_rev(0);
    for (unsigned k = 0; e; ++k) {
      seen.push_back({c.index(), c.last(), e});
      if (k == stop_after) {
        at = c.index();
        b.pass();       // turn 1: the writer may go
        b.wait_for(2);  // the write is done
      }
      e = forward ? c.next(maple::max_index) : c.prev(0);
    }
    if (stop_after >= seen.size()) b.pass();
  });
  b.wait_for(1);
  reference_model after = before;
  const std::uint64_t x = forward ? at + 6 : (at >= 4 ? at - 3 : 0);
  if (at >= 4 || forward) {
    if (t.store(x, x, val(100000 + at))) error = "store failed";
    after.store(x, x, val(100000 + at));
  }
  b.pass();  // turn 2
  reader.join();
  // What was reported: in order, each range from the state before or after
  // the write, and every range both states share past the stop reported.
  for (std::size_t i = 1; i < seen.size(); ++i) {
    bool ordered = forward ? seen[i].first > seen[i - 1].last : seen[i].last < seen[i - 1].first;
    if (!ordered) error = "ranges out of order at " + std::to_string(i);
  }
  auto in = [](const reference_model &m, const range_entry &r) {
    auto l = m.lookup(r.first);
    return l.first == r.first && l.last == r.last && l.entry == r.entry;
  };
  for (const range_entry &r : seen)
    if (!in(before, r) && !in(after, r))
      error = "reported a range of neither state: [" + std::to_string(r.first) + ", " +
              std::to_string(r.last) + "]";
  for (const range_entry &r : before.ranges()) {
    if (!in(after, r)) continue;
    bool past = forward ? r.first > at : r.last < at;
    if (!past) continue;
    bool reported = false;
    for (const range_entry &s : seen) reported |= s.first == r.first && s.last == r.last;
    if (!reported)
      error = "skipped [" + std::to_string(r.first) + ", " + std::to_string(r.last) + "]";
  }
  t.clear();
}

TEST(RcuDeadNodes, EveryStepOfAnIterationBesideALeafReplacement) {
  for (bool alloc : {false, true}) {
    for (bool forward : {true, false}) {
      const std::uint64_t dead0 = maple::detail::dead_steps.load();
      for (unsigned k = 0; k < 300; ++k) {
        std::string error;
        interleave(k, forward, alloc, error);
        ASSERT_TRUE(error.empty()) << (forward ? "forward" : "backward") << " stop " << k
                                   << (alloc ? " (allocation tree)" : "") << ": " << error;
      }
      // A reader on the last slot of a leaf steps through the dead leaf's
      // parent word: once per leaf of the layout at least.
      EXPECT_GE(maple::detail::dead_steps.load() - dead0, 10u)
          << (forward ? "forward" : "backward") << (alloc ? " alloc" : "");
    }
  }
  maple::rcu::barrier();
}

// A range-for iteration whose leaf is replaced meanwhile finishes the dead
// leaf's old contents, then goes on in the new tree after what it reported.
TEST(RcuDeadNodes, IteratorGoesOnAfterARewrite) {
  const std::uint64_t dead0 = maple::detail::dead_steps.load();
  maple::raw_tree t(maple::tree_flags::rcu);
  reference_model m;
  layout(t, m);
  std::vector<range_entry> seen;
  baton b;
  std::thread reader([&] {
    maple::rcu::read_guard g;
    unsigned k = 0;
    for (const range_entry &r : t.ranges()) {
      seen.push_back(r);
      if (++k == 100) {
        b.pass();
        b.wait_for(2);
      }
    }
  });
  b.wait_for(1);
  // Rewrite everything after the reader: one spanning store replaces most
  // leaves, then new ranges on top.
  const std::uint64_t from = seen.back().last + 1;
  ASSERT_FALSE(t.store(from, 10 * 300, nullptr));
  for (std::uint64_t i = from; i < 3000; i += 7) ASSERT_FALSE(t.store(i, i + 2, val(i)));
  b.pass();
  reader.join();
  // The first 100 from the old state; then what is left of the reader's
  // (dead) leaf, old ranges; then, once it stepped through the dead node,
  // exactly the new state's ranges after the last one reported.
  ASSERT_GE(seen.size(), 100u);
  std::size_t i = 100;
  auto same = [](const range_entry &x, const range_entry &y) {
    return x.first == y.first && x.last == y.last && x.entry == y.entry;
  };
  while (i < seen.size() && same(m.lookup(seen[i].first), seen[i])) ++i;
  const std::uint64_t last_old = seen[i - 1].last;
  std::vector<range_entry> want;
  for (const range_entry &r : t.ranges())
    if (r.first > last_old) want.push_back(r);
  std::vector<range_entry> got(seen.begin() + static_cast<std::ptrdiff_t>(i), seen.end());
  ASSERT_EQ(got.size(), want.size()) << "old ranges after the stop: " << i - 100;
  for (std::size_t k = 0; k < got.size(); ++k) EXPECT_TRUE(same(got[k], want[k])) << k;
  EXPECT_GT(maple::detail::dead_steps.load(), dead0);
  t.clear();
  maple::rcu::barrier();
}

// ---- reclamation -------------------------------------------------------------------

TEST(RcuReclamation, ClearAndDestroyReturnEveryNodeAfterTheGracePeriod) {
  maple::failing_resource res;  // never fails here: counts outstanding blocks
  {
    maple::raw_tree t(maple::tree_flags::rcu, &res);
    reference_model m;
    layout(t, m);
    for (std::uint64_t i = 0; i < 2000; ++i) ASSERT_FALSE(t.store(i * 3, i * 3 + 1, val(i)));
    EXPECT_GT(res.outstanding(), 0u);
    t.clear();
    maple::rcu::barrier();
    EXPECT_EQ(res.outstanding(), 0u);
    layout(t, m);
    EXPECT_GT(res.outstanding(), 0u);
  }  // destroyed in RCU mode
  maple::rcu::barrier();
  EXPECT_EQ(res.outstanding(), 0u);
}

TEST(RcuReclamation, ReplacedNodesWaitForReaders) {
  maple::failing_resource res;  // never fails here: counts outstanding blocks
  maple::raw_tree t(maple::tree_flags::rcu, &res);
  reference_model m;
  layout(t, m);
  baton b;
  std::size_t held = 0;
  std::thread reader([&] {
    maple::rcu::read_guard g;
    b.pass();
    b.wait_for(2);
  });
  b.wait_for(1);
  const std::size_t before = res.outstanding();
  ASSERT_FALSE(t.store(0, 5000, nullptr));  // replaces most of the tree
  held = res.outstanding();
  EXPECT_GE(held, before);  // nothing freed while the reader is in its section
  b.pass();
  reader.join();
  maple::rcu::barrier();
  EXPECT_LT(res.outstanding(), held);
  t.clear();
  maple::rcu::barrier();
  EXPECT_EQ(res.outstanding(), 0u);
}

// Regression 13 (append disabled when readers are possible): in RCU mode no
// write rewrites a leaf in place (append, slot store, in-place node store);
// the same writes outside RCU mode do.
TEST(RcuMode, NoInPlaceLeafWritesUnderReaders) {
#ifndef MAPLE_TEST_HOOKS
  GTEST_SKIP() << "write-kind counters not compiled (configure with -DMAPLE_TEST_HOOKS=ON)";
#else
  using maple::detail::write_kind;
  auto run = [](bool rcu) {
    maple::raw_tree t(rcu ? maple::tree_flags::rcu : maple::tree_flags::none);
    maple::detail::thread_write_trace().reset();
    for (std::uint64_t i = 0; i < 2000; ++i) EXPECT_FALSE(t.store(10 * i, 10 * i + 4, val(i)));
    for (std::uint64_t i = 0; i < 2000; i += 3) EXPECT_FALSE(t.store(10 * i, 10 * i + 1, val(i)));
    for (std::uint64_t i = 1; i < 2000; i += 3)
      EXPECT_FALSE(t.store(10 * i + 5, 10 * i + 6, val(i)));
    maple::detail::write_trace tr = maple::detail::thread_write_trace();
    t.clear();
    return tr;
  };
  maple::detail::write_trace plain = run(false), rcu = run(true);
  EXPECT_GT(plain[write_kind::append], 0u);
  EXPECT_GT(plain[write_kind::slot_store] + plain[write_kind::node_store], 0u);
  EXPECT_EQ(rcu[write_kind::append], 0u);
  EXPECT_EQ(rcu[write_kind::slot_store], 0u);
  // node_store under RCU counts only whole new leaves published in one store.
  maple::rcu::barrier();
#endif
}

// ---- the mode --------------------------------------------------------------------

TEST(RcuMode, SwitchingKeepsContentsAndReads) {
  maple::raw_tree t;
  EXPECT_FALSE(t.rcu_mode());
  reference_model m;
  layout(t, m);
  t.set_rcu_mode(true);
  EXPECT_TRUE(t.rcu_mode());
  ASSERT_FALSE(t.store(5, 25, val(7)));
  m.store(5, 25, val(7));
  ASSERT_TRUE(consistent(t, m));
  t.set_rcu_mode(false);
  ASSERT_FALSE(t.store(1000, 1003, val(8)));
  m.store(1000, 1003, val(8));
  ASSERT_TRUE(consistent(t, m));
  maple::tree<int *> typed(maple::tree_flags::rcu);
  EXPECT_TRUE(typed.rcu_mode());
  maple::rcu::barrier();
}

}  // namespace
}  // namespace maple_test
