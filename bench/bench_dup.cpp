// bench/bench_dup.cpp - duplicating a tree (fork) versus rebuilding it.
//
// On the standard VMA-like workload (workload.h) at N = 10^2, 10^4, 10^6
// ranges, the time to make a second tree holding the same ranges:
//   dup/<N>            raw_tree::dup: node-for-node copy
//   dup_transform/<N>  dup with fork's per-entry transform (each object
//                      replaced by the child's copy of it)
//   reinsert/<N>       iterate the source, store() every range into an empty
//                      tree (what fork did before the kernel's __mt_dup)
//   bulk_load/<N>      iterate the source into a vector, bulk_load() it
//   clear/<N>          tearing a copy down (clear(), O(nodes))
// Counter ns_per_range. Timed with the thread's CPU clock around the copies
// only; each timed region makes enough copies (about 10^5 ranges' worth) that
// the clock's own cost is negligible; the copies are destroyed untimed
// (except in clear/<N>, which times exactly that).
#include "workload.h"

#include <maple/raw_tree.h>

#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>
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

struct source {
  const mb::Workload &w;
  maple::raw_tree t;
  explicit source(std::size_t n) : w(mb::workload(n)) {
    for (std::size_t i = 0; i < w.n; ++i) t.store(w.ranges[i].first, w.ranges[i].last, w.value(i));
  }
};

/// Copies per timed region: about 10^5 ranges' worth.
std::size_t batch_for(std::size_t n) { return n >= 100000 ? 1 : 100000 / n; }

enum class method { dup, dup_transform, reinsert, bulk_load, clear };

template <method M>
void bm_copy(benchmark::State &st) {
  source src(static_cast<std::size_t>(st.range(0)));
  const std::size_t batch = batch_for(src.w.n);
  std::vector<std::unique_ptr<maple::raw_tree>> dst(batch);
  std::vector<maple::range_entry> scratch;
  scratch.reserve(src.w.n);
  // Fork's transform: the child's copy of object i is child[i].
  std::unique_ptr<mb::Obj[]> child(new mb::Obj[src.w.n]);
  mb::Obj *parent = src.w.value(0);
  auto to_child = [&](void *e) -> void * {
    return child.get() + (static_cast<mb::Obj *>(e) - parent);
  };
  for (auto _ : st) {
    for (auto &d : dst) d = std::make_unique<maple::raw_tree>();
    if constexpr (M == method::clear)
      for (auto &d : dst) (void)src.t.dup(*d);
    double t0 = now_seconds();
    for (auto &d : dst) {
      if constexpr (M == method::dup) {
        if (src.t.dup(*d)) st.SkipWithError("dup failed");
      } else if constexpr (M == method::dup_transform) {
        if (src.t.dup(*d, to_child)) st.SkipWithError("dup failed");
      } else if constexpr (M == method::reinsert) {
        for (maple::range_entry r : src.t) d->store(r.first, r.last, r.entry);
      } else if constexpr (M == method::bulk_load) {
        scratch.clear();
        for (maple::range_entry r : src.t) scratch.push_back(r);
        if (d->bulk_load(scratch)) st.SkipWithError("bulk_load failed");
      } else {
        d->clear();
      }
    }
    st.SetIterationTime(now_seconds() - t0);
    for (auto &d : dst) d.reset();
  }
  st.counters["ns_per_range"] = per_op(double(src.w.n * batch));
}

void sizes(benchmark::internal::Benchmark *b) {
  b->Arg(100)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMicrosecond)->UseManualTime();
}

}  // namespace

BENCHMARK(bm_copy<method::dup>)->Apply(sizes)->Name("dup");
BENCHMARK(bm_copy<method::dup_transform>)->Apply(sizes)->Name("dup_transform");
BENCHMARK(bm_copy<method::reinsert>)->Apply(sizes)->Name("reinsert");
BENCHMARK(bm_copy<method::bulk_load>)->Apply(sizes)->Name("bulk_load");
BENCHMARK(bm_copy<method::clear>)->Apply(sizes)->Name("clear");

BENCHMARK_MAIN();