// Folios: lock bit, reference count (with freezing) and the type-stable pool.
#include <thread>

#include "pagecache/page_cache.h"

namespace maple::pagecache {

bool folio_contains(const folio *f, std::uint64_t i) noexcept {
  std::uint64_t first = f->index.load(std::memory_order_relaxed);
  return i >= first && i - first < f->nr_pages();
}

bool folio_trylock(folio *f) noexcept {
  return !f->locked.exchange(true, std::memory_order_acquire);
}

void folio_lock(folio *f) noexcept {
  while (!folio_trylock(f)) std::this_thread::yield();
}

void folio_unlock(folio *f) noexcept { f->locked.store(false, std::memory_order_release); }

bool folio_try_get(folio *f) noexcept {
  int c = f->refcount.load(std::memory_order_relaxed);
  while (c > 0)
    if (f->refcount.compare_exchange_weak(c, c + 1, std::memory_order_acquire)) return true;
  return false;
}

bool folio_ref_freeze(folio *f, int expected) noexcept {
  return f->refcount.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}

void folio_ref_unfreeze(folio *f, int count) noexcept {
  f->refcount.store(count, std::memory_order_release);
}

folio *folio_pool::alloc(unsigned order) {
  folio *f;
  {
    std::lock_guard g(m_);
    if (free_.empty()) {
      all_.push_back(std::make_unique<folio>());
      f = all_.back().get();
    } else {
      f = free_.back();
      free_.pop_back();
    }
  }
  f->order.store(order, std::memory_order_relaxed);
  f->index.store(0, std::memory_order_relaxed);
  f->mapping.store(nullptr, std::memory_order_relaxed);
  f->locked.store(false, std::memory_order_relaxed);
  f->uptodate.store(false, std::memory_order_relaxed);
  f->free.store(false, std::memory_order_relaxed);
  in_use_.fetch_add(1);
  f->refcount.store(1, std::memory_order_release);  // publishes the fields above
  return f;
}

void folio_pool::release(folio *f) noexcept {
  if (f->free.exchange(true)) {
    double_frees_.fetch_add(1);
    return;
  }
  in_use_.fetch_sub(1);
  std::lock_guard g(m_);
  free_.push_back(f);
}

void folio_pool::put(folio *f) noexcept {
  int c = f->refcount.fetch_sub(1, std::memory_order_acq_rel);
  if (c == 1) {
    release(f);
  } else if (c <= 0) {
    double_frees_.fetch_add(1);  // a put without a reference
  }
}

void folio_pool::free_frozen(folio *f) noexcept { release(f); }

std::size_t folio_pool::created() const {
  std::lock_guard g(m_);
  return all_.size();
}

}  // namespace maple::pagecache
