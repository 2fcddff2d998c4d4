// Definitions of basic_raw_tree's members over the engine. Included by the
// one translation unit that instantiates the library's geometry, and by test
// units that instantiate small geometries.
#pragma once

#include "alloc/node_cache.h"
#include "engine/bulk.h"
#include "engine/check.h"
#include "engine/dump.h"
#include "engine/dup.h"
#include "engine/engine.h"
#include "engine/gap.h"
#include "engine/reclaim.h"
#include "engine/teardown.h"
#include "engine/walk.h"
#include "engine/write.h"
#include "engine/write_lock.h"
#include "rcu/read_section.h"
#include "tree/cursor_impl.h"
#include "tree/tree_access.h"

#include <maple/raw_tree.h>

#include <cstdlib>
#include <system_error>

namespace maple {

namespace detail {
/// One-shot reads of an RCU-mode tree run inside a read section of their own
/// (rcu/read_section.h: they run no other code inside it).
class rcu_read_scope {
 public:
  explicit rcu_read_scope(bool on) noexcept : on_(on) {
    if (on) rcu::detail::one_shot_lock();
  }
  ~rcu_read_scope() {
    if (on_) rcu::detail::one_shot_unlock();
  }
  rcu_read_scope(const rcu_read_scope &) = delete;
  rcu_read_scope &operator=(const rcu_read_scope &) = delete;

 private:
  bool on_;
};

/// Exchanges the ranges of two trees (root, height, alloc_cyclic's wrap
/// note) and bumps both epochs, so that checked builds catch a cursor
/// positioned before the exchange.
inline void swap_contents(tree_core &a, tree_core &b) noexcept {
  const std::uintptr_t root = a.root.load(std::memory_order_relaxed);
  a.root.store(b.root.load(std::memory_order_relaxed), std::memory_order_release);
  b.root.store(root, std::memory_order_release);
  std::swap(a.height, b.height);
  std::swap(a.alloc_wrapped, b.alloc_wrapped);
  a.epoch.fetch_add(1, std::memory_order_relaxed);
  b.epoch.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

template <unsigned S>
basic_raw_tree<S>::basic_raw_tree(std::pmr::memory_resource *mr) noexcept
    : core_(tree_flags::none, mr ? mr : detail::default_node_resource()) {}

template <unsigned S>
basic_raw_tree<S>::basic_raw_tree(tree_flags flags, std::pmr::memory_resource *mr) noexcept
    : core_(flags, mr ? mr : detail::default_node_resource()) {
  // An allocation node needs room for 3 children and their gaps (S >= 6).
  if (has_flag(flags, tree_flags::alloc) && detail::gap_fanout<S> < 3) std::abort();
}

template <unsigned S>
basic_raw_tree<S>::~basic_raw_tree() {
  detail::destroy_tree<S>(core_);  // no lock: nothing else may use a tree being destroyed
}

template <unsigned S>
basic_raw_tree<S>::basic_raw_tree(basic_raw_tree &&other) noexcept
    : core_(other.core_.flags, other.core_.mr) {
  // The configuration is copied, the contents change hands: other keeps
  // its flags, resource and lock setting, so it stays usable.
  core_.rcu.store(other.rcu_mode(), std::memory_order_relaxed);
  core_.ext = other.core_.ext;
  detail::swap_contents(core_, other.core_);
}

template <unsigned S>
basic_raw_tree<S> &basic_raw_tree<S>::operator=(basic_raw_tree &&other) noexcept {
  if (this != &other) {
    basic_raw_tree taken(std::move(other));
    swap(taken);
  }  // taken frees this tree's old ranges
  return *this;
}

template <unsigned S>
void basic_raw_tree<S>::swap(basic_raw_tree &other) noexcept {
  if (this == &other) return;
  // Nodes belong to the flags (gap records) and to the resource they came
  // from, so everything travels together; each mutex stays where it is.
  std::swap(core_.flags, other.core_.flags);
  std::swap(core_.mr, other.core_.mr);
  std::swap(core_.ext, other.core_.ext);
  const bool rcu = core_.rcu_mode();
  core_.rcu.store(other.rcu_mode(), std::memory_order_relaxed);
  other.core_.rcu.store(rcu, std::memory_order_relaxed);
  detail::swap_contents(core_, other.core_);
}

template <unsigned S>
void *basic_raw_tree<S>::load(std::uint64_t index) const noexcept {
  // Two paths: the plain one then needs no registers kept across the walk.
  if (!rcu_mode()) return detail::walker<S>::load(core_, index);
  detail::rcu_read_scope rcu_section(true);
  return detail::walker<S>::load(core_, index);
}

template <unsigned S>
range_entry basic_raw_tree<S>::lookup(std::uint64_t index) const noexcept {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::walker<S>::lookup(core_, index);
}

template <unsigned S>
std::optional<range_entry> basic_raw_tree<S>::find(std::uint64_t index,
                                                   std::uint64_t max) const noexcept {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::walker<S>::find(core_, index, max);
}

template <unsigned S>
std::optional<range_entry> basic_raw_tree<S>::find_after(std::uint64_t index,
                                                         std::uint64_t max) const noexcept {
  detail::rcu_read_scope rcu_section(rcu_mode());
  // Continue after the whole range holding index (stored or empty).
  std::uint64_t past = detail::walker<S>::lookup(core_, index).last;
  if (past == max_index) return std::nullopt;
  return detail::walker<S>::find(core_, past + 1, max);
}

template <unsigned S>
std::optional<range_entry> basic_raw_tree<S>::find_rev(std::uint64_t index,
                                                       std::uint64_t min) const noexcept {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::walker<S>::find_rev(core_, index, min);
}

template <unsigned S>
bool basic_raw_tree<S>::empty() const noexcept {
  return core_.root.load(std::memory_order_acquire) == 0;
}

template <unsigned S>
std::error_code basic_raw_tree<S>::store(std::uint64_t first, std::uint64_t last, void *entry) {
  if (first > last || is_reserved_entry(entry)) return errc::invalid_argument;
  detail::write_lock_scope g(core_, "store()");
  return detail::writer<S>::store(core_, first, last, entry);
}

template <unsigned S>
std::error_code basic_raw_tree<S>::insert(std::uint64_t first, std::uint64_t last, void *entry) {
  if (first > last || entry == nullptr || is_reserved_entry(entry)) return errc::invalid_argument;
  detail::write_lock_scope g(core_, "insert()");
  range_entry r = detail::walker<S>::lookup(core_, first);
  // Empty ranges are coalesced: [first, last] is free iff one empty range
  // holds it all.
  if (r.entry != nullptr || r.last < last) return errc::exists;
  return detail::writer<S>::store(core_, first, last, entry);
}

template <unsigned S>
std::error_code basic_raw_tree<S>::erase(std::uint64_t index, void **old) noexcept {
  detail::write_lock_scope g(core_, "erase()");
  void *e = nullptr;
  std::error_code ec;
  try {
    ec = detail::writer<S>::erase(core_, index, e);
  } catch (...) {
    ec = errc::no_memory;
  }
  if (old) *old = ec ? nullptr : e;
  return ec;
}

template <unsigned S>
std::error_code basic_raw_tree<S>::bulk_load(std::span<const range_entry> ranges) {
  detail::write_lock_scope g(core_, "bulk_load()");
  return detail::bulk_builder<S>::load(core_, ranges);
}

template <unsigned S>
void basic_raw_tree<S>::clear() noexcept {
  detail::write_lock_scope g(core_, "clear()");
  detail::destroy_tree<S>(core_);
}

template <unsigned S>
void basic_raw_tree<S>::set_rcu_mode(bool on) noexcept {
  detail::write_lock_scope g(core_, "set_rcu_mode()");
  core_.rcu.store(on, std::memory_order_relaxed);
}

template <unsigned S>
void basic_raw_tree<S>::set_external_lock(external_lock lock) noexcept {
  // No write runs now (the caller's promise): nothing to exclude.
  core_.ext = lock.held != nullptr ? lock : external_lock{};
}

template <unsigned S>
std::error_code basic_raw_tree<S>::dup(basic_raw_tree &dst, entry_transform fn,
                                       void *context) const {
  if (&dst == this) return errc::invalid_argument;
  // Internal mutexes are taken (both at once: two threads duplicating in
  // opposite directions do not deadlock); external locks are the caller's.
  detail::assert_external_lock_held(core_, "dup() (source tree)");
  detail::assert_external_lock_held(dst.core_, "dup() (destination tree)");
  std::unique_lock<detail::write_mutex> src_lock(core_.lock, std::defer_lock);
  std::unique_lock<detail::write_mutex> dst_lock(dst.core_.lock, std::defer_lock);
  const bool src_internal = !uses_external_lock(), dst_internal = !dst.uses_external_lock();
  if (src_internal && dst_internal)
    std::lock(dst_lock, src_lock);
  else if (src_internal)
    src_lock.lock();
  else if (dst_internal)
    dst_lock.lock();
  std::error_code ec = detail::duplicator<S>::dup(core_, dst.core_, fn, context);
  if (!ec) dst.core_.alloc_wrapped = core_.alloc_wrapped;
  return ec;
}

// ---- free ranges ---------------------------------------------------------------

template <unsigned S>
std::error_code basic_raw_tree<S>::empty_area(std::uint64_t min, std::uint64_t max,
                                              std::uint64_t size,
                                              std::uint64_t &start) const noexcept {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::gap_search<S>::lowest(core_, min, max, size, start);
}

template <unsigned S>
std::error_code basic_raw_tree<S>::empty_area_rev(std::uint64_t min, std::uint64_t max,
                                                  std::uint64_t size,
                                                  std::uint64_t &start) const noexcept {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::gap_search<S>::highest(core_, min, max, size, start);
}

template <unsigned S>
std::error_code basic_raw_tree<S>::alloc_range(void *entry, std::uint64_t size, std::uint64_t min,
                                               std::uint64_t max, std::uint64_t &start) {
  if (entry == nullptr || is_reserved_entry(entry)) return errc::invalid_argument;
  detail::write_lock_scope g(core_, "alloc_range()");
  std::uint64_t at = 0;
  if (auto ec = detail::gap_search<S>::lowest(core_, min, max, size, at)) return ec;
  if (auto ec = detail::writer<S>::store(core_, at, at + (size - 1), entry)) return ec;
  start = at;
  return {};
}

template <unsigned S>
std::error_code basic_raw_tree<S>::alloc_rrange(void *entry, std::uint64_t size, std::uint64_t min,
                                                std::uint64_t max, std::uint64_t &start) {
  if (entry == nullptr || is_reserved_entry(entry)) return errc::invalid_argument;
  detail::write_lock_scope g(core_, "alloc_rrange()");
  std::uint64_t at = 0;
  if (auto ec = detail::gap_search<S>::highest(core_, min, max, size, at)) return ec;
  if (auto ec = detail::writer<S>::store(core_, at, at + (size - 1), entry)) return ec;
  start = at;
  return {};
}

template <unsigned S>
std::error_code basic_raw_tree<S>::alloc_cyclic(void *entry, std::uint64_t min, std::uint64_t max,
                                                std::uint64_t &next, std::uint64_t &start,
                                                bool &wrapped) {
  if (entry == nullptr || is_reserved_entry(entry) || min > max) return errc::invalid_argument;
  detail::write_lock_scope g(core_, "alloc_cyclic()");
  using G = detail::gap_search<S>;
  std::uint64_t lo = next > min ? next : min, at = 0;
  bool wrap = false;
  std::error_code ec = lo <= max ? G::lowest(core_, lo, max, 1, at) : make_error_code(errc::busy);
  if (!ec && core_.alloc_wrapped) wrap = true;  // the previous call's next overflowed
  if (ec && lo > min) {                         // wrap around to min
    ec = G::lowest(core_, min, max, 1, at);
    wrap = true;
  }
  if (ec) return ec;
  if ((ec = detail::writer<S>::store(core_, at, at, entry))) return ec;
  core_.alloc_wrapped = at == max_index;  // next wraps to 0: reported by the next call
  start = at;
  next = at + 1;
  wrapped = wrap;
  return {};
}

// ---- iteration ---------------------------------------------------------------

template <unsigned S>
template <class Pos>
void basic_raw_tree<S>::iterator::set_position(const Pos &p) noexcept {
  leaf_ = p.leaf;
  pivots_ = p.leaf->pivot;
  slots_ = p.leaf->slot;
  leaf_min_ = p.min;
  leaf_max_ = p.max;
  end_ = p.end;
  offset_ = p.off;
  cur_ = {p.first(), p.last(), p.hit};  // what the scan saw: the slot may change
  at_end_ = false;
}

template <unsigned S>
typename basic_raw_tree<S>::iterator basic_raw_tree<S>::range_view::begin() const noexcept {
  using Wk = detail::walker<S>;
  iterator it;
  it.core_ = &t_->core_;
  it.lo_ = lo_;
  it.hi_ = hi_;
  if (lo_ > hi_) return it;
  detail::word root = detail::engine<S>::root(t_->core_);
  if (!detail::is_node_word(root)) {
    if (root != 0 && lo_ == 0) {
      it.cur_ = {0, 0, reinterpret_cast<void *>(root)};
      it.pivots_ = nullptr;
      it.slots_ = nullptr;
      it.at_end_ = false;
    }
    return it;
  }
  typename Wk::leaf_pos p;
  Wk::descend(root, lo_, p);
  if (!Wk::scan_forward(t_->core_, p, hi_, 0, lo_)) return it;
  it.set_position(p);
  return it;
}

template <unsigned S>
typename basic_raw_tree<S>::iterator basic_raw_tree<S>::range_view::end() const noexcept {
  iterator it;
  it.core_ = &t_->core_;
  it.lo_ = lo_;
  it.hi_ = hi_;
  return it;
}

template <unsigned S>
typename basic_raw_tree<S>::iterator &basic_raw_tree<S>::iterator::next_leaf() noexcept {
  using Wk = detail::walker<S>;
  using node_t = detail::node<S>;
  if (at_end_) return *this;
  if (leaf_ == nullptr) return to_end();  // the root entry
  typename Wk::leaf_pos p;
  p.leaf = static_cast<const node_t *>(leaf_);
  p.min = leaf_min_;
  p.max = leaf_max_;
  p.end = end_;
  p.off = end_ + 1;
  // Ranges up to cur_.last are reported: a walk again from the root (RCU
  // mode, a leaf replaced meanwhile) goes on after it. The end is decided
  // on a live leaf only (scan_forward).
  const bool past_hi = leaf_max_ >= hi_;
  if (past_hi && !Wk::dead_end(p)) return to_end();
  if (!past_hi && Wk::next_leaf(p) == Wk::step::moved) {
    // The common case: a stored range in the next leaf, inside [lo, hi].
    for (; p.off <= p.end; ++p.off)
      if ((p.hit = p.entry())) break;
    if (p.off <= p.end && p.first() <= hi_) {
      set_position(p);
      return *this;
    }
    // Otherwise scan_forward goes on from p: past its end, or at the
    // limit (which it decides on a live leaf).
  }
  const std::uint64_t after = cur_.last + 1;
  if ((past_hi && !Wk::rewalk_after(*core_, after, after, p)) ||
      !Wk::scan_forward(*core_, p, hi_, after, after))
    return to_end();
  set_position(p);
  return *this;
}

template <unsigned S>
typename basic_raw_tree<S>::iterator &basic_raw_tree<S>::iterator::operator--() noexcept {
  using Wk = detail::walker<S>;
  typename Wk::leaf_pos p;
  if (at_end_) {
    // From the end: the last range intersecting [lo, hi].
    if (lo_ > hi_ || core_ == nullptr) return *this;
    detail::word root = detail::engine<S>::root(*core_);
    if (!detail::is_node_word(root)) return step_to_root_entry();
    Wk::descend(root, hi_, p);
    if (!Wk::scan_backward(*core_, p, lo_, max_index, hi_)) return step_to_root_entry();
    set_position(p);
    return *this;
  }
  if (leaf_ == nullptr || cur_.first == 0) return to_end();  // nothing before [0, ...]
  p.leaf = static_cast<const detail::node<S> *>(leaf_);
  p.min = leaf_min_;
  p.max = leaf_max_;
  p.end = end_;
  p.off = offset_;
  // Ranges from cur_.first on are reported: a walk again from the root
  // (RCU mode, a leaf replaced meanwhile) goes on before it.
  const std::uint64_t before = cur_.first - 1;
  bool placed = true;
  if (p.off > 0) {
    --p.off;
  } else {
    auto st = Wk::prev_leaf(p);
    if (st == Wk::step::dead || (st == Wk::step::edge && Wk::dead_end(p)))
      placed = Wk::rewalk_before(*core_, before, before, p);
    else if (st == Wk::step::edge)
      placed = false;
  }
  if (!placed || !Wk::scan_backward(*core_, p, lo_, before, before)) return step_to_root_entry();
  set_position(p);
  return *this;
}

/// The end of a backward iteration: a tree that is now a lone root entry
/// [0, 0] still has that entry to report when [lo, hi] holds 0 and the
/// iteration has not reported it yet; otherwise the iterator becomes end().
template <unsigned S>
typename basic_raw_tree<S>::iterator &basic_raw_tree<S>::iterator::step_to_root_entry() noexcept {
  detail::word root = detail::engine<S>::root(*core_);
  const bool reported_zero = !at_end_ && cur_.first == 0;
  if (root != 0 && !detail::is_node_word(root) && lo_ == 0 && !reported_zero) {
    leaf_ = nullptr;
    pivots_ = nullptr;
    slots_ = nullptr;
    cur_ = {0, 0, reinterpret_cast<void *>(root)};
    at_end_ = false;
    return *this;
  }
  return to_end();
}

// ---- checking and inspection ---------------------------------------------------

template <unsigned S>
check_report basic_raw_tree<S>::validate() const {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::checker<S>::validate(core_);
}

template <unsigned S>
void basic_raw_tree<S>::dump(std::ostream &os, dump_format fmt) const {
  detail::rcu_read_scope rcu_section(rcu_mode());
  detail::dumper<S>::dump(core_, os, fmt);
}

template <unsigned S>
void basic_raw_tree<S>::dump_dot(std::ostream &os) const {
  detail::rcu_read_scope rcu_section(rcu_mode());
  detail::dumper<S>::dump_dot(core_, os);
}

template <unsigned S>
tree_stats basic_raw_tree<S>::stats() const {
  detail::rcu_read_scope rcu_section(rcu_mode());
  return detail::dumper<S>::stats(core_);
}

}  // namespace maple
