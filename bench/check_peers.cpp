// bench/check_peers.cpp - checks that every adapter of peers.h implements the
// same interval-map semantics, against a per-index model, with random stores
// and erases over a small index space, then on the real workloads (W5
// cycles). Exit status 0 when all agree. Run by bench/run.sh before timing.
#include "peers.h"
#include "workload.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace mb = maple_bench;
using mb::Obj;

namespace {

constexpr std::uint64_t space = 600;  // indices 1000 .. 1000+space-1
constexpr std::uint64_t base = 1000;

struct Model {
  std::vector<Obj *> v = std::vector<Obj *>(space, nullptr);
  void store(std::uint64_t f, std::uint64_t l, Obj *x) {
    for (std::uint64_t i = f; i <= l; ++i) v[i - base] = x;
  }
  Obj *erase(std::uint64_t index) {  // remove the maximal run holding index
    std::uint64_t i = index - base;
    Obj *x = v[i];
    if (!x) return nullptr;
    std::uint64_t a = i, b = i;
    while (a > 0 && v[a - 1] == x) --a;
    while (b + 1 < space && v[b + 1] == x) ++b;
    for (std::uint64_t j = a; j <= b; ++j) v[j] = nullptr;
    return x;
  }
  std::vector<mb::Range> ranges() const {
    std::vector<mb::Range> r;
    for (std::uint64_t i = 0; i < space;) {
      if (!v[i]) {
        ++i;
        continue;
      }
      std::uint64_t j = i;
      while (j + 1 < space && v[j + 1] == v[i]) ++j;
      r.push_back({i + base, j + base});
      i = j + 1;
    }
    return r;
  }
};

int failures = 0;

void fail(const char *peer, const std::string &what) {
  if (++failures <= 20) std::fprintf(stderr, "FAIL %s: %s\n", peer, what.c_str());
}

template <class P>
bool same(const P &p, const Model &m, const char *ctx) {
  for (std::uint64_t i = base - 3; i < base + space + 3; ++i) {
    Obj *want = (i >= base && i < base + space) ? m.v[i - base] : nullptr;
    if (p.lookup(i) != want) {
      fail(P::name, std::string(ctx) + ": lookup(" + std::to_string(i) + ")");
      return false;
    }
  }
  auto want = m.ranges();
  std::size_t k = 0;
  bool ok = true;
  p.for_each([&](std::uint64_t f, std::uint64_t l, Obj *v) {
    if (k >= want.size() || want[k].first != f || want[k].last != l || v != m.v[f - base])
      ok = false;
    ++k;
  });
  if (!ok || k != want.size()) {
    fail(P::name, std::string(ctx) + ": iteration differs");
    return false;
  }
  return true;
}

template <class P>
void random_ops(std::uint64_t seed) {
  std::vector<Obj> pool(20000);
  std::size_t next = 0;
  auto p = std::make_unique<P>();
  Model m;
  mb::Rng r(seed);
  for (int op = 0; op < 6000; ++op) {
    std::string ctx = "seed " + std::to_string(seed) + " op " + std::to_string(op);
    if (r.below(4) != 0) {
      std::uint64_t f = base + r.below(space);
      std::uint64_t len = r.below(8) == 0 ? r.below(120) : r.below(12);
      std::uint64_t l = std::min(f + len, base + space - 1);
      Obj *x = &pool[next++ % pool.size()];
      p->store(f, l, x);
      m.store(f, l, x);
    } else {
      std::uint64_t i = base + r.below(space);
      Obj *a = p->erase(i), *b = m.erase(i);
      if (a != b) {
        fail(P::name, ctx + ": erase(" + std::to_string(i) + ") returned a different value");
        return;
      }
    }
    if ((op % 97 == 0 || op < 200) && !same(*p, m, ctx.c_str())) return;
  }
  same(*p, m, "final");
}

template <class P>
void workload_cycles(std::size_t n) {
  const mb::Workload &w = mb::workload(n);
  auto p = std::make_unique<P>();
  for (std::size_t i = 0; i < n; ++i) p->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
  std::size_t hits = 0;
  for (std::uint64_t a : w.lookups) hits += p->lookup(a) != nullptr;
  if (hits != w.lookup_hits) fail(P::name, "workload lookup hits differ");
  for (std::size_t c = 0; c < 20000; ++c) {
    const mb::W5Pick &pk = w.w5[c];
    const std::uint64_t f = w.ranges[pk.index].first, l = w.ranges[pk.index + pk.k - 1].last;
    p->store(f, l, w.w5_value(c));
    if (p->lookup(l) != w.w5_value(c) || p->lookup(f) != w.w5_value(c)) {
      fail(P::name, "W5 covering store not visible");
      return;
    }
    if (p->erase(f) != w.w5_value(c)) {
      fail(P::name, "W5 erase returned a different value");
      return;
    }
    for (std::uint32_t j = pk.index; j < pk.index + pk.k; ++j)
      p->store(w.ranges[j].first, w.ranges[j].last, w.value(j));
  }
  std::size_t i = 0;
  bool ok = true;
  p->for_each([&](std::uint64_t f, std::uint64_t l, Obj *v) {
    if (i >= n || f != w.ranges[i].first || l != w.ranges[i].last || v != w.value(i)) ok = false;
    ++i;
  });
  if (!ok || i != n) fail(P::name, "content differs after W5 cycles");
  for (std::uint32_t k : w.erase_order) p->erase(w.ranges[k].first);
  std::size_t left = 0;
  p->for_each([&](std::uint64_t, std::uint64_t, Obj *) { ++left; });
  if (left) fail(P::name, "entries left after erasing all");
}

template <class P>
void check() {
  int before = failures;
  for (std::uint64_t s = 1; s <= 12; ++s) random_ops<P>(s);
  workload_cycles<P>(1000);
  workload_cycles<P>(100000);
  std::printf("%-12s %s\n", P::name, failures == before ? "ok" : "FAILED");
}

}  // namespace

int main() {
  check<mb::MaplePeer>();
  check<mb::MapleRcuPeer>();
  check<mb::StdMapPeer>();
  check<mb::AbslPeer>();
#if MAPLE_BENCH_HAVE_LLVM
  check<mb::LlvmPeer>();
#endif
#if MAPLE_BENCH_HAVE_ICL
  check<mb::IclPeer>();
#endif
  // Sorted array: lookups only.
  {
    const mb::Workload &w = mb::workload(100000);
    mb::SortedArrayPeer s;
    s.build(w);
    std::size_t hits = 0;
    bool ok = true;
    for (std::uint64_t a : w.lookups) {
      Obj *o = s.lookup(a);
      hits += o != nullptr;
      if (o && (a < w.ranges[o->id].first || a > w.ranges[o->id].last)) ok = false;
    }
    if (!ok || hits != w.lookup_hits) fail("sorted_array", "lookups differ");
    std::printf("%-12s %s\n", "sorted_array", ok && hits == w.lookup_hits ? "ok" : "FAILED");
  }
  if (failures) std::fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
