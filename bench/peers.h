// bench/peers.h - one interval-map interface over maple and its peers.
//
// Every adapter P offers (values are Obj*, nullptr = nothing stored):
//   P::name                          short name used in benchmark names
//   void store(first, last, v)       map [first,last] -> v, overwriting and
//                                    trimming/splitting whatever it overlaps
//   Obj *erase(index)                remove the whole range holding index
//   Obj *lookup(index) const         the value covering index, or nullptr
//   for_each(f) const                f(first, last, v) for every range, in order
//   std::size_t bytes() const        bytes the structure allocated (0: unknown)
//
//   void settle()                    optional: called after every timed batch,
//                                    outside the timed region
//
// Peers: maple::raw_tree (also in RCU mode); std::map<start,{last,value}> and
// absl::btree_map<start,{last,value}> through the same start-keyed adapter
// (lookup = upper_bound then step back); llvm::IntervalMap (when
// MAPLE_BENCH_HAVE_LLVM); boost::icl::interval_map with set/erase semantics
// (when MAPLE_BENCH_HAVE_ICL); and, for lookups only, a static sorted array
// with a branch-free binary search.
#pragma once

#include "workload.h"

#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <absl/container/btree_map.h>

#if MAPLE_BENCH_HAVE_LLVM
#include <llvm/ADT/IntervalMap.h>
#endif

#if MAPLE_BENCH_HAVE_ICL
#include <boost/icl/interval_map.hpp>
#endif

namespace maple_bench {

[[noreturn]] inline void die(const char *what) {
  std::fprintf(stderr, "maple_bench: %s\n", what);
  std::abort();
}

// ---------------------------------------------------------------------------
// Counting allocator: the structure's own heap bytes (requested sizes).

template <class T>
struct counting_allocator {
  using value_type = T;
  std::size_t *counter;

  explicit counting_allocator(std::size_t *c) noexcept : counter(c) {}
  template <class U>
  counting_allocator(const counting_allocator<U> &o) noexcept : counter(o.counter) {}

  T *allocate(std::size_t n) {
    *counter += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T *p, std::size_t n) noexcept {
    *counter -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  friend bool operator==(const counting_allocator &a, const counting_allocator<U> &b) noexcept {
    return a.counter == b.counter;
  }
};

// ---------------------------------------------------------------------------
// maple

struct MaplePeer {
  static constexpr const char *name = "maple";
  maple::raw_tree t;

  void store(std::uint64_t first, std::uint64_t last, Obj *v) {
    if (t.store(first, last, v)) die("maple store failed");
  }
  Obj *erase(std::uint64_t index) {
    void *old = nullptr;
    if (t.erase(index, &old)) die("maple erase failed");
    return static_cast<Obj *>(old);
  }
  Obj *lookup(std::uint64_t index) const { return static_cast<Obj *>(t.load(index)); }
  template <class F>
  void for_each(F &&f) const {
    for (maple::range_entry r : t) f(r.first, r.last, static_cast<Obj *>(r.entry));
  }
  std::size_t bytes() const { return t.stats().bytes; }
};

// maple::raw_tree in RCU mode (tree_flags::rcu): writes build the nodes they
// replace aside and retire the old ones through maple::rcu's deferred frees;
// loads enter a read section by themselves; iteration needs one around the
// loop.
struct MapleRcuPeer {
  static constexpr const char *name = "maple_rcu";
  maple::raw_tree t{maple::tree_flags::rcu};

  MapleRcuPeer() = default;
  MapleRcuPeer(const MapleRcuPeer &) = delete;
  MapleRcuPeer &operator=(const MapleRcuPeer &) = delete;
  ~MapleRcuPeer() {
    t.clear();
    maple::rcu::barrier();  // the next measurement starts with no frees pending
  }

  void store(std::uint64_t first, std::uint64_t last, Obj *v) {
    if (t.store(first, last, v)) die("maple_rcu store failed");
  }
  Obj *erase(std::uint64_t index) {
    void *old = nullptr;
    if (t.erase(index, &old)) die("maple erase failed");
    return static_cast<Obj *>(old);
  }
  Obj *lookup(std::uint64_t index) const { return static_cast<Obj *>(t.load(index)); }
  template <class F>
  void for_each(F &&f) const {
    maple::rcu::read_guard g;
    for (maple::range_entry r : t) f(r.first, r.last, static_cast<Obj *>(r.entry));
  }
  std::size_t bytes() const { return t.stats().bytes; }
  // Waits for the nodes retired by the last batch to be freed, so that they
  // neither pile up against the pending bound nor get freed in the next one.
  void settle() const { maple::rcu::barrier(); }
};

// ---------------------------------------------------------------------------
// Start-keyed ordered map used as an interval map (std::map, absl::btree_map).
// Canonical form: key = first, mapped = {last, value}; entries never overlap.

struct Span {
  std::uint64_t last;
  Obj *value;
};

template <class Map>
struct StartKeyedPeer {
  std::size_t allocated = 0;  // must be constructed before m
  Map m{typename Map::allocator_type(&allocated)};

  void store(std::uint64_t first, std::uint64_t last, Obj *v) {
    auto it = m.upper_bound(first);  // first entry starting after `first`
    if (it != m.begin()) {
      auto p = std::prev(it);
      if (p->second.last >= first) {  // p overlaps [first, last]
        if (p->first < first) {
          if (p->second.last > last) {  // p sticks out on both sides: split it
            Span tail{p->second.last, p->second.value};
            p->second.last = first - 1;
            auto t = m.emplace_hint(it, last + 1, tail);
            m.emplace_hint(t, first, Span{last, v});
            return;
          }
          p->second.last = first - 1;  // trim p's tail
        } else {
          it = p;  // p starts at `first`: handled below
        }
      }
    }
    // `it`: the first entry starting at or after `first`.
    while (it != m.end() && it->first <= last) {
      if (it->second.last <= last) {
        it = m.erase(it);  // wholly covered
      } else {             // sticks out on the right: move its start to last+1
        auto nh = m.extract(it);
        nh.key() = last + 1;
        it = m.insert(std::move(nh)).position;
        break;
      }
    }
    m.emplace_hint(it, first, Span{last, v});
  }

  Obj *erase(std::uint64_t index) {
    auto it = m.upper_bound(index);
    if (it == m.begin()) return nullptr;
    --it;
    if (it->second.last < index) return nullptr;
    Obj *v = it->second.value;
    m.erase(it);
    return v;
  }

  Obj *lookup(std::uint64_t index) const {
    auto it = m.upper_bound(index);
    if (it == m.begin()) return nullptr;
    --it;
    return it->second.last >= index ? it->second.value : nullptr;
  }

  template <class F>
  void for_each(F &&f) const {
    for (const auto &[first, span] : m) f(first, span.last, span.value);
  }
  std::size_t bytes() const { return allocated; }
};

using StdMapType = std::map<std::uint64_t, Span, std::less<std::uint64_t>,
                            counting_allocator<std::pair<const std::uint64_t, Span>>>;
using AbslMapType = absl::btree_map<std::uint64_t, Span, std::less<std::uint64_t>,
                                    counting_allocator<std::pair<const std::uint64_t, Span>>>;

struct StdMapPeer : StartKeyedPeer<StdMapType> {
  static constexpr const char *name = "std_map";
};
struct AbslPeer : StartKeyedPeer<AbslMapType> {
  static constexpr const char *name = "absl_btree";
};

// ---------------------------------------------------------------------------
// llvm::IntervalMap<uint64_t, Obj*> (closed intervals; coalesces adjacent
// intervals with equal values, which never happens here: values differ).

#if MAPLE_BENCH_HAVE_LLVM
struct LlvmPeer {
  static constexpr const char *name = "llvm_imap";
  using Map = llvm::IntervalMap<std::uint64_t, Obj *>;
  Map::Allocator alloc;  // must be constructed before m
  Map m{alloc};

  void store(std::uint64_t first, std::uint64_t last, Obj *v) {
    auto it = m.find(first);  // first interval with stop >= first
    while (it.valid() && it.start() <= last) {
      const std::uint64_t a = it.start(), b = it.stop();
      if (a < first) {
        if (b > last) {  // split
          Obj *old = it.value();
          it.setStop(first - 1);
          ++it;
          it.insert(last + 1, b, old);
          m.insert(first, last, v);
          return;
        }
        it.setStop(first - 1);
        ++it;
      } else if (b <= last) {
        it.erase();  // leaves `it` on the next interval
      } else {
        it.setStart(last + 1);
        break;
      }
    }
    it.insert(first, last, v);
  }

  Obj *erase(std::uint64_t index) {
    auto it = m.find(index);
    if (!it.valid() || it.start() > index) return nullptr;
    Obj *v = it.value();
    it.erase();
    return v;
  }

  Obj *lookup(std::uint64_t index) const { return m.lookup(index, nullptr); }

  template <class F>
  void for_each(F &&f) const {
    for (auto it = m.begin(); it.valid(); ++it) f(it.start(), it.stop(), it.value());
  }

  // Node bytes handed out by the map's BumpPtrAllocator (freed nodes are
  // recycled, so this is the node high-water mark; slab slack excluded).
  // RecyclingAllocator keeps the BumpPtrAllocator private, after a one-pointer
  // Recycler: reach it by layout (checked by the static_assert).
  std::size_t bytes() const {
    static_assert(sizeof(Map::Allocator) == sizeof(void *) + sizeof(llvm::BumpPtrAllocator),
                  "unexpected llvm::RecyclingAllocator layout");
    auto *bump = reinterpret_cast<const llvm::BumpPtrAllocator *>(
        reinterpret_cast<const char *>(&alloc) + sizeof(void *));
    return bump->getBytesAllocated();
  }
};
#endif

// ---------------------------------------------------------------------------
// boost::icl::interval_map used with set (overwrite) and erase only; its
// default += would aggregate values. Closed static intervals.

#if MAPLE_BENCH_HAVE_ICL
inline std::size_t icl_allocated = 0;  // ICL takes an allocator template, not an object

template <class T>
struct icl_counting_allocator : std::allocator<T> {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = icl_counting_allocator<U>;
  };
  icl_counting_allocator() noexcept = default;
  template <class U>
  icl_counting_allocator(const icl_counting_allocator<U> &) noexcept {}
  T *allocate(std::size_t n) {
    icl_allocated += n * sizeof(T);
    return std::allocator<T>::allocate(n);
  }
  void deallocate(T *p, std::size_t n) noexcept {
    icl_allocated -= n * sizeof(T);
    std::allocator<T>::deallocate(p, n);
  }
  template <class U>
  friend bool operator==(const icl_counting_allocator &, const icl_counting_allocator<U> &) {
    return true;
  }
};

struct IclPeer {
  static constexpr const char *name = "boost_icl";
  using Interval = boost::icl::closed_interval<std::uint64_t>;
  using Map = boost::icl::interval_map<std::uint64_t, Obj *, boost::icl::partial_absorber,
                                       ICL_COMPARE_INSTANCE(ICL_COMPARE_DEFAULT, std::uint64_t),
                                       ICL_COMBINE_INSTANCE(boost::icl::inplace_identity, Obj *),
                                       ICL_SECTION_INSTANCE(boost::icl::inter_section, Obj *),
                                       Interval, icl_counting_allocator>;
  Map m;
  std::size_t base = icl_allocated;  // one live IclPeer at a time is measured

  void store(std::uint64_t first, std::uint64_t last, Obj *v) {
    m.set(std::make_pair(Interval(first, last), v));
  }
  Obj *erase(std::uint64_t index) {
    auto it = m.find(index);
    if (it == m.end()) return nullptr;
    Obj *v = it->second;
    Interval iv = it->first;  // find() only yields const_iterators: erase by interval
    m.erase(iv);
    return v;
  }
  Obj *lookup(std::uint64_t index) const {
    auto it = m.find(index);
    return it == m.end() ? nullptr : it->second;
  }
  template <class F>
  void for_each(F &&f) const {
    for (const auto &[iv, v] : m) f(boost::icl::first(iv), boost::icl::last(iv), v);
  }
  std::size_t bytes() const { return icl_allocated - base; }
};
#endif

// ---------------------------------------------------------------------------
// Static sorted array, lookups only: starts[] searched branch-free (with
// both next probes prefetched), then one check against the range's last.

struct SortedArrayPeer {
  static constexpr const char *name = "sorted_array";
  std::vector<std::uint64_t> starts;
  struct Tail {
    std::uint64_t last;
    Obj *value;
  };
  std::vector<Tail> tails;

  /// Build from ascending, non-overlapping ranges (the only way to fill it).
  void build(const Workload &w) {
    starts.resize(w.n);
    tails.resize(w.n);
    for (std::size_t i = 0; i < w.n; ++i) {
      starts[i] = w.ranges[i].first;
      tails[i] = {w.ranges[i].last, w.value(i)};
    }
  }

  Obj *lookup(std::uint64_t index) const {
    const std::uint64_t *base = starts.data();
    std::size_t len = starts.size();
    if (len == 0 || index < base[0]) return nullptr;
    while (len > 1) {  // compiles to cmov: no data-dependent branch
      std::size_t half = len / 2;
      // Both possible next probes, so the misses of a step overlap.
      __builtin_prefetch(base + half / 2);
      __builtin_prefetch(base + half + half / 2);
      base = (base[half] <= index) ? base + half : base;
      len -= half;
    }
    const Tail &t = tails[static_cast<std::size_t>(base - starts.data())];
    return index <= t.last ? t.value : nullptr;
  }
  template <class F>
  void for_each(F &&f) const {
    for (std::size_t i = 0; i < starts.size(); ++i) f(starts[i], tails[i].last, tails[i].value);
  }
  std::size_t bytes() const {
    return starts.capacity() * sizeof(std::uint64_t) + tails.capacity() * sizeof(Tail);
  }
};

// ---------------------------------------------------------------------------
// Helpers every benchmark driver shares.

/// Outside the timed regions: lets a peer finish deferred work (maple_rcu
/// waits for its retired nodes to be freed) so none of it lands in a batch.
template <class P>
void settle(const P &p) {
  if constexpr (requires { p.settle(); }) p.settle();
}

/// Stores the workload's ranges in ascending order, then settles.
template <class P>
void fill_ascending(P &p, const Workload &w) {
  for (std::size_t i = 0; i < w.n; ++i) p.store(w.ranges[i].first, w.ranges[i].last, w.value(i));
  settle(p);
}

}  // namespace maple_bench
