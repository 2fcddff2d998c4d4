// truncate_inode_pages_range: pass 1 removes what it can lock without
// waiting; pass 2 waits for each remaining folio's lock and repeats until a
// pass over the range finds nothing.
#include <maple/entry.h>

#include <mutex>

#include "pagecache/page_cache.h"

namespace maple::pagecache {
namespace {

// Removes a value entry if the slot still holds it.
void remove_value(file_mapping &m, std::uint64_t index, void *value) {
  std::lock_guard g(m.i_pages);
  xa_state xas(m.i_pages, index);
  if (xas.load() != value) return;
  xas.set(index);
  xas.store(nullptr);
  if (m.on_store) m.on_store(index, 0, nullptr);
}

}  // namespace

void truncate_inode_pages_range(file_mapping &m, std::uint64_t lstart, std::uint64_t lend) {
  constexpr std::uint64_t page = std::uint64_t{1} << page_shift;
  const std::uint64_t start = (lstart >> page_shift) + ((lstart & (page - 1)) != 0);
  std::uint64_t end;
  if (lend == ~std::uint64_t{0}) {
    end = lend >> page_shift;
  } else {
    std::uint64_t pages = (lend + 1) >> page_shift;
    if (pages == 0) return;
    end = pages - 1;
  }
  if (start > end) return;

  std::vector<void *> batch;
  std::vector<std::uint64_t> indices;
  std::uint64_t index = start;
  while (index <= end && find_lock_entries(m, index, end, batch, indices) != 0) {
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (is_value_entry(batch[k])) {
        remove_value(m, indices[k], batch[k]);
        continue;
      }
      auto *f = static_cast<folio *>(batch[k]);
      filemap_remove_folio(m, f);
      folio_unlock(f);
      m.pool.put(f);
    }
  }

  index = start;
  while (index <= end) {
    if (find_get_entries(m, index, end, batch, indices) == 0) {
      if (index == start) break;  // all gone from start onwards
      index = start;              // else make sure all are gone
      continue;
    }
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (is_value_entry(batch[k])) {
        remove_value(m, indices[k], batch[k]);
        continue;
      }
      auto *f = static_cast<folio *>(batch[k]);
      folio_lock(f);
      // Under the lock: skip a folio that is gone or no longer holds the
      // index (collapse rolled back, or it moved), never assert it.
      if (f->mapping.load(std::memory_order_acquire) == &m && folio_contains(f, indices[k]))
        filemap_remove_folio(m, f);
      folio_unlock(f);
      m.pool.put(f);
    }
  }
}

}  // namespace maple::pagecache
