// bench/bench_alloc.cpp - the default node allocator (src/alloc/node_cache:
// a slab of 256-byte blocks with a per-thread free list) against plain
// aligned operator new (std::pmr::new_delete_resource(), which calls
// ::operator new(256, std::align_val_t(256))), measured in the same run.
//
//   pairs/<res>           allocate + free one node, repeatedly (ns per pair)
//   batch/<res>/<N>       allocate N nodes, then free them all (ns per node):
//                         a tree being built and torn down
//   build/<res>/<N>       store the N ranges of the standard workload into a
//                         tree using that resource (ns per range)
//   dup/<res>/<N>         dup a tree of N ranges into a tree using that
//                         resource (ns per range): allocation-bound
// res:0 is the node cache, res:1 aligned operator new. Timed with the
// thread's CPU clock around the measured loop only.
#include "workload.h"

#include <alloc/node_cache.h>
#include <maple/raw_tree.h>

#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>
#include <memory_resource>
#include <vector>

namespace mb = maple_bench;

namespace {

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

benchmark::Counter per_op(double ops) {
  return benchmark::Counter(
      ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

std::pmr::memory_resource *resource(int which) {
  return which == 0 ? maple::detail::default_node_resource() : std::pmr::new_delete_resource();
}

constexpr std::size_t kNode = 256;

void bm_pairs(benchmark::State &st) {
  std::pmr::memory_resource *r = resource(static_cast<int>(st.range(0)));
  constexpr int kPairs = 100000;
  for (auto _ : st) {
    double t0 = now_seconds();
    for (int i = 0; i < kPairs; ++i) {
      void *p = r->allocate(kNode, kNode);
      benchmark::DoNotOptimize(p);
      r->deallocate(p, kNode, kNode);
    }
    st.SetIterationTime(now_seconds() - t0);
  }
  st.counters["ns_per_pair"] = per_op(kPairs);
}

void bm_batch(benchmark::State &st) {
  std::pmr::memory_resource *r = resource(static_cast<int>(st.range(0)));
  const auto n = static_cast<std::size_t>(st.range(1));
  std::vector<void *> blocks(n);
  for (auto _ : st) {
    double t0 = now_seconds();
    for (auto &p : blocks) p = r->allocate(kNode, kNode);
    for (void *p : blocks) r->deallocate(p, kNode, kNode);
    st.SetIterationTime(now_seconds() - t0);
  }
  st.counters["ns_per_node"] = per_op(double(n));
}

void bm_build(benchmark::State &st) {
  std::pmr::memory_resource *r = resource(static_cast<int>(st.range(0)));
  const mb::Workload &w = mb::workload(static_cast<std::size_t>(st.range(1)));
  for (auto _ : st) {
    auto t = std::make_unique<maple::raw_tree>(r);
    double t0 = now_seconds();
    for (std::size_t i = 0; i < w.n; ++i) t->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
    st.SetIterationTime(now_seconds() - t0);
  }
  st.counters["ns_per_range"] = per_op(double(w.n));
}

void bm_dup(benchmark::State &st) {
  std::pmr::memory_resource *r = resource(static_cast<int>(st.range(0)));
  const mb::Workload &w = mb::workload(static_cast<std::size_t>(st.range(1)));
  maple::raw_tree src;
  for (std::size_t i = 0; i < w.n; ++i) src.store(w.ranges[i].first, w.ranges[i].last, w.value(i));
  for (auto _ : st) {
    auto t = std::make_unique<maple::raw_tree>(r);
    double t0 = now_seconds();
    if (src.dup(*t)) st.SkipWithError("dup failed");
    st.SetIterationTime(now_seconds() - t0);
  }
  st.counters["ns_per_range"] = per_op(double(w.n));
}

void resources(benchmark::internal::Benchmark *b) {
  b->ArgName("res")->UseManualTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(bm_pairs)->Apply(resources)->Arg(0)->Arg(1)->Name("pairs");
BENCHMARK(bm_batch)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->ArgNames({"res", "N"})
    ->ArgsProduct({{0, 1}, {1000, 100000}})
    ->Name("batch");
BENCHMARK(bm_build)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->ArgNames({"res", "N"})
    ->ArgsProduct({{0, 1}, {10000, 1000000}})
    ->Name("build");
BENCHMARK(bm_dup)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->ArgNames({"res", "N"})
    ->ArgsProduct({{0, 1}, {10000, 1000000}})
    ->Name("dup");

BENCHMARK_MAIN();