// The normal API: each call is one walk of a cursor, under the array's lock
// for writes and inside a lockless read section for reads.
#include <mutex>
#include <utility>

#include "alloc/node_cache.h"
#include "xarray/impl.h"

namespace maple {

using detail::xa_impl;
using detail::xa_word;

namespace {

void *as_ptr(xa_word w) { return reinterpret_cast<void *>(w); }
xa_word as_word(const void *p) { return reinterpret_cast<xa_word>(p); }
void *zero_to_null(xa_word w) { return w == detail::xa_zero_word ? nullptr : as_ptr(w); }

}  // namespace

xarray::xarray(xa_flags flags, std::pmr::memory_resource *mr) noexcept
    : flags_(flags), mr_(mr ? mr : detail::default_node_resource()) {}

xarray::xarray(xarray &&other) noexcept : flags_(other.flags_), mr_(other.mr_) {
  // The contents change hands; other keeps its flags and resource.
  take_contents(other);
}

xarray &xarray::operator=(xarray &&other) noexcept {
  if (this != &other) {
    xarray taken(std::move(other));
    swap(taken);
  }  // taken frees this array's old nodes
  return *this;
}

void xarray::swap(xarray &other) noexcept {
  if (this == &other) return;
  std::swap(flags_, other.flags_);
  std::swap(mr_, other.mr_);
  std::swap(cyclic_wrapped_, other.cyclic_wrapped_);
  const xa_word h = head_.load(std::memory_order_relaxed);
  const unsigned m = root_marks_.load(std::memory_order_relaxed);
  head_.store(other.head_.load(std::memory_order_relaxed), std::memory_order_release);
  root_marks_.store(other.root_marks_.load(std::memory_order_relaxed), std::memory_order_release);
  other.head_.store(h, std::memory_order_release);
  other.root_marks_.store(m, std::memory_order_release);
}

void xarray::take_contents(xarray &other) noexcept {
  head_.store(other.head_.exchange(0, std::memory_order_relaxed), std::memory_order_release);
  root_marks_.store(other.root_marks_.exchange(0, std::memory_order_relaxed),
                    std::memory_order_release);
  cyclic_wrapped_ = std::exchange(other.cyclic_wrapped_, false);
}

xarray::~xarray() {
  // No reader can use a dying array: its nodes go at once (those retired
  // earlier are already on their way through the RCU layer).
  xa_word h = head_.load(std::memory_order_relaxed);
  if (detail::xa_word_node(h)) xa_impl::free_subtree(detail::xa_word_to_node(h));
}

// ---- reads ----------------------------------------------------------------------

void *xarray::load(std::uint64_t index) const noexcept {
  using namespace detail;
  xa_read_section rs;
  for (;;) {
    xa_word w = head_.load(std::memory_order_acquire);
    if (!xa_word_node(w)) return index == 0 ? zero_to_null(w) : nullptr;
    const xa_node *n = xa_word_to_node(w);
    if (index > xa_span_mask(n->shift)) return nullptr;
    for (;;) {
      unsigned off = xa_slot_of(index, n->shift);
      w = xa_impl::read_slot(n, off);
      if (!xa_word_node(w)) break;
      n = xa_word_to_node(w);
    }
    if (w != xa_retry_word) return zero_to_null(w);
  }
}

bool xarray::empty() const noexcept { return head_.load(std::memory_order_acquire) == 0; }

bool xarray::marked(xa_mark mark) const noexcept {
  auto m = static_cast<unsigned>(mark);
  if (m >= xa_max_marks || (is_alloc() && m == detail::xa_free_mark)) return false;
  return (root_marks_.load(std::memory_order_acquire) >> m) & 1;
}

bool xarray::get_mark(std::uint64_t index, xa_mark mark) const noexcept {
  if (static_cast<unsigned>(mark) >= xa_max_marks) return false;
  if (is_alloc() && static_cast<unsigned>(mark) == detail::xa_free_mark) return false;
  detail::xa_read_section rs;
  xa_state s(*this, index);
  for (;;) {
    xa_word w = xa_impl::load(s);
    if (w == detail::xa_retry_word) {
      s.reset();
      continue;
    }
    return w != 0 && s.get_mark(mark);
  }
}

unsigned xarray::get_order(std::uint64_t index) const noexcept {
  detail::xa_read_section rs;
  xa_state s(*this, index);
  for (;;) {
    xa_word w = xa_impl::load(s);
    if (w == detail::xa_retry_word) {
      s.reset();
      continue;
    }
    return w != 0 ? s.get_order() : 0;
  }
}

namespace {

// One search step of find / find_after: the next entry from the state, with
// retry and zero entries handled; `after` skips entries starting at or
// before it (the rest of a multi-index entry holding it).
void *search(xa_state &s, std::uint64_t max, int mark, bool skip_before, std::uint64_t after) {
  for (;;) {
    void *e = mark < 0 ? s.find(max) : s.find_marked(max, static_cast<xa_mark>(mark));
    if (!e) return nullptr;
    if (s.retry(e)) continue;
    if (skip_before && xa_impl::slot_first(s) <= after) continue;
    return e;
  }
}

}  // namespace

void *xarray::find(std::uint64_t &index, std::uint64_t max) const noexcept {
  detail::xa_read_section rs;
  xa_state s(*this, index);
  void *e = search(s, max, -1, false, 0);
  if (e) index = s.index();
  return e;
}

void *xarray::find(std::uint64_t &index, std::uint64_t max, xa_mark mark) const noexcept {
  if (static_cast<unsigned>(mark) >= xa_max_marks) return nullptr;
  detail::xa_read_section rs;
  xa_state s(*this, index);
  void *e = search(s, max, static_cast<int>(mark), false, 0);
  if (e) index = s.index();
  return e;
}

void *xarray::find_after(std::uint64_t &index, std::uint64_t max) const noexcept {
  if (index >= max) return nullptr;
  detail::xa_read_section rs;
  xa_state s(*this, index + 1);
  void *e = search(s, max, -1, true, index);
  if (e) index = s.index();
  return e;
}

void *xarray::find_after(std::uint64_t &index, std::uint64_t max, xa_mark mark) const noexcept {
  if (index >= max || static_cast<unsigned>(mark) >= xa_max_marks) return nullptr;
  detail::xa_read_section rs;
  xa_state s(*this, index + 1);
  void *e = search(s, max, static_cast<int>(mark), true, index);
  if (e) index = s.index();
  return e;
}

std::size_t xarray::extract(std::span<void *> dst, std::uint64_t start,
                            std::uint64_t max) const noexcept {
  std::size_t n = 0;
  if (dst.empty()) return 0;
  detail::xa_read_section rs;
  xa_state s(*this, start);
  while (n < dst.size()) {
    void *e = search(s, max, -1, false, 0);
    if (!e) break;
    dst[n++] = e;
  }
  return n;
}

std::size_t xarray::extract(std::span<void *> dst, std::uint64_t start, std::uint64_t max,
                            xa_mark mark) const noexcept {
  std::size_t n = 0;
  if (dst.empty() || static_cast<unsigned>(mark) >= xa_max_marks) return 0;
  detail::xa_read_section rs;
  xa_state s(*this, start);
  while (n < dst.size()) {
    void *e = search(s, max, static_cast<int>(mark), false, 0);
    if (!e) break;
    dst[n++] = e;
  }
  return n;
}

// ---- iteration ------------------------------------------------------------------

xarray::iterator xarray::range::begin() const noexcept {
  iterator it;
  it.xa_ = xa_;
  it.max_ = max_;
  it.mark_ = mark_;
  std::uint64_t i = start_;
  void *e = mark_ < 0 ? xa_->find(i, max_) : xa_->find(i, max_, static_cast<xa_mark>(mark_));
  if (e) {
    it.cur_ = {i, e};
    it.done_ = false;
  }
  return it;
}

xarray::iterator &xarray::iterator::operator++() noexcept {
  std::uint64_t i = cur_.index;
  void *e =
      mark_ < 0 ? xa_->find_after(i, max_) : xa_->find_after(i, max_, static_cast<xa_mark>(mark_));
  if (e)
    cur_ = {i, e};
  else
    done_ = true;
  return *this;
}

xarray::range xarray::entries(std::uint64_t start, std::uint64_t max) const noexcept {
  range r;
  r.xa_ = this;
  r.start_ = start;
  r.max_ = max;
  return r;
}

xarray::range xarray::marked_entries(xa_mark mark, std::uint64_t start,
                                     std::uint64_t max) const noexcept {
  range r = entries(start, max);
  r.mark_ = static_cast<int>(mark);
  return r;
}

// ---- writes ---------------------------------------------------------------------

std::error_code xarray::store(std::uint64_t index, void *entry, void **old) {
  return store_order(index, 0, entry, old);
}

std::error_code xarray::store_order(std::uint64_t index, unsigned order, void *entry, void **old) {
  if (xa_is_internal(entry) || order > 64) return errc::invalid_argument;
  if (!entry && is_alloc()) entry = xa_zero_entry();  // keeps the index allocated
  std::lock_guard g(*this);
  xa_state s(*this, index, order);
  xa_word prev = xa_impl::store(s, as_word(entry));
  if (s.error()) return s.error();
  if (old) *old = zero_to_null(prev);
  return {};
}

void *xarray::erase(std::uint64_t index) noexcept {
  std::lock_guard g(*this);
  xa_state s(*this, index);
  return zero_to_null(xa_impl::store(s, 0));
}

std::error_code xarray::insert(std::uint64_t index, void *entry, unsigned order) {
  if (xa_is_internal(entry) || order > 64) return errc::invalid_argument;
  if (!entry) entry = xa_zero_entry();
  std::lock_guard g(*this);
  xa_state s(*this, index, order);
  if (xa_impl::occupied(s)) return errc::busy;
  xa_impl::store(s, as_word(entry));
  return s.error();
}

std::error_code xarray::cmpxchg(std::uint64_t index, void *expected, void *desired,
                                void **current) {
  if (xa_is_internal(desired) || xa_is_internal(expected)) return errc::invalid_argument;
  if (!desired && is_alloc()) desired = xa_zero_entry();
  std::lock_guard g(*this);
  xa_state s(*this, index);
  xa_word cur = xa_impl::load(s);
  bool match = cur == as_word(expected) || (!expected && cur == detail::xa_zero_word);
  if (match && cur != as_word(desired)) {
    s.reset();
    xa_impl::store(s, as_word(desired));
    if (s.error()) return s.error();
  }
  if (current) *current = zero_to_null(cur);
  return {};
}

std::error_code xarray::reserve(std::uint64_t index) {
  std::lock_guard g(*this);
  xa_state s(*this, index);
  if (xa_impl::load(s) != 0) return {};
  s.reset();
  xa_impl::store(s, detail::xa_zero_word);
  return s.error();
}

void xarray::release(std::uint64_t index) noexcept {
  std::lock_guard g(*this);
  xa_state s(*this, index);
  if (xa_impl::load(s) != detail::xa_zero_word) return;
  s.reset();
  xa_impl::store(s, 0);
}

std::error_code xarray::set_mark(std::uint64_t index, xa_mark mark) noexcept {
  auto m = static_cast<unsigned>(mark);
  if (m >= xa_max_marks || (is_alloc() && m == detail::xa_free_mark)) return errc::invalid_argument;
  std::lock_guard g(*this);
  xa_state s(*this, index);
  if (xa_impl::load(s) != 0) xa_impl::set_mark(s, m);
  return {};
}

void xarray::clear_mark(std::uint64_t index, xa_mark mark) noexcept {
  auto m = static_cast<unsigned>(mark);
  if (m >= xa_max_marks || (is_alloc() && m == detail::xa_free_mark)) return;
  std::lock_guard g(*this);
  xa_state s(*this, index);
  if (xa_impl::load(s) != 0) xa_impl::clear_mark(s, m);
}

void xarray::clear() noexcept {
  std::lock_guard g(*this);
  xa_word h = head_.load(std::memory_order_relaxed);
  xa_impl::publish_head(*this, 0);
  root_marks_.store(0, std::memory_order_relaxed);
  if (detail::xa_word_node(h)) xa_impl::retire_subtree(*this, detail::xa_word_to_node(h));
}

check_report xarray::validate() const { return xa_impl::validate(*this); }
xa_stats xarray::stats() const { return xa_impl::stats(*this); }

}  // namespace maple
