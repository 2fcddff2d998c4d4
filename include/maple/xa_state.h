// maple/xa_state.h - the XArray's advanced API: a cursor ("xa_state") that
// walks to an index once and then loads, stores, searches and steps from
// there, with the kernel's state machine (restart, bounds, walked, error).
//
// No locking is done for you: writes (store, marks, split) need the array's
// lock (`std::lock_guard g(xa);`); reads need that lock or a lockless read
// section, and lockless readers must handle retry entries (retry()).
// Errors live in the state: every operation is a no-op in an error state,
// so check error() once at the end. A store that runs out of memory leaves
// the array unchanged; nomem() then allocates outside the lock and says
// whether to retry:
//
//   maple::xa_state xas(xa, index);
//   do {
//     std::lock_guard g(xa);
//     xas.store(entry);
//   } while (xas.nomem());
//   if (auto ec = xas.error()) ...
#pragma once

#include <maple/xarray.h>

namespace maple {

class xa_state {
 public:
  /// A cursor at `index` for entries of 2^order indices (order <= 64; the
  /// index is aligned down to the order). It may read and write the array.
  xa_state(xarray &xa, std::uint64_t index, unsigned order = 0) noexcept;
  /// Frees any unused preallocated node.
  ~xa_state();
  xa_state(const xa_state &) = delete;
  xa_state &operator=(const xa_state &) = delete;

  // ---- position and state -------------------------------------------------
  std::uint64_t index() const noexcept { return index_; }
  unsigned order() const noexcept;
  /// Moves to `index` in the restart state (the next operation walks from the
  /// head); clears an error.
  void set(std::uint64_t index) noexcept;
  /// Moves to the aligned 2^order range holding `index`, in the restart state.
  void set_order(std::uint64_t index, unsigned order) noexcept;
  /// Restart state at the same index (after dropping a lockless read section).
  void reset() noexcept;
  /// Makes it safe to drop the lock or read section during an iteration:
  /// the next find/find_marked resumes after the current (whole) entry.
  void pause() noexcept;
  bool is_restart() const noexcept { return pos_ == pos::restart && err_ == errc::ok; }
  bool is_bounds() const noexcept { return pos_ == pos::bounds && err_ == errc::ok; }
  /// Walked to a slot (not restart, bounds or error).
  bool valid() const noexcept { return pos_ == pos::walked && err_ == errc::ok; }
  std::error_code error() const noexcept { return err_; }
  void set_error(errc e) noexcept { err_ = e; }
  /// True if `entry` is a retry entry (the state is reset to walk again) or a
  /// zero entry (skip it): loops `continue` on true.
  bool retry(const void *entry) noexcept;

  // ---- reads ------------------------------------------------------------
  /// Walks to the index and returns its word: may be an internal word (retry,
  /// zero; a node word for a multi-index state, which is not meaningful).
  void *load() noexcept;
  /// Re-reads the slot already walked to (re-validation of a lockless read).
  void *reload() noexcept;
  /// Restart state: the entry at the index if present, else the next present
  /// entry <= max; otherwise the next present entry after the current one.
  /// Sets index() to where it was found. nullptr when there is none.
  void *find(std::uint64_t max) noexcept;
  /// Likewise among entries carrying `mark`. From a restart state whose
  /// index lies in a marked multi-index entry: on one of its sibling slots
  /// the index moves to the entry's first index; on its own first slot the
  /// index is kept (as the kernel's xas_find_marked).
  void *find_marked(std::uint64_t max, xa_mark mark) noexcept;
  /// Steps exactly one index forward / backward (wrapping at the ends) and
  /// returns the word there. In a leaf the word may be a sibling word, which
  /// callers skip. From a restart state they load the current index.
  void *next() noexcept;
  void *prev() noexcept;
  /// Order of the entry the state is on (0 when none).
  unsigned get_order() noexcept;

  // ---- marks (lock held for set/clear) ------------------------------------
  bool get_mark(xa_mark mark) const noexcept;
  void set_mark(xa_mark mark) noexcept;
  void clear_mark(xa_mark mark) noexcept;
  /// Clears every mark of the entry (allocating arrays: marks it free).
  void init_marks() noexcept;

  // ---- writes (lock held) -------------------------------------------------
  /// Stores `entry` over the state's range (or the whole multi-index entry
  /// holding it); nullptr removes. Returns the previous word. Keeps the marks
  /// of what it replaces (merged onto the new entry); nullptr clears them.
  void *store(void *entry) noexcept;
  /// After a no_memory error from store(): allocates (outside the lock)
  /// as many nodes as the store can need, clears the error and returns true
  /// (retry). Otherwise frees any unused preallocation and returns false.
  /// (A failed store undoes its partial work, so unlike the kernel's one node
  /// per call, a retry needs its whole bound at once.)
  bool nomem() noexcept;
  /// Preallocates (outside the lock) the nodes split() needs to split an
  /// entry of `order` into entries of the state's order.
  void split_alloc(void *entry, unsigned order) noexcept;
  /// Replaces the multi-index entry of `order` holding the state's index by
  /// entries of the state's order, each equal to `entry` and carrying the
  /// old entry's marks. Errors: invalid_argument (no entry of that order
  /// there, or the state's order is not smaller), no_memory (unchanged).
  void split(void *entry, unsigned order) noexcept;

 private:
  friend struct detail::xa_impl;
  friend class xarray;
  /// A read-only state for the array's own const read calls: only the
  /// reads above may be used on it.
  xa_state(const xarray &xa, std::uint64_t index) noexcept;
  enum class pos : unsigned char { restart, bounds, walked };
  const xarray *xa_;                  // the array read
  xarray *writable_ = nullptr;        // the same array for writes (nullptr: read-only)
  detail::xa_node *node_ = nullptr;   // pos::walked: the node walked to (nullptr: the head)
  detail::xa_node *spare_ = nullptr;  // preallocated nodes (a chain)
  std::uint64_t index_ = 0;
  unsigned char shift_ = 0;   // the order's multiple of 6
  unsigned char sibs_ = 0;    // 2^(order % 6) - 1 (order 64: 15)
  unsigned char offset_ = 0;  // slot walked to
  pos pos_ = pos::restart;
  errc err_ = errc::ok;
};

}  // namespace maple
