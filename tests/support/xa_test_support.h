// tests/support/xa_test_support.h - shared by the XArray tests: a counting (and
// failing) memory resource, the reference model (a std::map of aligned
// ranges with marks) and snapshots of an array's visible contents.
#pragma once

#include "test_env.h"

#include <maple/rcu.h>
#include <maple/xarray.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <memory_resource>
#include <new>
#include <optional>
#include <tuple>
#include <vector>

namespace maple_test {

/// Counts allocations passed on to new/delete; optionally fails
/// (std::bad_alloc) once `fail_at` allocations have succeeded.
class counting_resource : public std::pmr::memory_resource {
 public:
  std::size_t allocs = 0, deallocs = 0, failed = 0;
  std::size_t fail_at = std::numeric_limits<std::size_t>::max();
  long live() const { return static_cast<long>(allocs) - static_cast<long>(deallocs); }
  void fail_after(std::size_t k) { fail_at = allocs + k; }
  void never_fail() { fail_at = std::numeric_limits<std::size_t>::max(); }

 private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    if (allocs >= fail_at) {
      ++failed;
      throw std::bad_alloc();
    }
    ++allocs;
    return std::pmr::new_delete_resource()->allocate(bytes, align);
  }
  void do_deallocate(void *p, std::size_t bytes, std::size_t align) override {
    ++deallocs;
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
};

/// Waits until every node retired so far has been freed.
inline void xa_quiesce() { maple::rcu::barrier(); }

/// One visible entry: first index, order, entry, mark bits.
using xa_row = std::tuple<std::uint64_t, unsigned, void *, unsigned>;

/// Everything iteration, get_order and get_mark can see.
inline std::vector<xa_row> xa_snapshot(const maple::xarray &xa) {
  std::vector<xa_row> rows;
  for (auto [i, e] : xa.entries()) {
    unsigned order = xa.get_order(i);
    std::uint64_t first = order >= 64 ? 0 : i & ~((std::uint64_t{1} << order) - 1);
    unsigned marks = 0;
    for (unsigned m = 0; m < maple::xa_max_marks; ++m)
      if (xa.get_mark(i, static_cast<maple::xa_mark>(m))) marks |= 1u << m;
    rows.emplace_back(first, order, e, marks);
  }
  return rows;
}

/// The reference model: aligned, non-overlapping ranges.
class xa_model {
 public:
  struct range {
    std::uint64_t last;
    void *entry;  // maple::xa_zero_entry() for a reserved index
    unsigned marks;
  };
  std::map<std::uint64_t, range> ranges;

  static std::uint64_t mask_of(unsigned order) {
    return order >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << order) - 1;
  }
  static unsigned order_of(std::uint64_t first, const range &r) {
    std::uint64_t size_m1 = r.last - first;
    return size_m1 == ~std::uint64_t{0} ? 64 : static_cast<unsigned>(std::countr_zero(size_m1 + 1));
  }
  static void *visible(void *e) { return maple::xa_is_zero(e) ? nullptr : e; }

  std::map<std::uint64_t, range>::iterator holding(std::uint64_t i) {
    auto it = ranges.upper_bound(i);
    if (it == ranges.begin()) return ranges.end();
    --it;
    return it->second.last >= i ? it : ranges.end();
  }

  void *load(std::uint64_t i) {
    auto it = holding(i);
    return it == ranges.end() ? nullptr : visible(it->second.entry);
  }
  void *raw(std::uint64_t i) {
    auto it = holding(i);
    return it == ranges.end() ? nullptr : it->second.entry;
  }
  unsigned get_order(std::uint64_t i) {
    auto it = holding(i);
    return it == ranges.end() ? 0 : order_of(it->first, it->second);
  }

  /// The store semantics: returns the entry that was at the range's first index.
  void *store(std::uint64_t index, unsigned order, void *e) {
    std::uint64_t f = index & ~mask_of(order), l = f | mask_of(order);
    auto c = holding(f);
    if (c != ranges.end() && (c->first < f || c->second.last > l)) {  // a larger entry
      void *old = c->second.entry;
      if (e)
        c->second.entry = e;
      else
        ranges.erase(c);
      return old;
    }
    void *old = c == ranges.end() ? nullptr : c->second.entry;
    unsigned marks = 0;
    auto it = ranges.lower_bound(f);
    while (it != ranges.end() && it->first <= l) {
      marks |= it->second.marks;
      it = ranges.erase(it);
    }
    if (e) ranges[f] = {l, e, marks};
    return old;
  }
  bool occupied(std::uint64_t index, unsigned order) {
    std::uint64_t f = index & ~mask_of(order), l = f | mask_of(order);
    if (holding(f) != ranges.end()) return true;
    auto it = ranges.lower_bound(f);
    return it != ranges.end() && it->first <= l;
  }
  void set_mark(std::uint64_t i, unsigned m, bool on) {
    auto it = holding(i);
    if (it == ranges.end()) return;
    if (on)
      it->second.marks |= 1u << m;
    else
      it->second.marks &= ~(1u << m);
  }
  bool get_mark(std::uint64_t i, unsigned m) {
    auto it = holding(i);
    return it != ranges.end() && ((it->second.marks >> m) & 1);
  }
  /// split(): true if [index's old-order range] is exactly one entry.
  bool split(std::uint64_t index, unsigned old_order, unsigned new_order, void *e) {
    std::uint64_t f = index & ~mask_of(old_order);
    auto it = ranges.find(f);
    if (it == ranges.end() || order_of(f, it->second) != old_order) return false;
    unsigned marks = it->second.marks;
    std::uint64_t l = it->second.last;
    ranges.erase(it);
    for (std::uint64_t p = f;; p += mask_of(new_order) + 1) {
      ranges[p] = {p | mask_of(new_order), e, marks};
      if ((p | mask_of(new_order)) == l) break;
    }
    return true;
  }
  std::vector<xa_row> snapshot() const {
    std::vector<xa_row> rows;
    for (auto &[f, r] : ranges)
      if (!maple::xa_is_zero(r.entry)) rows.emplace_back(f, order_of(f, r), r.entry, r.marks);
    return rows;
  }
};

}  // namespace maple_test
