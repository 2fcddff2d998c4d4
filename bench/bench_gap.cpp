// bench/bench_gap.cpp - W7 top-down gap search (workloads.md) for maple and
// its start-keyed peers, at N = 10^3, 10^5, 10^6 VMA-like ranges
// (workload.h): the highest free window below a random limit.
//
//   W7a_gap_rev_4p   the highest free area of 4 pages below a random limit
//                    inside the populated span (most gaps hold it: a short
//                    walk back from the limit)
//   W7b_gap_rev_17p  the same for 17 pages: larger than every gap (0..16
//                    pages), so only the hole below the lowest range fits
//                    and a search without gap records visits every range
//                    below the limit (N/2 on average)
//
//   W7c_load         the cost gap tracking adds to lookups: load() of a
//                    random index of a random range (maple trees only)
//   W7d_rewrite      ... and to writes: erase a random range and store it
//                    back (in-place leaf writes whose gap changes climb to
//                    the root; maple trees only)
//
// Peers:
//   maple       raw_tree::empty_area_rev(0, limit - 1, size), no gap
//               records: a leaf scan from the limit down
//   maple_alloc the same on an allocation tree (tree_flags::alloc): descent
//               by the gap records, O(log n)
//   maple_alloc_rcu  the allocation tree in RCU mode (alloc | rcu): the
//               search enters its own read section
//   std_map     std::map<start, {last, value}>: walk back from
//               upper_bound(limit - 1) over the ranges, checking each hole
//   absl_btree  absl::btree_map with the same walk
// Every peer's answers are checked against maple's (and W7b's against the
// known answer: 4 GiB - 17 pages) before timing, on as many limits as one
// iteration uses. Counter ns_per_op: ns per search. The maple tree is
// bulk-loaded from the sorted ranges (the same contents as storing them one
// by one).
//
// Options (before Google Benchmark's own): --sizes=1000,100000 (default
// 1000,100000,1000000), --scale=x (iteration counts), --clock=cpu|wall.
//
// Aim (issue 5): W7b maple_alloc at least 50x faster than std_map at
// N = 10^6, growing with log N; W7c maple_alloc within 15% of maple.
#include "peers.h"
#include "workload.h"

#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mb = maple_bench;
using mb::Workload;

namespace {

bool g_wall_clock = false;
double g_scale = 1.0;

double now_seconds() noexcept {
  timespec ts;
  clock_gettime(g_wall_clock ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

benchmark::Counter per_op(double ops) {
  return benchmark::Counter(ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

benchmark::IterationCount iters(double wanted) {
  return std::max<benchmark::IterationCount>(
      1, static_cast<benchmark::IterationCount>(std::llround(wanted * g_scale)));
}

constexpr std::uint64_t kW7aPages = 4, kW7bPages = 17;
constexpr std::size_t kLimits = 4096;

/// Random page-aligned limits inside the populated span (fixed seed per N).
const std::vector<std::uint64_t> &limits(std::size_t n) {
  static std::map<std::size_t, std::vector<std::uint64_t>> cache;
  auto &v = cache[n];
  if (v.empty()) v = mb::make_gap_limits(mb::workload(n), kLimits);
  return v;
}

// ---- the peers ------------------------------------------------------------------

template <maple::tree_flags Flags>
struct MapleGapT {
  static constexpr bool alloc = maple::has_flag(Flags, maple::tree_flags::alloc);
  static constexpr bool rcu = maple::has_flag(Flags, maple::tree_flags::rcu);
  static constexpr const char *name =
      alloc ? (rcu ? "maple_alloc_rcu" : "maple_alloc") : (rcu ? "maple_rcu" : "maple");
  maple::raw_tree t{Flags};
  explicit MapleGapT(const Workload &w) {
    std::vector<maple::range_entry> v(w.n);
    for (std::size_t i = 0; i < w.n; ++i) v[i] = {w.ranges[i].first, w.ranges[i].last, w.value(i)};
    if (t.bulk_load(v)) mb::die("bulk_load failed");
    if constexpr (rcu) maple::rcu::barrier();  // no frees left to run beside the searches
  }
  MapleGapT(const MapleGapT &) = delete;
  MapleGapT &operator=(const MapleGapT &) = delete;
  ~MapleGapT() {
    if constexpr (rcu) {
      t.clear();
      maple::rcu::barrier();
    }
  }
  bool empty_area_rev(std::uint64_t min, std::uint64_t max, std::uint64_t size,
                      std::uint64_t &start) const {
    return !t.empty_area_rev(min, max, size, start);
  }
};
using MapleGap = MapleGapT<maple::tree_flags::none>;
using MapleAllocGap = MapleGapT<maple::tree_flags::alloc>;
using MapleAllocRcuGap = MapleGapT<maple::tree_flags::alloc | maple::tree_flags::rcu>;

/// The highest free [start, start + size - 1] inside [min, max] of a
/// start-keyed interval map: walk back from the range at or before max.
template <class Map>
bool map_empty_area_rev(const Map &m, std::uint64_t min, std::uint64_t max, std::uint64_t size,
                        std::uint64_t &start) {
  if (size == 0 || min > max || max - min < size - 1) return false;
  auto it = m.upper_bound(max);  // ranges before it start at or before max
  std::uint64_t hi = max;        // top of the candidate hole (hi >= min)
  for (;;) {
    if (it == m.begin()) {  // the hole [min, hi]
      if (hi - min < size - 1) return false;
      start = hi - (size - 1);
      return true;
    }
    auto p = std::prev(it);
    if (p->second.last < hi) {  // the hole [max(last + 1, min), hi]
      std::uint64_t lo = std::max(p->second.last + 1, min);
      if (lo <= hi && hi - lo >= size - 1) {
        start = hi - (size - 1);
        return true;
      }
    }
    if (p->first == 0 || p->first - 1 < min) return false;
    hi = p->first - 1;
    it = p;
  }
}

template <class Base>
struct MapGap : Base {
  explicit MapGap(const Workload &w) {
    for (std::size_t i = 0; i < w.n; ++i)
      this->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
  }
  bool empty_area_rev(std::uint64_t min, std::uint64_t max, std::uint64_t size,
                      std::uint64_t &start) const {
    return map_empty_area_rev(this->m, min, max, size, start);
  }
};
using StdMapGap = MapGap<mb::StdMapPeer>;
using AbslGap = MapGap<mb::AbslPeer>;

// ---- the benchmark ---------------------------------------------------------------

/// The structure of peer P for size n, built once per process.
template <class P>
const P &structure(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<P>> cache;
  auto &p = cache[n];
  if (!p) p = std::make_unique<P>(mb::workload(n));
  return *p;
}

/// Checks P's answers against maple's on the first `count` limits (and
/// W7b's against the known answer), once per process.
template <class P>
bool answers_agree(std::size_t n, std::uint64_t pages, std::size_t count) {
  static std::map<std::pair<std::size_t, std::uint64_t>, bool> checked;
  auto [it, fresh] = checked.try_emplace({n, pages}, true);
  if (!fresh) return it->second;
  const P &p = structure<P>(n);
  const MapleGap &ref = structure<MapleGap>(n);
  const std::uint64_t size = pages * mb::page_size;
  const auto &lim = limits(n);
  for (std::size_t i = 0; i < std::min(count, lim.size()); ++i) {
    const std::uint64_t l = lim[i];
    std::uint64_t a = 1, b = 2;
    bool fa = p.empty_area_rev(0, l - 1, size, a), fb = ref.empty_area_rev(0, l - 1, size, b);
    if (fa != fb || (fa && a != b) || (pages == kW7bPages && (!fa || a != mb::base_address - size)))
      return it->second = false;
  }
  return true;
}

template <class P>
void bm_gap(benchmark::State &st, std::size_t n, std::uint64_t pages, std::size_t per_iter) {
  const P &p = structure<P>(n);
  const auto &lim = limits(n);
  const std::uint64_t size = pages * mb::page_size;
  if (!answers_agree<P>(n, pages, per_iter)) {
    st.SkipWithError("answers differ from maple's");
    return;
  }
  std::size_t k = 0, ops = 0;
  std::uint64_t sink = 0;
  for (auto _ : st) {
    double t0 = now_seconds();
    for (std::size_t i = 0; i < per_iter; ++i) {
      std::uint64_t s = 0;
      p.empty_area_rev(0, lim[k] - 1, size, s);
      sink += s;
      if (++k == lim.size()) k = 0;
    }
    benchmark::DoNotOptimize(sink);
    st.SetIterationTime(now_seconds() - t0);
    ops += per_iter;
  }
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
}

/// W7c: random loads (an index inside a random range), 4096 an iteration.
template <class P>
void bm_load(benchmark::State &st, std::size_t n) {
  const P &p = structure<P>(n);
  const Workload &w = mb::workload(n);
  mb::Rng r(mb::seed_for(n, 11));
  std::vector<std::uint64_t> idx(kLimits);
  for (auto &i : idx) {
    const auto &rg = w.ranges[r.below(n)];
    i = rg.first + r.below(rg.last - rg.first + 1);
  }
  std::size_t ops = 0;
  std::uintptr_t sink = 0;
  for (auto _ : st) {
    double t0 = now_seconds();
    for (std::uint64_t i : idx) sink += reinterpret_cast<std::uintptr_t>(p.t.load(i));
    benchmark::DoNotOptimize(sink);
    st.SetIterationTime(now_seconds() - t0);
    ops += idx.size();
  }
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
}

/// W7d: erase a random range and store it back, 4096 pairs an iteration
/// (on a private copy: the cached structures stay as built).
template <class P>
void bm_rewrite(benchmark::State &st, std::size_t n) {
  const Workload &w = mb::workload(n);
  P p(w);
  mb::Rng r(mb::seed_for(n, 13));
  std::vector<std::size_t> which(kLimits);
  for (auto &i : which) i = r.below(n);
  std::size_t ops = 0;
  for (auto _ : st) {
    double t0 = now_seconds();
    for (std::size_t i : which) {
      const auto &rg = w.ranges[i];
      if (p.t.erase(rg.first)) mb::die("erase failed");
      if (p.t.store(rg.first, rg.last, w.value(i))) mb::die("store failed");
    }
    st.SetIterationTime(now_seconds() - t0);
    ops += 2 * which.size();
  }
  if (!p.t.validate().ok) mb::die("tree invalid after W7d");
  st.counters["ns_per_op"] = per_op(static_cast<double>(ops));
}

std::string bname(const char *workload, const char *peer, std::size_t n) {
  return std::string(workload) + "/" + peer + "/N:" + std::to_string(n);
}

template <class P>
void register_peer(std::size_t n) {
  // W7a: a short walk for every peer; 4096 searches an iteration.
  benchmark::RegisterBenchmark(bname("W7a_gap_rev_4p", P::name, n).c_str(), bm_gap<P>, n, kW7aPages,
                               kLimits)
      ->Iterations(iters(100))
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  // W7b: N/2 ranges a search on average without gap records; about 2*10^7
  // ranges visited an iteration (at least 16 searches).
  const std::size_t per_iter =
      std::max<std::size_t>(16, static_cast<std::size_t>(2e7 / static_cast<double>(n)));
  benchmark::RegisterBenchmark(bname("W7b_gap_rev_17p", P::name, n).c_str(), bm_gap<P>, n,
                               kW7bPages, per_iter)
      ->Iterations(iters(5))
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
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

  for (std::size_t n : sizes) {
    register_peer<MapleGap>(n);
    register_peer<MapleAllocGap>(n);
    register_peer<MapleAllocRcuGap>(n);
    register_peer<StdMapGap>(n);
    register_peer<AbslGap>(n);
  }
  for (std::size_t n : sizes) {
    benchmark::RegisterBenchmark(bname("W7c_load", "maple", n).c_str(), bm_load<MapleGap>, n)
        ->Iterations(iters(500))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(bname("W7c_load", "maple_alloc", n).c_str(),
                                 bm_load<MapleAllocGap>, n)
        ->Iterations(iters(500))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(bname("W7d_rewrite", "maple", n).c_str(), bm_rewrite<MapleGap>, n)
        ->Iterations(iters(100))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(bname("W7d_rewrite", "maple_alloc", n).c_str(),
                                 bm_rewrite<MapleAllocGap>, n)
        ->Iterations(iters(100))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
