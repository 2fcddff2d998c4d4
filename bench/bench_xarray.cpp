// bench/bench_xarray.cpp - the XArray against the maple tree and
// std::unordered_map, on N dense (0 .. N-1) or sparse (N random indices
// below 2^40, like page indices of large files) keys:
//   store/<subject>/N/sparse    building from empty, one store per key (ns/op)
//   load/<subject>/N/sparse     2^16 random lookups of present keys (ns/op)
//   iterate/<subject>/N/sparse  visiting every entry in index order
//                               (unordered_map: its own order) (ns/entry)
//   multi/<subject>/N/sparse    lookups at random pages of N order-9 entries
//                               (2 MiB folios): xarray multi-index entries,
//                               maple tree 512-index ranges, unordered_map
//                               keyed by index >> 9 (ns/op)
// Subjects: xarray, xarray_cursor (iteration through one xa_state in one
// read section), maple (maple::raw_tree), umap (std::unordered_map).
#include <maple/entry.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>
#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

std::uint64_t splitmix(std::uint64_t &s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void *value(std::uint64_t i) { return maple::make_value_entry(i & maple::max_value_entry); }

/// The key set: dense 0..n-1, or n distinct random keys below 2^40 (shift:
/// keys are multiples of 2^shift, for the multi-index runs).
const std::vector<std::uint64_t> &keys(std::size_t n, bool sparse, unsigned shift = 0) {
  static std::map<std::tuple<std::size_t, bool, unsigned>, std::vector<std::uint64_t>> cache;
  auto &v = cache[{n, sparse, shift}];
  if (v.empty()) {
    std::uint64_t s = 0x5eed + n;
    std::unordered_set<std::uint64_t> seen;
    for (std::size_t i = 0; v.size() < n; ++i) {
      std::uint64_t k = sparse ? (splitmix(s) & ((std::uint64_t{1} << 40) - 1)) >> shift : i;
      if (sparse && !seen.insert(k).second) continue;
      v.push_back(k << shift);
    }
  }
  return v;
}

/// 2^16 random picks among the keys (the same for every subject).
const std::vector<std::uint64_t> &picks(std::size_t n, bool sparse, unsigned shift = 0) {
  static std::map<std::tuple<std::size_t, bool, unsigned>, std::vector<std::uint64_t>> cache;
  auto &v = cache[{n, sparse, shift}];
  if (v.empty()) {
    const auto &k = keys(n, sparse, shift);
    std::uint64_t s = 0xabc + n;
    for (int i = 0; i < (1 << 16); ++i) {
      std::uint64_t base = k[splitmix(s) % k.size()];
      v.push_back(shift ? base + (splitmix(s) & ((std::uint64_t{1} << shift) - 1)) : base);
    }
  }
  return v;
}

benchmark::Counter per_op(double ops) {
  return benchmark::Counter(
      ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// ---- subjects ---------------------------------------------------------------------

struct xa_subject {
  maple::xarray xa;
  void store(std::uint64_t k, void *v) { xa.store(k, v); }
  void store_range(std::uint64_t first, unsigned order, void *v) {
    xa.store_order(first, order, v);
  }
  void *load(std::uint64_t k) const { return xa.load(k); }
  std::size_t iterate() const {
    std::size_t n = 0;
    for (auto item : xa.entries()) benchmark::DoNotOptimize(item.entry), ++n;
    return n;
  }
  double bytes() const { return double(xa.stats().bytes); }
};

struct xa_cursor_subject : xa_subject {
  std::size_t iterate() {
    std::size_t n = 0;
    maple::rcu::read_guard g;
    maple::xa_state xas(xa, 0);
    for (void *e = xas.find(~0ull); e; e = xas.find(~0ull)) {
      if (xas.retry(e)) continue;
      benchmark::DoNotOptimize(e);
      ++n;
    }
    return n;
  }
};

struct maple_subject {
  maple::raw_tree t;
  void store(std::uint64_t k, void *v) { t.store(k, k, v); }
  void store_range(std::uint64_t first, unsigned order, void *v) {
    t.store(first, first + (std::uint64_t{1} << order) - 1, v);
  }
  void *load(std::uint64_t k) const { return t.load(k); }
  std::size_t iterate() const {
    std::size_t n = 0;
    for (auto r : t.ranges()) benchmark::DoNotOptimize(r.entry), ++n;
    return n;
  }
  double bytes() const { return double(t.stats().bytes); }
};

struct umap_subject {
  std::unordered_map<std::uint64_t, void *> m;
  unsigned shift = 0;  // multi-index runs key by index >> 9
  void store(std::uint64_t k, void *v) { m[k] = v; }
  void store_range(std::uint64_t first, unsigned order, void *v) {
    shift = order;
    m[first >> order] = v;
  }
  void *load(std::uint64_t k) const {
    auto it = m.find(k >> shift);
    return it == m.end() ? nullptr : it->second;
  }
  std::size_t iterate() const {
    std::size_t n = 0;
    for (const auto &kv : m) benchmark::DoNotOptimize(kv.second), ++n;
    return n;
  }
  double bytes() const { return 0; }
};

// ---- benchmarks --------------------------------------------------------------------

template <class S>
void bm_store(benchmark::State &st) {
  const auto &k = keys(std::size_t(st.range(0)), st.range(1) != 0);
  double bytes = 0;
  for (auto _ : st) {
    auto *s = new S;
    for (std::uint64_t key : k) s->store(key, value(key));
    st.PauseTiming();
    bytes = s->bytes();
    delete s;
    st.ResumeTiming();
  }
  st.counters["ns_per_op"] = per_op(double(k.size()));
  if (bytes > 0) st.counters["bytes_per_entry"] = bytes / double(k.size());
}

template <class S>
const S &built(std::size_t n, bool sparse) {
  static std::map<std::pair<std::size_t, bool>, S *> cache;  // kept for the process
  S *&s = cache[{n, sparse}];
  if (!s) {
    s = new S;
    for (std::uint64_t key : keys(n, sparse)) s->store(key, value(key));
  }
  return *s;
}

template <class S>
void bm_load(benchmark::State &st) {
  const bool sparse = st.range(1) != 0;
  const S &s = built<S>(std::size_t(st.range(0)), sparse);
  const auto &p = picks(std::size_t(st.range(0)), sparse);
  for (auto _ : st)
    for (std::uint64_t k : p) benchmark::DoNotOptimize(s.load(k));
  st.counters["ns_per_op"] = per_op(double(p.size()));
}

template <class S>
void bm_iterate(benchmark::State &st) {
  const std::size_t n = std::size_t(st.range(0));
  auto &s = const_cast<S &>(built<S>(n, st.range(1) != 0));
  for (auto _ : st)
    if (s.iterate() != n) st.SkipWithError("wrong count");
  st.counters["ns_per_entry"] = per_op(double(n));
}

template <class S>
void bm_multi(benchmark::State &st) {
  const std::size_t n = std::size_t(st.range(0));
  const bool sparse = st.range(1) != 0;
  S s;
  for (std::uint64_t first : keys(n, sparse, 9)) s.store_range(first, 9, value(first));
  const auto &p = picks(n, sparse, 9);
  for (auto _ : st)
    for (std::uint64_t k : p) benchmark::DoNotOptimize(s.load(k));
  st.counters["ns_per_op"] = per_op(double(p.size()));
}

void sizes(benchmark::internal::Benchmark *b) {
  for (long n : {1000L, 100000L, 1000000L})
    for (long sparse : {0L, 1L}) b->Args({n, sparse});
  b->ArgNames({"N", "sparse"});
}

}  // namespace

BENCHMARK(bm_store<xa_subject>)->Name("store/xarray")->Apply(sizes);
BENCHMARK(bm_store<maple_subject>)->Name("store/maple")->Apply(sizes);
BENCHMARK(bm_store<umap_subject>)->Name("store/umap")->Apply(sizes);
BENCHMARK(bm_load<xa_subject>)->Name("load/xarray")->Apply(sizes);
BENCHMARK(bm_load<maple_subject>)->Name("load/maple")->Apply(sizes);
BENCHMARK(bm_load<umap_subject>)->Name("load/umap")->Apply(sizes);
BENCHMARK(bm_iterate<xa_subject>)->Name("iterate/xarray")->Apply(sizes);
BENCHMARK(bm_iterate<xa_cursor_subject>)->Name("iterate/xarray_cursor")->Apply(sizes);
BENCHMARK(bm_iterate<maple_subject>)->Name("iterate/maple")->Apply(sizes);
BENCHMARK(bm_iterate<umap_subject>)->Name("iterate/umap")->Apply(sizes);
BENCHMARK(bm_multi<xa_subject>)->Name("multi/xarray")->Apply(sizes);
BENCHMARK(bm_multi<maple_subject>)->Name("multi/maple")->Apply(sizes);
BENCHMARK(bm_multi<umap_subject>)->Name("multi/umap")->Apply(sizes);

BENCHMARK_MAIN();
