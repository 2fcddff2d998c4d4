// maple/xarray.h - the XArray: a radix tree of 64-slot nodes mapping every
// 64-bit index to one pointer-sized entry, with the Linux kernel's semantics.
//
//  * every index holds nullptr until stored; storing nullptr erases;
//  * entries are pointers aligned to 4 bytes or value entries
//    (maple::make_value_entry); words whose low two bits are 0b10 are the
//    array's internal entries and are rejected with errc::invalid_argument;
//  * multi-index entries: one entry over an aligned range of 2^order indices
//    (order 0 .. 64). Loading any index of the range returns the entry;
//    storing to any index of it replaces the whole entry (keeping its order);
//    storing nullptr to any index of it removes the whole entry;
//  * three marks per entry (xa_mark), aggregated up the tree so that marked
//    searches skip unmarked subtrees;
//  * readers take no lock and never see a torn state: new nodes are filled
//    before one release store publishes them, entries change by single-word
//    stores and removed nodes are retired, not freed, while readers may still
//    hold them (maple::rcu; docs/xarray.md). Writers serialise on the
//    array's lock, taken inside each normal-API call; a writer must not hold
//    a maple::rcu::read_guard. Nodes a write removes are freed after a grace
//    period: before destroying a custom memory resource, destroy its arrays
//    and call maple::rcu::barrier();
//  * on any error the array is unchanged.
//
// The advanced API (a cursor over the same engine) is in maple/xa_state.h.
#pragma once

#include <maple/detail/tree_types.h>
#include <maple/entry.h>
#include <maple/error.h>
#include <maple/rcu.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory_resource>
#include <mutex>
#include <span>
#include <string>

namespace maple {

class xa_state;
namespace detail {
struct xa_node;
struct xa_impl;
}  // namespace detail

/// The three search marks of every entry (the kernel's XA_MARK_0..2).
enum class xa_mark : unsigned { mark0 = 0, mark1 = 1, mark2 = 2 };
inline constexpr unsigned xa_max_marks = 3;

/// Inclusive bounds for alloc() / alloc_cyclic().
struct xa_limit {
  std::uint64_t min = 0;
  std::uint64_t max = 0;
};
inline constexpr xa_limit xa_limit_32b{0, 0xffffffffu};
inline constexpr xa_limit xa_limit_31b{0, 0x7fffffffu};
inline constexpr xa_limit xa_limit_16b{0, 0xffffu};

/// Array flags.
enum class xa_flags : unsigned {
  none = 0,
  alloc = 1,   ///< an allocating array: tracks free indices (uses mark0 for it)
  alloc1 = 3,  ///< an allocating array whose IDs start at 1
};

// ---- entry words ------------------------------------------------------------
// Internal entries are (v << 2) | 2. Users never store them; the advanced API
// can return them (retry, zero and sibling words).

/// True for every internal word (never storable).
inline bool xa_is_internal(const void *e) noexcept {
  return (reinterpret_cast<std::uintptr_t>(e) & 3) == 2;
}
/// The retry entry: the slot is being changed; a lockless reader restarts.
inline void *xa_retry_entry() noexcept { return reinterpret_cast<void *>(std::uintptr_t{1026}); }
/// The zero entry: reads as nullptr but keeps the index occupied (reserve).
inline void *xa_zero_entry() noexcept { return reinterpret_cast<void *>(std::uintptr_t{1030}); }
inline bool xa_is_retry(const void *e) noexcept { return e == xa_retry_entry(); }
inline bool xa_is_zero(const void *e) noexcept { return e == xa_zero_entry(); }
/// A sibling word: part of a multi-index entry whose first slot is elsewhere.
inline bool xa_is_sibling(const void *e) noexcept {
  auto w = reinterpret_cast<std::uintptr_t>(e);
  return (w & 3) == 2 && (w >> 2) < 63;
}

/// Shape and memory figures of an XArray.
struct xa_stats {
  unsigned height = 0;      ///< levels of nodes (0: empty or an entry in the head)
  std::size_t nodes = 0;    ///< nodes reachable from the head
  std::size_t entries = 0;  ///< non-null entries (a multi-index entry counts once)
  std::size_t bytes = 0;    ///< node memory owned by the array
};

/// An entry found by iteration: its first index (or the index searched from,
/// when the search started inside a multi-index entry) and the entry.
struct xa_item {
  std::uint64_t index = 0;
  void *entry = nullptr;
};

class xarray {
 public:
  /// An empty array whose nodes come from `mr` (default: the library's node
  /// allocator). The resource must outlive the array and the deferred frees
  /// of its retired nodes (maple::rcu::barrier()).
  explicit xarray(xa_flags flags = xa_flags::none,
                  std::pmr::memory_resource *mr = nullptr) noexcept;
  explicit xarray(std::pmr::memory_resource *mr) noexcept : xarray(xa_flags::none, mr) {}
  ~xarray();
  xarray(const xarray &) = delete;
  xarray &operator=(const xarray &) = delete;
  /// Takes other's entries, marks, flags and memory resource; other is left
  /// empty and usable, with its own flags and resource. Moving (swapping,
  /// assigning to) an array that a reader, iterator, xa_state or writer is
  /// using, or whose lock is held, is the caller's error. The lock is not
  /// moved (each object keeps its own).
  xarray(xarray &&other) noexcept;
  /// Frees this array's nodes, then as the move constructor.
  xarray &operator=(xarray &&other) noexcept;
  /// Exchanges everything but the locks (same rules as moving).
  void swap(xarray &other) noexcept;
  friend void swap(xarray &a, xarray &b) noexcept { a.swap(b); }

  // ---- reads (lock-free) -------------------------------------------------

  /// The entry at `index` (multi-index aware); nullptr for empty or reserved.
  void *load(std::uint64_t index) const noexcept;
  /// True if no index holds anything (reserved indices count as held).
  bool empty() const noexcept;
  /// True if some entry carries `mark`.
  bool marked(xa_mark mark) const noexcept;
  bool get_mark(std::uint64_t index, xa_mark mark) const noexcept;
  /// Order of the entry covering `index` (0 when none).
  unsigned get_order(std::uint64_t index) const noexcept;

  /// The first present entry at an index >= `index` and <= `max`; sets
  /// `index` to where it was found (the first index of the entry, or `index`
  /// itself if that lies inside it). nullptr when none (index unchanged).
  void *find(std::uint64_t &index, std::uint64_t max = ~std::uint64_t{0}) const noexcept;
  /// Likewise among entries carrying `mark`, with one difference, as the
  /// kernel's xa_find with a mark filter: when `index` lies inside a marked
  /// multi-index entry, `index` moves to the entry's first index (below the
  /// `index` passed in; see xa_state::find_marked).
  void *find(std::uint64_t &index, std::uint64_t max, xa_mark mark) const noexcept;
  /// The first present entry strictly after the entry holding `index` (the
  /// rest of a multi-index entry holding it is skipped).
  void *find_after(std::uint64_t &index, std::uint64_t max = ~std::uint64_t{0}) const noexcept;
  void *find_after(std::uint64_t &index, std::uint64_t max, xa_mark mark) const noexcept;

  /// Copies up to dst.size() present (or marked) entries of [start, max]
  /// into dst; returns how many.
  std::size_t extract(std::span<void *> dst, std::uint64_t start, std::uint64_t max) const noexcept;
  std::size_t extract(std::span<void *> dst, std::uint64_t start, std::uint64_t max,
                      xa_mark mark) const noexcept;

  /// Forward iteration over present (optionally marked) entries of
  /// [start, max], each multi-index entry once. Every step is a fresh
  /// lock-free search, so writes may run beside an iteration.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = xa_item;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    xa_item operator*() const noexcept { return cur_; }
    const xa_item *operator->() const noexcept { return &cur_; }
    iterator &operator++() noexcept;
    void operator++(int) noexcept { ++*this; }
    friend bool operator==(const iterator &a, const iterator &b) noexcept {
      return a.done_ == b.done_ && (a.done_ || a.cur_.index == b.cur_.index);
    }

   private:
    friend class xarray;
    const xarray *xa_ = nullptr;
    xa_item cur_{};
    std::uint64_t max_ = 0;
    int mark_ = -1;
    bool done_ = true;
  };
  class range {
   public:
    iterator begin() const noexcept;
    iterator end() const noexcept { return {}; }

   private:
    friend class xarray;
    const xarray *xa_ = nullptr;
    std::uint64_t start_ = 0, max_ = 0;
    int mark_ = -1;
  };
  range entries(std::uint64_t start = 0, std::uint64_t max = ~std::uint64_t{0}) const noexcept;
  range marked_entries(xa_mark mark, std::uint64_t start = 0,
                       std::uint64_t max = ~std::uint64_t{0}) const noexcept;

  // ---- writes (take the array's lock) -----------------------------------

  /// Stores `entry` at `index` (replacing the whole multi-index entry that
  /// holds it, if any); nullptr erases (in an allocating array it keeps the
  /// index allocated). `old`, if given, receives the previous entry.
  /// Errors: invalid_argument (internal word), no_memory.
  std::error_code store(std::uint64_t index, void *entry, void **old = nullptr);
  /// Stores one multi-index entry over the aligned 2^order range holding
  /// `index` (order <= 64), replacing everything inside it.
  std::error_code store_order(std::uint64_t index, unsigned order, void *entry,
                              void **old = nullptr);
  /// Removes the entry holding `index`; returns it. Never allocates.
  void *erase(std::uint64_t index) noexcept;
  /// Stores only if every index of the range is empty: busy otherwise
  /// (reserved indices count as occupied). nullptr entries reserve.
  std::error_code insert(std::uint64_t index, void *entry, unsigned order = 0);
  /// Stores `desired` iff the entry at `index` is `expected` (a reserved
  /// index matches nullptr). `current` receives the entry found, so the
  /// exchange happened iff *current == expected.
  std::error_code cmpxchg(std::uint64_t index, void *expected, void *desired,
                          void **current = nullptr);
  /// Reserves an empty index: loads still see nullptr, insert() fails with
  /// busy and a later store needs no allocation. No-op if occupied.
  std::error_code reserve(std::uint64_t index);
  /// Removes a reservation (only if the index is still reserved).
  void release(std::uint64_t index) noexcept;

  /// Allocating arrays: stores `entry` (nullptr = reserve) at the lowest free
  /// index in [limit.min, limit.max] and reports it in `id`.
  /// Errors: invalid_argument (not an allocating array, internal word),
  /// busy (no free index), no_memory.
  std::error_code alloc(void *entry, xa_limit limit, std::uint64_t &id);
  /// Like alloc(), searching from `next` first and wrapping to limit.min;
  /// sets next = id + 1. `wrapped` is true when the search wrapped or the
  /// previous call's next overflowed to 0 (the kernel's return value 1).
  std::error_code alloc_cyclic(void *entry, xa_limit limit, std::uint64_t &next, std::uint64_t &id,
                               bool *wrapped = nullptr);

  /// Marks the entry holding `index`. Errors: invalid_argument (mark0 of an
  /// allocating array, which tracks free indices). No-op on an empty index.
  std::error_code set_mark(std::uint64_t index, xa_mark mark) noexcept;
  void clear_mark(std::uint64_t index, xa_mark mark) noexcept;

  /// Removes every entry and retires every node (the kernel's xa_destroy).
  void clear() noexcept;

  // ---- the lock, for the advanced API (BasicLockable) --------------------
  // unlock() hands the nodes the writes under the lock retired to one
  // deferred free (maple::rcu::retire_list): the calling thread must not be
  // inside a read section.
  void lock() { lock_.lock(); }
  void unlock() noexcept {
    retired_.submit();
    lock_.unlock();
  }
  bool try_lock() { return lock_.try_lock(); }

  // ---- checking ---------------------------------------------------------
  /// Checks every structural invariant (counts, parent links, sibling
  /// words, mark aggregation, free tracking, minimal height); reports the
  /// first violation. Run it with no writer beside it.
  check_report validate() const;
  xa_stats stats() const;
  bool is_alloc() const noexcept { return (static_cast<unsigned>(flags_) & 1) != 0; }

 private:
  friend class xa_state;
  friend struct detail::xa_impl;
  void take_contents(xarray &other) noexcept;  // other's entries and marks; other empty
  std::atomic<std::uintptr_t> head_{0};        // nullptr, an entry at index 0, or a node word
  std::atomic<unsigned> root_marks_{0};        // bit m: some entry carries mark m
  xa_flags flags_;
  bool cyclic_wrapped_ = false;  // alloc_cyclic's next overflowed to 0
  rcu::retire_list retired_;     // nodes unlinked under the lock, freed after a grace period
  std::pmr::memory_resource *mr_;
  mutable std::mutex lock_;
};

}  // namespace maple
