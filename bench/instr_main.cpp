// bench/instr_main.cpp - maple_bench_instr: runs ONE workload for ONE peer at
// one N with a fixed operation count, the measured loop alone counted by
// callgrind (bench/instructions.sh runs it under valgrind and turns the
// instruction totals into instructions per operation).
//
//   maple_bench_instr WORKLOAD PEER N
//
//   WORKLOAD  W1 W2 W3 W4 W5 W6 (bench_workloads.cpp) or W7b (bench_gap.cpp)
//   PEER      W1-W6: maple maple_rcu std_map absl_btree (llvm_imap boost_icl
//             when built with them); W7b: maple_alloc maple_alloc_rcu maple
//
// Counting: run under valgrind --tool=callgrind --instr-atstart=no
// --collect-atstart=no. The measured loop turns instrumentation on and
// toggles collection on and off around itself; collection is per thread, so
// the totals hold the measuring thread's instructions in the loop only (as
// run.sh's timers take the thread's CPU time): building the structure,
// checks, and maple_rcu's deferred frees on the RCU worker thread are not
// counted (the frees are waited for outside the loop, as in run.sh).
//
// Operations (the data of workload.h, as in run.sh):
//   W1/W2  a whole build of N ranges (ascending / shuffled), repeated to at
//          least 20000 inserts; one unmeasured build first warms allocators
//   W3     the first 65536 of the workload's lookup addresses
//   W4     full in-order passes, at least 200000 entries
//   W5     4096 overwrite/erase/restore cycles (picks 4096..8191, after
//          4096 unmeasured ones); also reports the tree calls (2 + k a cycle)
//   W6     erasing all N ranges in the erase order (repeated like W1)
//   W7b    4096 searches for the highest 17-page hole below a random limit
//
// Prints one line: "ops=<measured operations> calls=<tree calls>" (calls
// differ from ops for W5 only). Exits 1 when a result is wrong (every run
// checks what it measured), 2 on bad arguments.
#include "peers.h"
#include "workload.h"

#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <valgrind/callgrind.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace mb = maple_bench;
using mb::Obj;
using mb::Workload;

namespace {

// Brackets the measured loop; nothing outside one is counted.
class measured {
 public:
  measured() {
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_TOGGLE_COLLECT;
  }
  ~measured() {
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_STOP_INSTRUMENTATION;
  }
  measured(const measured &) = delete;
  measured &operator=(const measured &) = delete;
};

struct result {
  std::size_t ops = 0;
  std::size_t calls = 0;
  bool ok = true;
};

using mb::fill_ascending;
using mb::settle;

template <class P>
bool matches(const P &p, const Workload &w) {
  std::size_t i = 0;
  bool ok = true;
  p.for_each([&](std::uint64_t f, std::uint64_t l, Obj *v) {
    if (i >= w.n || f != w.ranges[i].first || l != w.ranges[i].last || v != w.value(i)) ok = false;
    ++i;
  });
  return ok && i == w.n;
}

std::size_t repeats(std::size_t n, std::size_t min_ops) {
  return std::max<std::size_t>(1, min_ops / n);
}

// W1 / W2: whole builds, each into a fresh structure.
template <class P>
result run_build(const Workload &w, bool shuffled) {
  result r;
  const std::size_t builds = repeats(w.n, 20000);
  for (std::size_t b = 0; b <= builds; ++b) {  // build 0: the unmeasured warm-up
    auto p = std::make_unique<P>();
    if (b == 0) {
      fill_ascending(*p, w);
      continue;
    }
    {
      measured m;
      if (shuffled) {
        for (std::uint32_t i : w.shuffled)
          p->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
      } else {
        for (std::size_t i = 0; i < w.n; ++i)
          p->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
      }
    }
    settle(*p);
    r.ops += w.n;
    if (b == 1 && !matches(*p, w)) r.ok = false;
  }
  r.calls = r.ops;
  return r;
}

// The value covering address a, by binary search on the workload's ranges.
Obj *expected(const Workload &w, std::uint64_t a) {
  auto it = std::upper_bound(w.ranges.begin(), w.ranges.end(), a,
                             [](std::uint64_t x, const mb::Range &r) { return x < r.first; });
  if (it == w.ranges.begin() || std::prev(it)->last < a) return nullptr;
  return w.value(static_cast<std::size_t>(std::prev(it) - w.ranges.begin()));
}

// W3: independent lookups, each result kept.
template <class P>
result run_lookup(const Workload &w) {
  auto p = std::make_unique<P>();
  fill_ascending(*p, w);
  const std::size_t count = std::min<std::size_t>(65536, w.lookups.size());
  std::vector<Obj *> got(count);
  const P &cp = *p;
  {
    measured m;
    for (std::size_t i = 0; i < count; ++i) got[i] = cp.lookup(w.lookups[i]);
  }
  result r{count, count, true};
  for (std::size_t i = 0; i < count; ++i) r.ok = r.ok && got[i] == expected(w, w.lookups[i]);
  return r;
}

volatile std::uint64_t g_sink;  // keeps W4's loop work alive

// W4: full in-order passes.
template <class P>
result run_iterate(const Workload &w) {
  auto p = std::make_unique<P>();
  fill_ascending(*p, w);
  const std::size_t passes = repeats(w.n, 200000);
  const P &cp = *p;
  std::uint64_t acc = 0, cnt = 0;
  {
    measured m;
    for (std::size_t k = 0; k < passes; ++k) {
      cp.for_each([&](std::uint64_t f, std::uint64_t l, Obj *v) {
        acc += f ^ l ^ reinterpret_cast<std::uintptr_t>(v);
        ++cnt;
      });
    }
  }
  g_sink = acc;
  return result{passes * w.n, passes * w.n, cnt == passes * w.n && matches(cp, w)};
}

// W5 cycles on picks [from, from + count); returns the tree calls made.
template <class P>
std::size_t w5_cycles(P &p, const Workload &w, std::size_t from, std::size_t count) {
  std::size_t calls = 0;
  for (std::size_t c = from; c < from + count; ++c) {
    const mb::W5Pick &pk = w.w5[c % w.w5.size()];
    const std::uint32_t i = pk.index, k = pk.k;
    const std::uint64_t first = w.ranges[i].first, last = w.ranges[i + k - 1].last;
    p.store(first, last, w.w5_value(c));
    if (p.erase(first) != w.w5_value(c)) mb::die("W5 erase returned another value");
    for (std::uint32_t j = i; j < i + k; ++j)
      p.store(w.ranges[j].first, w.ranges[j].last, w.value(j));
    calls += 2 + k;
  }
  return calls;
}

template <class P>
result run_overwrite(const Workload &w) {
  auto p = std::make_unique<P>();
  fill_ascending(*p, w);
  constexpr std::size_t cycles = 4096;
  w5_cycles(*p, w, 0, cycles);  // unmeasured: the tree as after run.sh's first batch
  settle(*p);
  result r{cycles, 0, true};
  {
    measured m;
    r.calls = w5_cycles(*p, w, cycles, cycles);
  }
  settle(*p);
  r.ok = matches(*p, w);
  return r;
}

// W6: erase everything in the workload's erase order.
template <class P>
result run_erase(const Workload &w) {
  result r;
  const std::size_t passes = repeats(w.n, 20000);
  for (std::size_t k = 0; k < passes; ++k) {
    auto p = std::make_unique<P>();
    fill_ascending(*p, w);
    std::size_t wrong = 0;
    {
      measured m;
      for (std::uint32_t i : w.erase_order) wrong += p->erase(w.ranges[i].first) != w.value(i);
    }
    settle(*p);
    r.ops += w.n;
    if (wrong) r.ok = false;
  }
  r.calls = r.ops;
  return r;
}

template <class P>
result run_peer(const std::string &wl, const Workload &w) {
  if (wl == "W1") return run_build<P>(w, false);
  if (wl == "W2") return run_build<P>(w, true);
  if (wl == "W3") return run_lookup<P>(w);
  if (wl == "W4") return run_iterate<P>(w);
  if (wl == "W5") return run_overwrite<P>(w);
  if (wl == "W6") return run_erase<P>(w);
  std::fprintf(stderr, "maple_bench_instr: unknown workload %s\n", wl.c_str());
  std::exit(2);
}

// W7b on a bulk-loaded tree with the given flags: every search's answer is
// the hole below the lowest range (17 pages fit no gap between ranges).
result run_gap(const Workload &w, maple::tree_flags flags) {
  maple::raw_tree t{flags};
  std::vector<maple::range_entry> v(w.n);
  for (std::size_t i = 0; i < w.n; ++i) v[i] = {w.ranges[i].first, w.ranges[i].last, w.value(i)};
  if (t.bulk_load(v)) mb::die("bulk_load failed");
  maple::rcu::barrier();
  constexpr std::size_t searches = 4096;
  const std::vector<std::uint64_t> lim = mb::make_gap_limits(w, searches);
  const std::uint64_t size = 17 * mb::page_size;
  std::vector<std::uint64_t> got(searches, 1);
  std::size_t failed = 0;
  {
    measured m;
    for (std::size_t i = 0; i < searches; ++i)
      failed += static_cast<bool>(t.empty_area_rev(0, lim[i] - 1, size, got[i]));
  }
  result r{searches, searches, failed == 0};
  for (std::uint64_t s : got) r.ok = r.ok && s == mb::base_address - size;
  t.clear();
  maple::rcu::barrier();
  return r;
}

result run(const std::string &wl, const std::string &peer, const Workload &w) {
  if (wl == "W7b") {
    if (peer == "maple") return run_gap(w, maple::tree_flags::none);
    if (peer == "maple_alloc") return run_gap(w, maple::tree_flags::alloc);
    if (peer == "maple_alloc_rcu")
      return run_gap(w, maple::tree_flags::alloc | maple::tree_flags::rcu);
  } else {
    if (peer == mb::MaplePeer::name) return run_peer<mb::MaplePeer>(wl, w);
    if (peer == mb::MapleRcuPeer::name) return run_peer<mb::MapleRcuPeer>(wl, w);
    if (peer == mb::StdMapPeer::name) return run_peer<mb::StdMapPeer>(wl, w);
    if (peer == mb::AbslPeer::name) return run_peer<mb::AbslPeer>(wl, w);
#if MAPLE_BENCH_HAVE_LLVM
    if (peer == mb::LlvmPeer::name) return run_peer<mb::LlvmPeer>(wl, w);
#endif
#if MAPLE_BENCH_HAVE_ICL
    if (peer == mb::IclPeer::name) return run_peer<mb::IclPeer>(wl, w);
#endif
  }
  std::fprintf(stderr, "maple_bench_instr: no peer %s for %s\n", peer.c_str(), wl.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: maple_bench_instr W1|W2|W3|W4|W5|W6|W7b PEER N\n");
    return 2;
  }
  const std::size_t n = std::strtoull(argv[3], nullptr, 10);
  if (n < 8) {
    std::fprintf(stderr, "maple_bench_instr: N must be at least 8\n");
    return 2;
  }
  const Workload &w = mb::workload(n);
  const result r = run(argv[1], argv[2], w);
  std::printf("ops=%zu calls=%zu\n", r.ops, r.calls);
  if (!r.ok) {
    std::fprintf(stderr, "maple_bench_instr: %s/%s/N:%zu gave wrong results\n", argv[1], argv[2],
                 n);
    return 1;
  }
  return 0;
}
