// bench/bench_cursor.cpp - the cursor and bulk-building benchmarks of the
// cursor issue, on the standard VMA-like workload (workload.h):
//   next/<N>        a read cursor's find + next over every entry (ns/entry)
//   prev/<N>        a read cursor's find_rev + prev over every entry
//   fresh_find/<N>  the same walk as independent find_after() calls, each a
//                   walk from the root (what a cursor saves)
//   std_map/<N>     std::map iterators over the same ranges (ns/entry)
//   bulk_load/<N>   raw_tree::bulk_load of the N sorted ranges (ns/range)
//   one_by_one/<N>  storing them one by one, ascending (ns/range)
#include "workload.h"

#include <maple/cursor.h>
#include <maple/raw_tree.h>

#include <benchmark/benchmark.h>

#include <map>
#include <vector>

namespace mb = maple_bench;

namespace {

void build(maple::raw_tree &t, const mb::Workload &w) {
  for (std::size_t i = 0; i < w.n; ++i) t.store(w.ranges[i].first, w.ranges[i].last, w.value(i));
}

benchmark::Counter per_op(double ops) {
  return benchmark::Counter(
      ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void bm_next(benchmark::State &st) {
  const mb::Workload &w = mb::workload(st.range(0));
  maple::raw_tree t;
  build(t, w);
  for (auto _ : st) {
    maple::read_guard g(t);
    maple::cursor c = g.cursor(0);
    std::size_t n = 0;
    for (void *e = c.find(); e; e = c.next()) benchmark::DoNotOptimize(e), ++n;
    if (n != w.n) st.SkipWithError("wrong count");
  }
  st.counters["ns_per_entry"] = per_op(double(w.n));
}

void bm_prev(benchmark::State &st) {
  const mb::Workload &w = mb::workload(st.range(0));
  maple::raw_tree t;
  build(t, w);
  for (auto _ : st) {
    maple::read_guard g(t);
    maple::cursor c = g.cursor(maple::max_index);
    std::size_t n = 0;
    for (void *e = c.find_rev(); e; e = c.prev()) benchmark::DoNotOptimize(e), ++n;
    if (n != w.n) st.SkipWithError("wrong count");
  }
  st.counters["ns_per_entry"] = per_op(double(w.n));
}

void bm_fresh_find(benchmark::State &st) {
  const mb::Workload &w = mb::workload(st.range(0));
  maple::raw_tree t;
  build(t, w);
  for (auto _ : st) {
    std::size_t n = 0;
    for (auto r = t.find(0); r; r = t.find_after(r->last)) benchmark::DoNotOptimize(r->entry), ++n;
    if (n != w.n) st.SkipWithError("wrong count");
  }
  st.counters["ns_per_entry"] = per_op(double(w.n));
}

void bm_std_map(benchmark::State &st) {
  const mb::Workload &w = mb::workload(st.range(0));
  std::map<std::uint64_t, std::pair<std::uint64_t, void *>> m;
  for (std::size_t i = 0; i < w.n; ++i)
    m.emplace_hint(m.end(), w.ranges[i].first,
                   std::make_pair(w.ranges[i].last, (void *)w.value(i)));
  for (auto _ : st) {
    for (const auto &kv : m) benchmark::DoNotOptimize(kv.second.second);
  }
  st.counters["ns_per_entry"] = per_op(double(w.n));
}

void bm_bulk_load(benchmark::State &st) {
  const mb::Workload &w = mb::workload(st.range(0));
  std::vector<maple::range_entry> in;
  for (std::size_t i = 0; i < w.n; ++i)
    in.push_back({w.ranges[i].first, w.ranges[i].last, w.value(i)});
  for (auto _ : st) {
    maple::raw_tree t;
    if (t.bulk_load(in)) st.SkipWithError("bulk_load failed");
    st.PauseTiming();  // teardown is not part of the build
    t.clear();
    st.ResumeTiming();
  }
  st.counters["ns_per_range"] = per_op(double(w.n));
}

void bm_one_by_one(benchmark::State &st) {
  const mb::Workload &w = mb::workload(st.range(0));
  for (auto _ : st) {
    maple::raw_tree t;
    build(t, w);
    st.PauseTiming();
    t.clear();
    st.ResumeTiming();
  }
  st.counters["ns_per_range"] = per_op(double(w.n));
}

void sizes(benchmark::internal::Benchmark *b) {
  b->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(bm_next)->Apply(sizes)->Name("next");
BENCHMARK(bm_prev)->Apply(sizes)->Name("prev");
BENCHMARK(bm_fresh_find)->Apply(sizes)->Name("fresh_find");
BENCHMARK(bm_std_map)->Apply(sizes)->Name("std_map");
BENCHMARK(bm_bulk_load)->Apply(sizes)->Name("bulk_load");
BENCHMARK(bm_one_by_one)->Apply(sizes)->Name("one_by_one");

BENCHMARK_MAIN();
