// bench/workload.h - the project's standard benchmark data (see
// /work/shared/reference/workloads.md), generated deterministically.
//
//   * N VMA-like ranges, page aligned (4 KiB pages). The first range starts
//     at 4 GiB; every later range is preceded by a gap of 0..16 pages
//     (uniform, 0 = adjacent) and each range is 1..64 pages long (uniform).
//     Range i is [first, last] with last = first + pages * 4096 - 1.
//   * Values: range i maps to a distinct 64-byte object objs[i].
//   * The random generator is splitmix64 (fixed, library independent), with
//     one seed per N and one stream per purpose, so every peer and every run
//     sees exactly the same data.
//   * shuffled:   W2 insertion order (a uniform random permutation);
//     erase_order: W6 erase order (an independent permutation);
//     lookups:    W3 addresses, uniform over [first start, last end + 8 pages);
//     w5:         W5 picks: k uniform in 1..8, i uniform in 0..N-k (the k
//                 consecutive ranges i .. i+k-1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace maple_bench {

inline constexpr std::uint64_t page_size = 4096;
inline constexpr std::uint64_t base_address = std::uint64_t{4} << 30;  // 4 GiB
inline constexpr unsigned min_pages = 1, max_pages = 64;
inline constexpr unsigned max_gap_pages = 16;
inline constexpr std::uint64_t lookup_tail_pages = 8;
inline constexpr unsigned w5_max_k = 8;

/// Default sizes of the W3 address batch and of the W5 pick list.
inline constexpr std::size_t lookup_batch = std::size_t{1} << 20;
inline constexpr std::size_t w5_picks = std::size_t{1} << 17;

/// The 64-byte objects the values point to.
struct alignas(64) Obj {
  std::uint64_t id;
  char pad[56];
};
static_assert(sizeof(Obj) == 64);

struct Range {
  std::uint64_t first;
  std::uint64_t last;
};

struct W5Pick {
  std::uint32_t index;  ///< first of the k consecutive ranges
  std::uint32_t k;      ///< 1..8
};

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, well mixed.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, bound) (Lemire's multiply-shift; bias < 2^-40 here).
  std::uint64_t below(std::uint64_t bound) {
    __extension__ typedef unsigned __int128 u128;
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * bound) >> 64);
  }
  /// Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }

 private:
  std::uint64_t s_;
};

/// The fixed seed of size N (and of each stream of it).
inline std::uint64_t seed_for(std::size_t n, unsigned stream) {
  return 0x6D61706C65ULL /* "maple" */ ^ (std::uint64_t{n} * 0x9E3779B97F4A7C15ULL) ^
         (std::uint64_t{stream} << 56);
}

template <class T>
void shuffle(std::vector<T> &v, Rng &rng) {  // Fisher-Yates
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

struct Workload {
  std::size_t n = 0;
  std::vector<Range> ranges;               ///< ascending, non-overlapping
  std::unique_ptr<Obj[]> objs;             ///< objs[i] is the value of ranges[i]
  std::vector<std::uint32_t> shuffled;     ///< W2 insertion order
  std::vector<std::uint32_t> erase_order;  ///< W6 erase order
  std::vector<std::uint64_t> lookups;      ///< W3 addresses
  std::size_t lookup_hits = 0;             ///< how many of `lookups` fall in a range
  std::vector<W5Pick> w5;                  ///< W5 picks
  std::unique_ptr<Obj[]> w5_objs;          ///< values of the W5 covering stores
  static constexpr std::size_t w5_obj_count = 64;

  Obj *value(std::size_t i) const { return &objs[i]; }
  Obj *w5_value(std::size_t c) const { return &w5_objs[c % w5_obj_count]; }
  std::uint64_t span_first() const { return ranges.front().first; }
  std::uint64_t span_end() const { return ranges.back().last + 1 + lookup_tail_pages * page_size; }
};

inline std::unique_ptr<Workload> make_workload(std::size_t n, std::size_t n_lookups = lookup_batch,
                                               std::size_t n_picks = w5_picks) {
  auto w = std::make_unique<Workload>();
  w->n = n;
  if (n == 0) return w;

  // Ranges.
  Rng rr(seed_for(n, 0));
  w->ranges.resize(n);
  std::uint64_t cur = base_address;
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) cur += rr.between(0, max_gap_pages) * page_size;
    std::uint64_t pages = rr.between(min_pages, max_pages);
    w->ranges[i] = {cur, cur + pages * page_size - 1};
    cur += pages * page_size;
  }

  // Values.
  w->objs.reset(new Obj[n]);
  for (std::size_t i = 0; i < n; ++i) w->objs[i].id = i;
  w->w5_objs.reset(new Obj[Workload::w5_obj_count]);
  for (std::size_t i = 0; i < Workload::w5_obj_count; ++i) w->w5_objs[i].id = n + i;

  // Orders.
  w->shuffled.resize(n);
  for (std::size_t i = 0; i < n; ++i) w->shuffled[i] = static_cast<std::uint32_t>(i);
  w->erase_order = w->shuffled;
  Rng rs(seed_for(n, 1));
  shuffle(w->shuffled, rs);
  Rng re(seed_for(n, 4));
  shuffle(w->erase_order, re);

  // Lookups (and the expected hit count, by binary search on the ranges).
  Rng rl(seed_for(n, 2));
  w->lookups.resize(n_lookups);
  const std::uint64_t lo = w->span_first(), width = w->span_end() - lo;
  for (auto &a : w->lookups) {
    a = lo + rl.below(width);
    std::size_t b = 0, len = n;  // last range with first <= a
    while (len > 1) {
      std::size_t half = len / 2;
      if (w->ranges[b + half].first <= a) b += half;
      len -= half;
    }
    if (w->ranges[b].first <= a && a <= w->ranges[b].last) ++w->lookup_hits;
  }

  // W5 picks.
  Rng rp(seed_for(n, 3));
  w->w5.resize(n_picks);
  for (auto &p : w->w5) {
    std::uint64_t k = rp.between(1, w5_max_k);
    if (k > n) k = n;
    p.k = static_cast<std::uint32_t>(k);
    p.index = static_cast<std::uint32_t>(rp.below(n - k + 1));
  }
  return w;
}

/// W7 gap-search limits: `count` random page-aligned ends inside the
/// populated span, (first start, end of the last range], fixed seed per N.
inline std::vector<std::uint64_t> make_gap_limits(const Workload &w, std::size_t count) {
  Rng r(seed_for(w.n, 7));
  const std::uint64_t first = w.span_first(),
                      pages = (w.ranges.back().last + 1 - first) / page_size;
  std::vector<std::uint64_t> v(count);
  for (auto &l : v) l = first + (1 + r.below(pages)) * page_size;
  return v;
}

/// The workload of size n, generated once per process and shared.
inline const Workload &workload(std::size_t n) {
  static std::mutex mu;
  static std::map<std::size_t, std::unique_ptr<Workload>> cache;
  std::lock_guard<std::mutex> g(mu);
  auto &slot = cache[n];
  if (!slot) slot = make_workload(n);
  return *slot;
}

}  // namespace maple_bench
