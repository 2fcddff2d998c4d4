// bench/bench_workloads.cpp - the standard workloads W1-W6 (and memory) for
// maple and its peers, at N = 10^3, 10^5, 10^6 (see workloads.md).
//
// Benchmark names: <workload>/<peer>/N:<n>, e.g. W3_lookup/maple/N:1000000.
// Peers: maple, maple_rcu (the tree in RCU mode), std_map, absl_btree and,
// when found, llvm_imap and boost_icl; sorted_array for W3.
// Every benchmark times only the measured operations (manual time, thread CPU
// time by default, see --clock); setup and teardown (building the structure for W3-W6, destroying
// it after W1/W2/W6) are outside the timed region. Counters:
//   ns_per_op       ns per operation (insert, lookup, entry visited, tree
//                   call for W5, erase) - shown as "<x>ns", stored in
//                   seconds in JSON
//   ns_per_cycle    W5 only: ns per overwrite/erase/restore cycle
//   bytes_per_range W1/W2 only: the structure's bytes / N after the build
//
// Extra options (before Google Benchmark's own):
//   --sizes=1000,100000    restrict N (default 1000,100000,1000000)
//   --scale=0.1            scale every iteration count (quick passes)
//   --clock=cpu|wall       timer of the measured regions: the thread's CPU
//                          time (default) or the monotonic wall clock
#include "peers.h"
#include "workload.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace mb = maple_bench;
using mb::Obj;
using mb::Workload;

namespace {

// The timer of the measured regions: the thread's CPU time by default (the
// benchmark host is shared, and CPU time does not count time preempted by
// other processes), or the steady clock with --clock=wall.
bool g_wall_clock = false;

struct clock_type {
  using time_point = double;  // seconds
  static time_point now() noexcept {
    timespec ts;
    clock_gettime(g_wall_clock ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
};

double seconds_since(clock_type::time_point t0) { return clock_type::now() - t0; }

benchmark::Counter per_op(double ops) {
  return benchmark::Counter(ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

double g_scale = 1.0;

benchmark::IterationCount iters(double wanted) {
  return std::max<benchmark::IterationCount>(
      1, static_cast<benchmark::IterationCount>(std::llround(wanted * g_scale)));
}

using mb::fill_ascending;
using mb::settle;

template <class P>
std::size_t count_entries(const P &p) {
  std::size_t c = 0;
  p.for_each([&](std::uint64_t, std::uint64_t, Obj *) { ++c; });
  return c;
}

// Same content as the workload's ranges, in order?
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

// W1 / W2: build by inserting the N ranges (ascending or shuffled).
template <class P>
void bm_build(benchmark::State &st, std::size_t n, bool random) {
  const Workload &w = mb::workload(n);
  std::size_t bytes = 0, ops = 0;
  bool ok = true, first = true;
  for (auto _ : st) {
    auto p = std::make_unique<P>();
    auto t0 = clock_type::now();
    if (random) {
      for (std::uint32_t i : w.shuffled) p->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
    } else {
      for (std::size_t i = 0; i < n; ++i) p->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
    }
    benchmark::ClobberMemory();
    st.SetIterationTime(seconds_since(t0));
    settle(*p);
    ops += n;
    bytes = p->bytes();
    if (first && !matches(*p, w)) ok = false;
    first = false;
    p.reset();
  }
  if (!ok) st.SkipWithError("built structure differs from the workload");
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
  if (bytes != 0)
    st.counters["bytes_per_range"] = static_cast<double>(bytes) / static_cast<double>(n);
}

// W3: point lookups at uniformly random addresses (ranges and gaps).
template <class P>
void bm_lookup(benchmark::State &st, std::size_t n) {
  const Workload &w = mb::workload(n);
  auto p = std::make_unique<P>();
  if constexpr (requires { p->build(w); }) {
    p->build(w);
  } else {
    fill_ascending(*p, w);
  }
  std::size_t hits = 0;
  for (std::uint64_t a : w.lookups) hits += p->lookup(a) != nullptr;
  if (hits != w.lookup_hits) {
    st.SkipWithError("lookup hit count differs from the workload's");
    return;
  }
  std::size_t ops = 0;
  const P &cp = *p;
  for (auto _ : st) {
    auto t0 = clock_type::now();
    for (std::uint64_t a : w.lookups) {
      Obj *o = cp.lookup(a);
      benchmark::DoNotOptimize(o);
    }
    st.SetIterationTime(seconds_since(t0));
    ops += w.lookups.size();
  }
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
}

// W4: full in-order iteration, one pass per benchmark iteration.
template <class P>
void bm_iterate(benchmark::State &st, std::size_t n) {
  const Workload &w = mb::workload(n);
  auto p = std::make_unique<P>();
  fill_ascending(*p, w);
  if (!matches(*p, w)) {
    st.SkipWithError("built structure differs from the workload");
    return;
  }
  std::size_t ops = 0;
  const P &cp = *p;
  for (auto _ : st) {
    auto t0 = clock_type::now();
    std::uint64_t acc = 0, cnt = 0;
    cp.for_each([&](std::uint64_t f, std::uint64_t l, Obj *v) {
      acc += f ^ l ^ reinterpret_cast<std::uintptr_t>(v);
      ++cnt;
    });
    benchmark::DoNotOptimize(acc);
    benchmark::DoNotOptimize(cnt);
    st.SetIterationTime(seconds_since(t0));
    ops += n;
  }
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
}

// W5: MAP_FIXED-like cycle: store one entry over k consecutive ranges (and
// the gaps between them), erase it, re-store the k originals.
constexpr std::size_t w5_cycles_per_iter = 4096;

template <class P>
void bm_overwrite(benchmark::State &st, std::size_t n) {
  const Workload &w = mb::workload(n);
  auto p = std::make_unique<P>();
  fill_ascending(*p, w);
  std::size_t pick = 0, cycles = 0, calls = 0;
  for (auto _ : st) {
    auto t0 = clock_type::now();
    for (std::size_t c = 0; c < w5_cycles_per_iter; ++c) {
      const mb::W5Pick &pk = w.w5[pick];
      if (++pick == w.w5.size()) pick = 0;
      const std::uint32_t i = pk.index, k = pk.k;
      const std::uint64_t first = w.ranges[i].first, last = w.ranges[i + k - 1].last;
      p->store(first, last, w.w5_value(c));
      Obj *gone = p->erase(first);
      benchmark::DoNotOptimize(gone);
      for (std::uint32_t j = i; j < i + k; ++j)
        p->store(w.ranges[j].first, w.ranges[j].last, w.value(j));
      calls += 2 + k;
    }
    benchmark::ClobberMemory();
    st.SetIterationTime(seconds_since(t0));
    settle(*p);
    cycles += w5_cycles_per_iter;
  }
  if (!matches(*p, w)) {
    st.SkipWithError("structure differs from the workload after W5");
    return;
  }
  st.counters["ns_per_op"] = per_op(static_cast<double>(calls));
  st.counters["ns_per_cycle"] = per_op(static_cast<double>(cycles));
}

// W6: erase all N ranges in random order (the structure is built ascending,
// untimed, before each iteration).
template <class P>
void bm_erase_all(benchmark::State &st, std::size_t n) {
  const Workload &w = mb::workload(n);
  std::size_t ops = 0;
  bool ok = true, first = true;
  for (auto _ : st) {
    auto p = std::make_unique<P>();
    fill_ascending(*p, w);
    auto t0 = clock_type::now();
    for (std::uint32_t i : w.erase_order) {
      Obj *v = p->erase(w.ranges[i].first);
      benchmark::DoNotOptimize(v);
    }
    benchmark::ClobberMemory();
    st.SetIterationTime(seconds_since(t0));
    settle(*p);
    ops += n;
    if (first && count_entries(*p) != 0) ok = false;
    first = false;
    p.reset();
  }
  if (!ok) st.SkipWithError("entries left after erasing all");
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
}

std::string bname(const char *workload, const char *peer, std::size_t n) {
  return std::string(workload) + "/" + peer + "/N:" + std::to_string(n);
}

// Iteration counts: builds/erase about 2*10^6 operations (at least 3
// passes), lookups about 10^7 (workloads.md), iteration about 10^7 entries,
// W5 2^17 cycles.
template <class P>
void register_mutable_peer(const char *workload, std::size_t n) {
  const char *name = P::name;
  const double nd = static_cast<double>(n);
  const double build_iters = std::max(3.0, 2e6 / nd);
  benchmark::internal::Benchmark *b = nullptr;
  std::string w = workload;
  if (w == "W1_build_asc") {
    b = benchmark::RegisterBenchmark(bname(workload, name, n).c_str(), bm_build<P>, n, false);
    b->Iterations(iters(build_iters));
  } else if (w == "W2_build_rand") {
    b = benchmark::RegisterBenchmark(bname(workload, name, n).c_str(), bm_build<P>, n, true);
    b->Iterations(iters(build_iters));
  } else if (w == "W3_lookup") {
    b = benchmark::RegisterBenchmark(bname(workload, name, n).c_str(), bm_lookup<P>, n);
    b->Iterations(iters(1e7 / static_cast<double>(mb::lookup_batch)));
  } else if (w == "W4_iterate") {
    b = benchmark::RegisterBenchmark(bname(workload, name, n).c_str(), bm_iterate<P>, n);
    b->Iterations(iters(std::ceil(1e7 / nd)));
  } else if (w == "W5_overwrite") {
    b = benchmark::RegisterBenchmark(bname(workload, name, n).c_str(), bm_overwrite<P>, n);
    b->Iterations(iters(static_cast<double>(mb::w5_picks) / w5_cycles_per_iter));
  } else if (w == "W6_erase_rand") {
    b = benchmark::RegisterBenchmark(bname(workload, name, n).c_str(), bm_erase_all<P>, n);
    b->Iterations(iters(build_iters));
  }
  if (b) b->UseManualTime()->Unit(benchmark::kMillisecond);
}

std::vector<std::size_t> parse_sizes(const char *s) {
  std::vector<std::size_t> v;
  while (*s) {
    char *end = nullptr;
    unsigned long long x = std::strtoull(s, &end, 10);
    if (end == s) break;
    if (x) v.push_back(static_cast<std::size_t>(x));
    s = *end == ',' ? end + 1 : end;
  }
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::size_t> sizes{1000, 100000, 1000000};
  // Our own options, removed before Google Benchmark parses the rest.
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      sizes = parse_sizes(argv[i] + 8);
    } else if (std::strcmp(argv[i], "--clock=wall") == 0) {
      g_wall_clock = true;
    } else if (std::strcmp(argv[i], "--clock=cpu") == 0) {
      g_wall_clock = false;
    } else if (std::strncmp(argv[i], "--scale=", 8) == 0) {
      g_scale = std::strtod(argv[i] + 8, nullptr);
      if (!(g_scale > 0)) g_scale = 1.0;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;

  const char *workloads[] = {"W1_build_asc", "W2_build_rand", "W3_lookup",
                             "W4_iterate",   "W5_overwrite",  "W6_erase_rand"};
  for (const char *wl : workloads) {
    for (std::size_t n : sizes) {
      register_mutable_peer<mb::MaplePeer>(wl, n);
      register_mutable_peer<mb::MapleRcuPeer>(wl, n);
      register_mutable_peer<mb::StdMapPeer>(wl, n);
      register_mutable_peer<mb::AbslPeer>(wl, n);
#if MAPLE_BENCH_HAVE_LLVM
      register_mutable_peer<mb::LlvmPeer>(wl, n);
#endif
#if MAPLE_BENCH_HAVE_ICL
      register_mutable_peer<mb::IclPeer>(wl, n);
#endif
      if (std::strcmp(wl, "W3_lookup") == 0) {
        auto *b = benchmark::RegisterBenchmark(bname(wl, mb::SortedArrayPeer::name, n).c_str(),
                                               bm_lookup<mb::SortedArrayPeer>, n);
        b->Iterations(iters(1e7 / static_cast<double>(mb::lookup_batch)))
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
