// khugepaged's collapse_file (the 2023 form): scan [start, start + 512),
// filling holes with the new, locked order-9 folio and isolating each small
// folio (locked, refcount frozen); then one order-9 store commits, or the
// hole fills are removed and the small folios released (rollback).
#include <maple/entry.h>

#include <mutex>

#include "pagecache/page_cache.h"

namespace maple::pagecache {
namespace {

void report(file_mapping &m, const xa_state &xas, void *entry) {
  if (m.on_store) m.on_store(xas.index(), xas.order(), entry);
}

}  // namespace

collapse_result collapse_file(file_mapping &m, std::uint64_t start, bool inject_rollback,
                              unsigned max_none) {
  if (start & (hpage_nr - 1)) return collapse_result::failed;
  folio *nf = m.pool.alloc(hpage_order);
  nf->index.store(start, std::memory_order_relaxed);
  folio_trylock(nf);  // fresh: cannot fail
  nf->mapping.store(&m, std::memory_order_relaxed);
  nf->refcount.fetch_add(1, std::memory_order_release);  // the cache's reference

  std::vector<folio *> isolated;
  std::vector<std::uint64_t> filled;
  bool ok = true;
  for (std::uint64_t i = start; ok && i < start + hpage_nr; ++i) {
    std::lock_guard g(m.i_pages);
    xa_state xas(m.i_pages, i);
    void *e = xas.load();
    if (!e) {
      if (filled.size() >= max_none) {  // khugepaged's max_ptes_none
        ok = false;
        break;
      }
      xas.set(i);
      xas.store(nf);
      if (xas.error()) {
        ok = false;
      } else {
        report(m, xas, nf);
        filled.push_back(i);
      }
      continue;
    }
    if (is_value_entry(e)) {
      ok = false;
      break;
    }
    auto *f = static_cast<folio *>(e);
    if (f->order.load(std::memory_order_relaxed) != 0 || !folio_trylock(f)) {
      ok = false;
      break;
    }
    // Under the folio lock and i_pages lock its identity is stable.
    if (f->mapping.load(std::memory_order_relaxed) != &m ||
        f->index.load(std::memory_order_relaxed) != i || !folio_ref_freeze(f, 1)) {
      folio_unlock(f);  // someone else holds a reference
      ok = false;
      break;
    }
    isolated.push_back(f);
  }

  if (ok && !inject_rollback) {
    std::lock_guard g(m.i_pages);
    xa_state xas(m.i_pages, start, hpage_order);
    xas.store(nf);  // replaces the 512 entries at once
    if (xas.error()) {
      ok = false;
    } else {
      report(m, xas, nf);
      m.nrpages.fetch_add(filled.size(), std::memory_order_relaxed);
    }
  }

  if (!ok || inject_rollback) {
    {
      std::lock_guard g(m.i_pages);
      for (std::uint64_t i : filled) {
        xa_state xas(m.i_pages, i);
        if (xas.load() != nf) continue;
        xas.set(i);
        xas.store(nullptr);
        report(m, xas, nullptr);
      }
    }
    for (folio *f : isolated) {
      folio_ref_unfreeze(f, 1);
      folio_unlock(f);
    }
    nf->mapping.store(nullptr, std::memory_order_release);
    folio_unlock(nf);
    m.pool.put(nf);  // the cache's reference
    m.pool.put(nf);  // ours
    return ok ? collapse_result::rolled_back : collapse_result::failed;
  }

  for (folio *f : isolated) {
    f->mapping.store(nullptr, std::memory_order_release);
    folio_unlock(f);
    m.pool.free_frozen(f);
  }
  nf->uptodate.store(true, std::memory_order_release);
  folio_unlock(nf);
  m.pool.put(nf);  // ours; the cache keeps its own
  return collapse_result::collapsed;
}

}  // namespace maple::pagecache
