// tests/mm/mm_concurrency_test.cpp - maple::mm's lock-free page-fault path
// (address_space::fault and lock_vma_under_rcu) beside a writer.
//
// The writer changes a 32-page window with munmap / mprotect / MAP_FIXED
// mmap / mremap. A sequence number is odd while a call runs and even
// between calls; after call k the writer records the window's VMAs as
// state S_k (S_0: before the first call). Readers look addresses up and
// record (address, result, sequence before, sequence after). Afterwards,
// without any lock: a lookup that read s1 before and s2 after may have
// seen any state S_j with s1/2 <= j <= (s2+1)/2; a VMA it returned must be
// one of those states' VMAs covering the address (same start, end and
// flags), and "none" (fault() only) needs one of them to leave the address
// unmapped. Bounded time (MAPLE_TEST_SCALE scales it).
#include <maple/mm.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mm_support.h"
#include "test_env.h"

namespace {

using namespace maple::mm;
using mm_test::pg;

constexpr std::uint64_t W = 0x200000;  // the window
constexpr std::uint64_t win_pages = 32;

struct piece {
  std::uint64_t start, end, flags;
  friend bool operator==(const piece &, const piece &) = default;
};
using state = std::vector<piece>;

struct lookup {
  std::uint64_t addr;
  std::uint64_t s1, s2;
  bool found;
  bool may_be_none;  // fault(): "none" is a claim; lock_vma_under_rcu: not
  piece p;
};

state window_state(const address_space &as) {
  state s;
  for (const auto &v : as.vmas())
    if (v.end > W && v.start < W + win_pages * pg) s.push_back({v.start, v.end, v.flags});
  return s;
}

std::string last_op;

void writer_op(address_space &as, maple_test::rng &r) {
  auto page = [&] { return W + r.below(win_pages) * pg; };
  auto len = [&] { return (1 + r.below(6)) * pg; };
  static constexpr unsigned prots[] = {prot_read, prot_read | prot_write, prot_none,
                                       prot_read | prot_exec};
  std::uint64_t out = 0;
  std::uint64_t a = page(), l = len();
  if (a + l > W + win_pages * pg) l = W + win_pages * pg - a;
  switch (r.below(4)) {
    case 0:
      (void)as.munmap(a, l);
      last_op = "munmap " + std::to_string(a) + " " + std::to_string(l);
      break;
    case 1: {
      unsigned p = prots[r.below(4)];
      (void)as.mprotect(a, l, p);
      last_op = "mprotect " + std::to_string(a) + " " + std::to_string(l) + " " + std::to_string(p);
      break;
    }
    case 2: {
      unsigned p = prots[r.below(4)];
      (void)as.mmap(a, l, p, map_private | map_anonymous | map_fixed, {}, 0, out);
      last_op = "mmap " + std::to_string(a) + " " + std::to_string(l) + " " + std::to_string(p);
      break;
    }
    default: {
      std::uint64_t na = page();
      if (na + l > W + win_pages * pg) na = W + win_pages * pg - l;
      (void)as.mremap(a, l, l, mremap_maymove | mremap_fixed, na, out);
      last_op =
          "mremap " + std::to_string(a) + " " + std::to_string(l) + " -> " + std::to_string(na);
      break;
    }
  }
}

TEST(MmConcurrency, FaultLookupsSeeOnlyRealStates) {
  address_space as;
  std::uint64_t out = 0;
  ASSERT_FALSE(as.mmap(W, win_pages * pg, prot_read | prot_write,
                       map_private | map_anonymous | map_fixed, {}, 0, out));
  const auto budget = std::chrono::milliseconds(
      static_cast<long>(std::max(150.0, 1500.0 * maple_test::test_scale())));
  constexpr std::size_t max_writes = 200000, max_lookups = 200000;
  std::vector<state> history;
  std::vector<std::string> ops;
  ops.reserve(max_writes + 1);
  ops.emplace_back("initial");
  history.reserve(max_writes + 1);
  history.push_back(window_state(as));
  std::atomic<std::uint64_t> seq{0};
  std::atomic<bool> stop{false};
  const unsigned n_readers = std::clamp(std::thread::hardware_concurrency(), 2u, 4u);
  std::vector<std::vector<lookup>> logs(n_readers);
  std::vector<std::thread> readers;
  for (unsigned t = 0; t < n_readers; ++t) {
    readers.emplace_back([&, t] {
      maple_test::rng r(maple_test::test_seed(0xfa017) + t);
      auto &log = logs[t];
      log.reserve(max_lookups);
      while (!stop.load(std::memory_order_acquire) && log.size() < max_lookups) {
        lookup l{};
        l.addr = W + r.below(win_pages * pg);
        l.s1 = seq.load(std::memory_order_acquire);
        if (r.chance(1, 2)) {
          l.may_be_none = true;
          if (auto v = as.fault(l.addr)) {
            l.found = true;
            l.p = {v->start, v->end, v->flags};
          }
        } else {
          l.may_be_none = false;
          if (auto ref = as.lock_vma_under_rcu(l.addr)) {
            l.found = true;
            l.p = {ref.start(), ref.end(), ref.flags()};
            vma_info info = ref.info();
            EXPECT_EQ(info.start, l.p.start);
            EXPECT_EQ(info.end, l.p.end);
          }
        }
        l.s2 = seq.load(std::memory_order_acquire);
        log.push_back(l);
      }
    });
  }
  maple_test::rng wr(maple_test::test_seed(0x3217e));
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t writes = 0;
  while (std::chrono::steady_clock::now() - t0 < budget && writes < max_writes) {
    seq.fetch_add(1, std::memory_order_acq_rel);  // odd: a call runs
    writer_op(as, wr);
    history.push_back(window_state(as));
    ops.push_back(last_op);
    ++writes;
    seq.fetch_add(1, std::memory_order_acq_rel);  // even: S_writes is current
  }
  stop.store(true, std::memory_order_release);
  for (auto &th : readers) th.join();
  ASSERT_EQ(as.validate().message, "");

  std::size_t checked = 0, found = 0, none = 0;
  for (const auto &log : logs) {
    for (const lookup &l : log) {
      const std::uint64_t lo = l.s1 / 2, hi = std::min<std::uint64_t>((l.s2 + 1) / 2, writes);
      bool ok = false;
      for (std::uint64_t j = lo; j <= hi && !ok; ++j) {
        const state &s = history[j];
        auto it = std::find_if(s.begin(), s.end(),
                               [&](const piece &p) { return p.start <= l.addr && l.addr < p.end; });
        if (l.found)
          ok = it != s.end() && *it == l.p;
        else
          ok = !l.may_be_none || it == s.end();
      }
      ++checked;
      (l.found ? found : none) += 1;
      if (!ok) {
        std::string states;
        for (std::uint64_t j = lo; j <= hi; ++j) {
          states += "  S_" + std::to_string(j) + " after " + ops[j] + ":";
          char b[64];
          for (const piece &p : history[j]) {
            std::snprintf(b, sizeof b, " %llx-%llx/%llx", static_cast<unsigned long long>(p.start),
                          static_cast<unsigned long long>(p.end),
                          static_cast<unsigned long long>(p.flags));
            states += b;
          }
          states += "\n";
        }
        std::ostringstream msg;
        msg << states << "lookup of " << std::hex << l.addr << " in seq [" << std::dec << l.s1
            << ", " << l.s2 << "] returned "
            << (l.found ? "a VMA that no state of the window had" : "none") << std::hex << " ("
            << l.p.start << "-" << l.p.end << " flags " << l.p.flags << ")";
        // Known model bug (reported): a VMA that exists only inside one
        // write section (e.g. the lower piece of the destination munmap of
        // an MREMAP_FIXED move) is not write-locked, so the fast path locks
        // it. The kernel write-locks every VMA a writer touches until
        // mmap_write_unlock [9].
        std::printf("%s\n", msg.str().c_str());
        MM_MODEL_BUG("fault path saw a VMA of an unfinished write section (see output)");
        ADD_FAILURE() << msg.str();
        return;
      }
    }
  }
  EXPECT_GT(writes, 10u);
  EXPECT_GT(found, 0u);
  std::printf(
      "%zu writes, %zu lookups checked (%zu found, %zu none), fallbacks %llu, "
      "retries %llu\n",
      writes, checked, found, none, static_cast<unsigned long long>(as.stats().fault_fallbacks),
      static_cast<unsigned long long>(as.stats().fault_retries));
}

// fault() takes the fast path (no mmap lock) for a mapped address even
// while a writer holds the mmap lock; an unmapped address falls back to the
// mmap lock, so it waits for the writer and counts a fallback.
TEST(MmConcurrency, FaultFallbackWaitsForTheMmapLock) {
  address_space as;
  std::uint64_t out = 0;
  ASSERT_FALSE(as.mmap(W, 4 * pg, prot_read, map_private | map_anonymous | map_fixed, {}, 0, out));
  const auto before = as.stats().fault_fallbacks;
  as.mmap_write_lock();
  // Mapped: answered at once, on this thread, while the lock is held.
  auto v = as.fault(W + pg);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->start, W);
  auto ref = as.lock_vma_under_rcu(W + pg);
  EXPECT_TRUE(ref);
  ref.release();
  // Unmapped: the lookup falls back and blocks until the lock is dropped.
  std::atomic<bool> done{false};
  std::optional<vma_info> res;
  std::thread t([&] {
    res = as.fault(W + 0x100000);
    done.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load());
  as.mmap_write_unlock();
  t.join();
  EXPECT_TRUE(done.load());
  EXPECT_FALSE(res);
  // (stats() takes the mmap lock: read after the unlock) only the
  // unmapped lookup fell back.
  EXPECT_EQ(as.stats().fault_fallbacks, before + 1);
}

// A VMA held by a per-VMA read lock cannot be changed: munmap waits until
// the reader lets go; the reader's snapshot stays what it locked.
TEST(MmConcurrency, WriterWaitsForPerVmaReader) {
  address_space as;
  std::uint64_t out = 0;
  ASSERT_FALSE(as.mmap(W, 4 * pg, prot_read | prot_write, map_private | map_anonymous | map_fixed,
                       {}, 0, out));
  auto ref = as.lock_vma_under_rcu(W);
  ASSERT_TRUE(ref);
  std::atomic<bool> done{false};
  std::thread t([&] {
    EXPECT_FALSE(as.munmap(W, pg));
    done.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load());
  EXPECT_EQ(ref.start(), W);
  EXPECT_EQ(ref.end(), W + 4 * pg);
  ref.release();
  t.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(as.validate().message, "");
  auto v = as.vma_lookup(W + pg);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->start, W + pg);
  EXPECT_FALSE(as.lock_vma_under_rcu(W));
}

}  // namespace
