// Adding and removing page-cache entries, and the lockless lookups.
#include <maple/entry.h>
#include <maple/rcu.h>

#include <mutex>

#include "pagecache/page_cache.h"

namespace maple::pagecache {
namespace {

// A store under the i_pages lock, reported to the mapping's observer.
void *cache_store(file_mapping &m, xa_state &xas, void *entry) {
  void *old = xas.store(entry);
  if (!xas.error() && m.on_store) m.on_store(xas.index(), xas.order(), entry);
  return old;
}

folio *as_folio(void *e) { return static_cast<folio *>(e); }

// One step of the lookups: a referenced folio still in its slot, a value
// entry, or nullptr (the state is reset on races and the caller steps again).
enum class got { entry, again };
got take_reference(xa_state &xas, void *e, file_mapping &m) {
  if (is_value_entry(e)) return got::entry;
  folio *f = as_folio(e);
  if (!folio_try_get(f)) {  // being freed or frozen
    xas.reset();
    return got::again;
  }
  if (xas.reload() != e) {  // moved before we held it
    m.pool.put(f);
    xas.reset();
    return got::again;
  }
  return got::entry;
}

}  // namespace

std::error_code filemap_add_folio(file_mapping &m, folio *f, std::uint64_t index) {
  const unsigned order = f->order.load(std::memory_order_relaxed);
  const std::uint64_t nr = f->nr_pages();
  if (index & (nr - 1)) return errc::invalid_argument;
  f->index.store(index, std::memory_order_relaxed);
  f->mapping.store(&m, std::memory_order_relaxed);
  f->refcount.fetch_add(1, std::memory_order_relaxed);  // the cache's reference
  std::error_code ec;
  {
    std::lock_guard g(m.i_pages);
    xa_state probe(m.i_pages, index);
    void *cur = probe.find(index + nr - 1);
    // Only a lone shadow entry may be replaced.
    if (cur && !(order == 0 && is_value_entry(cur))) {
      ec = errc::busy;
    } else {
      xa_state xas(m.i_pages, index, order);
      cache_store(m, xas, f);
      ec = xas.error();
    }
  }
  if (ec) {
    f->refcount.fetch_sub(1, std::memory_order_relaxed);
    f->mapping.store(nullptr, std::memory_order_relaxed);
    return ec;
  }
  m.nrpages.fetch_add(nr, std::memory_order_relaxed);
  return {};
}

std::error_code filemap_add_shadow(file_mapping &m, std::uint64_t index, std::uint64_t value) {
  std::lock_guard g(m.i_pages);
  xa_state xas(m.i_pages, index);
  if (xas.load()) return errc::busy;
  xas.set(index);
  cache_store(m, xas, make_value_entry(value));
  return xas.error();
}

void filemap_remove_folio(file_mapping &m, folio *f) {
  {
    std::lock_guard g(m.i_pages);
    xa_state xas(m.i_pages, f->index.load(std::memory_order_relaxed),
                 f->order.load(std::memory_order_relaxed));
    if (xas.load() != f) return;  // already gone
    cache_store(m, xas, nullptr);
    f->mapping.store(nullptr, std::memory_order_release);
  }
  m.nrpages.fetch_sub(f->nr_pages(), std::memory_order_relaxed);
  m.pool.put(f);
}

void *filemap_get_entry(file_mapping &m, std::uint64_t index) {
  rcu::read_guard rg;
  xa_state xas(m.i_pages, index);
  for (;;) {
    void *e = xas.load();
    if (xa_is_retry(e)) {
      xas.reset();
      continue;
    }
    if (!e || xa_is_zero(e)) return nullptr;
    if (take_reference(xas, e, m) == got::entry) return e;
  }
}

namespace {

// The common walk of find_get_entries / find_lock_entries.
unsigned find_entries(file_mapping &m, std::uint64_t &start, std::uint64_t end,
                      std::vector<void *> &batch, std::vector<std::uint64_t> &indices, unsigned max,
                      bool lock) {
  batch.clear();
  indices.clear();
  std::uint64_t next = start;
  {
    rcu::read_guard rg;
    xa_state xas(m.i_pages, start);
    for (void *e = xas.find(end); e; e = xas.find(end)) {
      if (xas.retry(e)) continue;
      if (take_reference(xas, e, m) == got::again) continue;
      const std::uint64_t at = xas.index();
      const unsigned order = xas.get_order();
      if (lock && !is_value_entry(e)) {
        folio *f = as_folio(e);
        if (m.before_lock) m.before_lock(f);
        if (!folio_trylock(f)) {
          m.pool.put(f);
          continue;
        }
        // Only now are mapping and index to be trusted (the 2021 fix):
        // skip a folio that left, moved, or sticks out of the range.
        const std::uint64_t first = f->index.load(std::memory_order_relaxed);
        if (f->mapping.load(std::memory_order_acquire) != &m || !folio_contains(f, at) ||
            first < start || first + (f->nr_pages() - 1) > end) {
          folio_unlock(f);
          m.pool.put(f);
          continue;
        }
      }
      batch.push_back(e);
      indices.push_back(at);
      const std::uint64_t size = std::uint64_t{1} << order;
      next = (at & ~(size - 1)) + size;
      if (batch.size() >= max) break;
    }
  }
  if (!batch.empty()) start = next;
  return static_cast<unsigned>(batch.size());
}

}  // namespace

unsigned find_get_entries(file_mapping &m, std::uint64_t &start, std::uint64_t end,
                          std::vector<void *> &batch, std::vector<std::uint64_t> &indices,
                          unsigned max) {
  return find_entries(m, start, end, batch, indices, max, false);
}

unsigned find_lock_entries(file_mapping &m, std::uint64_t &start, std::uint64_t end,
                           std::vector<void *> &batch, std::vector<std::uint64_t> &indices,
                           unsigned max) {
  return find_entries(m, start, end, batch, indices, max, true);
}

}  // namespace maple::pagecache
