// A model of the Linux page cache index on the XArray: folios of any order
// in one XArray per file mapping, the lockless lookups (filemap_get_entry,
// find_get_entries, find_lock_entries), truncate_inode_pages_range with its
// two passes, and khugepaged's collapse of 512 small folios into one order-9
// folio, which can roll back (reference xarray.md sections 7-8).
//
// Rules it follows (the 2021 truncate-vs-collapse thread): a lockless lookup
// may return a folio whose index or mapping no longer match the slot; only
// after taking the folio lock are `mapping` and `index` trusted, and a
// mismatch is skipped, never asserted.
//
// Folio memory is type-stable like struct page: a freed folio goes back to
// its pool and may be reused for another index at once; lookups protect
// themselves with folio_try_get (fails on a zero refcount), re-validation of
// the slot, and the post-lock checks.
#pragma once

#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

namespace maple::pagecache {

inline constexpr unsigned page_shift = 12;
inline constexpr unsigned hpage_order = 9;  // 2 MiB with 4 KiB pages
inline constexpr std::uint64_t hpage_nr = std::uint64_t{1} << hpage_order;

struct file_mapping;

struct alignas(8) folio {
  std::atomic<std::uint64_t> index{0};           // first page index; trusted only under the lock
  std::atomic<unsigned> order{0};                // set while the folio is free
  std::atomic<file_mapping *> mapping{nullptr};  // nullptr once removed
  std::atomic<int> refcount{0};                  // 0: free or frozen
  std::atomic<bool> locked{false};
  std::atomic<bool> uptodate{false};
  std::atomic<bool> free{true};  // in its pool's free list
  std::uint64_t nr_pages() const noexcept {
    return std::uint64_t{1} << order.load(std::memory_order_relaxed);
  }
};

/// folio_contains: i lies in [folio->index, folio->index + nr_pages).
bool folio_contains(const folio *f, std::uint64_t i) noexcept;
bool folio_trylock(folio *f) noexcept;
void folio_lock(folio *f) noexcept;  // spins (yielding) until it holds the lock
void folio_unlock(folio *f) noexcept;
/// Takes a reference unless the count is 0 (free or frozen).
bool folio_try_get(folio *f) noexcept;
/// Sets the count from `expected` to 0 (collapse isolates a folio so).
bool folio_ref_freeze(folio *f, int expected) noexcept;
void folio_ref_unfreeze(folio *f, int count) noexcept;

/// Type-stable folio storage with a free list and double-free detection.
class folio_pool {
 public:
  /// A free folio of `order`: refcount 1, unlocked, not uptodate, no mapping.
  folio *alloc(unsigned order);
  /// Drops a reference; at 0 the folio returns to the pool.
  void put(folio *f) noexcept;
  /// Returns a folio whose count is already 0 (frozen) to the pool.
  void free_frozen(folio *f) noexcept;
  std::size_t in_use() const noexcept { return in_use_.load(); }
  std::size_t double_frees() const noexcept { return double_frees_.load(); }
  std::size_t created() const;

 private:
  void release(folio *f) noexcept;
  mutable std::mutex m_;
  std::deque<std::unique_ptr<folio>> all_;
  std::vector<folio *> free_;
  std::atomic<std::size_t> in_use_{0};
  std::atomic<std::size_t> double_frees_{0};
};

/// One file's page cache.
struct file_mapping {
  explicit file_mapping(folio_pool &p) : pool(p) {}
  xarray i_pages;
  folio_pool &pool;
  std::atomic<std::uint64_t> nrpages{0};
  /// Called under the i_pages lock for every store (index, order, entry):
  /// the concurrency test replays these on a sequential model.
  std::function<void(std::uint64_t, unsigned, void *)> on_store;
  /// Test hook: runs in find_lock_entries between taking a reference and
  /// trying the folio lock (where the 2021 race lived).
  std::function<void(folio *)> before_lock;
};

/// Inserts a folio (order f->order) at its aligned `index`, replacing at
/// most a shadow value entry there; the cache takes a reference. Errors:
/// invalid_argument (misaligned), busy (occupied), no_memory.
std::error_code filemap_add_folio(file_mapping &m, folio *f, std::uint64_t index);
/// Stores a shadow (value) entry into an empty index.
std::error_code filemap_add_shadow(file_mapping &m, std::uint64_t index, std::uint64_t value);
/// Removes a locked folio from the cache (if it is still there) and drops
/// the cache's reference. The caller keeps its own reference and lock.
void filemap_remove_folio(file_mapping &m, folio *f);

/// The folio (referenced), value entry, or nullptr at index. Lockless.
void *filemap_get_entry(file_mapping &m, std::uint64_t index);

/// Present entries of [start, end]: folios referenced, value entries as
/// is; indices[k] is where entry k was found. Advances start past the last
/// entry. At most `max` entries.
unsigned find_get_entries(file_mapping &m, std::uint64_t &start, std::uint64_t end,
                          std::vector<void *> &batch, std::vector<std::uint64_t> &indices,
                          unsigned max = 15);
/// Like find_get_entries, but folios are returned locked and only if,
/// checked under their lock, they still belong to `m`, contain the index
/// they were found at and lie wholly inside [start, end].
unsigned find_lock_entries(file_mapping &m, std::uint64_t &start, std::uint64_t end,
                           std::vector<void *> &batch, std::vector<std::uint64_t> &indices,
                           unsigned max = 15);

/// Removes every page of bytes [lstart, lend] (lend inclusive; ~0 = to EOF)
/// in two passes; partial pages at the byte edges stay. A large folio that
/// overlaps the range is evicted whole (the kernel first tries to split it).
void truncate_inode_pages_range(file_mapping &m, std::uint64_t lstart, std::uint64_t lend);

enum class collapse_result { collapsed, rolled_back, failed };
/// Replaces the small folios of [start, start + 512) (start aligned) by one
/// order-9 folio, filling holes with the new (locked) folio while it scans
/// (the 2023 algorithm); any obstacle (a value entry, a large, locked or
/// referenced folio, more than `max_none` holes), or `inject_rollback`,
/// undoes it.
collapse_result collapse_file(file_mapping &m, std::uint64_t start, bool inject_rollback,
                              unsigned max_none = hpage_nr - 1);

}  // namespace maple::pagecache
