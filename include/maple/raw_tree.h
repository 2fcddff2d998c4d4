// maple/raw_tree.h - the untyped maple tree: a B-tree of non-overlapping
// 64-bit ranges [first, last] mapped to pointer-sized entries.
//
// This is the engine compiled once into the library (entries as words);
// maple/tree.h puts a typed facade over it. The node geometry (slots per
// node) is a template parameter so that the test suite can also run the
// whole engine with tiny nodes; the library ships basic_raw_tree<16>
// (256-byte nodes), aliased as maple::raw_tree.
//
// Semantics (those of the Linux kernel's maple tree):
//  * every index 0 .. 2^64-1 reads as empty (nullptr) until stored;
//  * store() overwrites whatever the range spans, trimming partial overlaps;
//  * storing nullptr erases; adjacent empty ranges coalesce, adjacent equal
//    entries do not (a range is exactly what was stored);
//  * writers serialise on the tree's own lock, taken inside each call, or
//    on a lock the user owns and takes around them (set_external_lock());
//  * reads take no lock: without RCU mode a read must not run concurrently
//    with a write.
#pragma once

#include <maple/detail/tree_core.h>
#include <maple/detail/tree_types.h>
#include <maple/entry.h>
#include <maple/error.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace maple {

namespace detail {
struct tree_access;
/// Base of the views whose iterators outlive them: they model
/// std::ranges::borrowed_range (see the end of this header).
struct borrowed_view_tag {};
}  // namespace detail
template <unsigned Slots>
class basic_cursor;
template <unsigned Slots>
class basic_write_cursor;
template <unsigned Slots>
class basic_write_guard;

/// A callable usable as dup()'s transform: void *(void *entry).
template <class F>
concept entry_transform_callable = std::is_invocable_r_v<void *, F &, void *>;

template <unsigned Slots>
class basic_raw_tree {
  static_assert(Slots >= 4 && Slots <= 64, "node slot count out of range");

 public:
  /// Slots per node (pivots per node: Slots - 1).
  static constexpr unsigned slots = Slots;

  /// An empty tree whose nodes come from `mr` (default: the library's node
  /// allocator). The resource must outlive the tree.
  explicit basic_raw_tree(std::pmr::memory_resource *mr = nullptr) noexcept;
  /// An empty tree with creation flags (tree_flags::alloc: gap tracking).
  explicit basic_raw_tree(tree_flags flags, std::pmr::memory_resource *mr = nullptr) noexcept;
  ~basic_raw_tree();
  basic_raw_tree(const basic_raw_tree &) = delete;
  basic_raw_tree &operator=(const basic_raw_tree &) = delete;
  /// Takes other's ranges, flags, RCU mode, memory resource and lock
  /// setting; other is left empty and usable, with its own flags, resource
  /// and lock setting. Moving (or swapping, or assigning to) a tree that a
  /// reader, iterator, cursor, guard or writer is using is the caller's
  /// error: those keep pointing at the old object. The tree's mutex is not
  /// moved (each object keeps its own); no lock is taken.
  basic_raw_tree(basic_raw_tree &&other) noexcept;
  /// Frees this tree's ranges (after a grace period in RCU mode), then as
  /// the move constructor.
  basic_raw_tree &operator=(basic_raw_tree &&other) noexcept;
  /// Exchanges everything but the mutexes (same rules as moving).
  void swap(basic_raw_tree &other) noexcept;
  friend void swap(basic_raw_tree &a, basic_raw_tree &b) noexcept { a.swap(b); }

  // ---- reads (no lock) ------------------------------------------------

  /// The entry covering `index`, or nullptr.
  void *load(std::uint64_t index) const noexcept;

  /// The range holding `index`, empty ranges included (entry == nullptr
  /// then, with the full extent of the empty range).
  range_entry lookup(std::uint64_t index) const noexcept;

  /// The first stored range intersecting [index, max], if any.
  std::optional<range_entry> find(std::uint64_t index,
                                  std::uint64_t max = max_index) const noexcept;
  /// The first stored range lying wholly after the range (stored or empty)
  /// that holds `index`, and starting at or before `max`: the continuation
  /// of find() after it returned a range holding index.
  std::optional<range_entry> find_after(std::uint64_t index,
                                        std::uint64_t max = max_index) const noexcept;
  /// The last stored range intersecting [min, index], if any.
  std::optional<range_entry> find_rev(std::uint64_t index, std::uint64_t min = 0) const noexcept;

  /// True if nothing is stored.
  bool empty() const noexcept;

  // ---- writes (take the tree's lock) -----------------------------------
  // Each write below takes the tree's own mutex for its duration, unless
  // the tree uses an external lock (set_external_lock()): then the caller
  // must hold that lock, and checked builds abort if held() says otherwise.

  /// Stores `entry` over [first, last], overwriting and trimming whatever
  /// the range spans. nullptr erases. Errors: invalid_argument (first >
  /// last, reserved entry), no_memory. On error nothing changed.
  std::error_code store(std::uint64_t first, std::uint64_t last, void *entry);
  std::error_code store(std::uint64_t index, void *entry) { return store(index, index, entry); }

  /// Like store(), but fails with errc::exists if any index of the range
  /// is occupied. A nullptr entry is invalid_argument.
  std::error_code insert(std::uint64_t first, std::uint64_t last, void *entry);
  std::error_code insert(std::uint64_t index, void *entry) { return insert(index, index, entry); }

  /// Removes the whole range holding `index`; `*old` (if given) receives
  /// its entry (nullptr when none). Merging the freed range with its
  /// neighbours may need a new node: if that allocation fails, nothing is
  /// erased, `*old` is nullptr and the error is errc::no_memory.
  std::error_code erase(std::uint64_t index, void **old = nullptr) noexcept;

  /// Removes everything; O(nodes). (The destructor frees the nodes without
  /// taking or asserting any lock: no write may run beside it anyway.)
  void clear() noexcept;

  // ---- duplication (src/engine/dup.h) ---------------------------------------

  /// Maps a source entry to the copy's entry in dup() (maple::entry_transform).
  using entry_transform = maple::entry_transform;

  /// Makes `dst` a node-for-node copy of this tree in one depth-first pass,
  /// O(nodes) (the kernel's mtree_dup, used by fork). `dst` must be empty,
  /// another tree, and have the same flags(); it may use another memory
  /// resource. The copy is built aside and published whole: a reader of
  /// `dst` sees it empty or complete. Errors: invalid_argument (dst not
  /// empty, the same tree, different flags), no_memory; on error `dst` is
  /// left empty and every node allocated for the copy is freed. Takes both
  /// trees' locks (internal ones; see below for external locks).
  std::error_code dup(basic_raw_tree &dst) const { return dup(dst, nullptr, nullptr); }
  /// As dup(dst), with each stored entry replaced by fn(context, entry):
  /// fork's "the child's copy of each VMA". Entries mapped to nullptr are
  /// erased from the copy afterwards (that may need nodes: no_memory then
  /// also leaves `dst` empty). If fn throws, `dst` is left empty and the
  /// exception propagates. fn runs with both locks held. A tree with an
  /// external lock is not locked here: the caller holds that lock (checked
  /// builds assert it); only the internal mutexes are taken.
  std::error_code dup(basic_raw_tree &dst, entry_transform fn, void *context) const;
  /// The same with any callable void *(void *).
  template <entry_transform_callable F>
  std::error_code dup(basic_raw_tree &dst, F &&transform) const {
    using Fn = std::remove_reference_t<F>;
    Fn *fn = std::addressof(transform);  // passed by the address of this pointer
    return dup(
        dst, [](void *ctx, void *e) -> void * { return (**static_cast<Fn **>(ctx))(e); },
        static_cast<void *>(&fn));
  }

  /// Builds the contents of an empty tree from ranges sorted by index and
  /// not overlapping, in one pass with full leaves: much faster than
  /// storing them one by one. A nullptr entry marks an empty range: it is
  /// not stored, but it obeys the same order and overlap rules as the
  /// others. Errors: invalid_argument (tree not empty, unsorted or
  /// overlapping input, first > last, reserved entry), no_memory; the tree
  /// is unchanged then.
  std::error_code bulk_load(std::span<const range_entry> ranges);

  // ---- free ranges (gap search and allocation) ----------------------------
  // Semantics of the kernel's mas_empty_area / mtree_alloc_range family.
  // An allocation tree (tree_flags::alloc) descends by its gap records in
  // O(log n); other trees scan the leaves between the limits (O(ranges
  // scanned)).

  /// The lowest empty window [start, start + size - 1] inside [min, max].
  /// Errors: invalid_argument (size 0, min > max, max - min < size - 1),
  /// busy (no empty range fits).
  std::error_code empty_area(std::uint64_t min, std::uint64_t max, std::uint64_t size,
                             std::uint64_t &start) const noexcept;
  /// The highest such window.
  std::error_code empty_area_rev(std::uint64_t min, std::uint64_t max, std::uint64_t size,
                                 std::uint64_t &start) const noexcept;
  /// Stores entry in the lowest / highest fitting window and reports where.
  /// Errors: as empty_area, plus invalid_argument for nullptr or reserved
  /// entries, and no_memory.
  std::error_code alloc_range(void *entry, std::uint64_t size, std::uint64_t min, std::uint64_t max,
                              std::uint64_t &start);
  std::error_code alloc_rrange(void *entry, std::uint64_t size, std::uint64_t min,
                               std::uint64_t max, std::uint64_t &start);
  /// Stores entry at one free index, searching [max(min, next), max] first
  /// and then wrapping to [min, max]; sets start, and next = start + 1 (0
  /// after max_index). `wrapped` is true when the search wrapped, or when
  /// the previous call's next overflowed to 0 (the kernel's
  /// mtree_alloc_cyclic returning 1). Errors: invalid_argument, busy,
  /// no_memory.
  std::error_code alloc_cyclic(void *entry, std::uint64_t min, std::uint64_t max,
                               std::uint64_t &next, std::uint64_t &start, bool &wrapped);

  // ---- iteration ---------------------------------------------------------

  /// Bidirectional iterator over the stored ranges of [lo, hi] in index
  /// order (each yielded range intersects [lo, hi]; it is reported whole).
  /// Invalidated by any write to the tree, except in RCU mode inside a read
  /// section (see "RCU mode" below).
  class iterator {
   public:
    using iterator_concept = std::bidirectional_iterator_tag;
    // Dereferencing yields a value (no stashed reference can dangle in a
    // reverse_iterator); the legacy category still allows std::prev.
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = range_entry;
    using difference_type = std::ptrdiff_t;
    using reference = range_entry;

    iterator() = default;
    range_entry operator*() const noexcept { return cur_; }
    /// The current range (valid until the iterator moves).
    const range_entry *operator->() const noexcept { return &cur_; }
    iterator &operator++() noexcept {
      // Inline fast path: the next stored range is in the same leaf. The
      // members are read into locals first: each acquire load would
      // otherwise make the compiler read them again. pivots_ is null at
      // the end and on the root entry.
      const std::uint64_t *pivots = pivots_;
      if (pivots != nullptr) {
        const std::uintptr_t *slots = slots_;
        const unsigned end = end_;
        unsigned off = offset_;
        while (off < end) {
          ++off;
          std::uintptr_t w = __atomic_load_n(&slots[off], __ATOMIC_ACQUIRE);
          if (w == 0) continue;
          std::uint64_t first = __atomic_load_n(&pivots[off - 1], __ATOMIC_RELAXED) + 1;
          if (first > hi_) break;
          offset_ = off;
          cur_ = {first, off < end ? __atomic_load_n(&pivots[off], __ATOMIC_RELAXED) : leaf_max_,
                  reinterpret_cast<void *>(w)};
          return *this;
        }
      }
      return next_leaf();
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++*this;
      return t;
    }
    iterator &operator--() noexcept;
    iterator operator--(int) noexcept {
      iterator t = *this;
      --*this;
      return t;
    }
    friend bool operator==(const iterator &a, const iterator &b) noexcept {
      return a.at_end_ == b.at_end_ && (a.at_end_ || a.cur_.first == b.cur_.first);
    }

   private:
    friend class basic_raw_tree;
    template <class Pos>
    void set_position(const Pos &p) noexcept;
    iterator &next_leaf() noexcept;
    iterator &step_to_root_entry() noexcept;
    /// Becomes end(); pivots_ null too, so that ++'s fast path tests one word.
    iterator &to_end() noexcept {
      at_end_ = true;
      pivots_ = nullptr;
      return *this;
    }
    const detail::tree_core *core_ = nullptr;
    const std::uint64_t *pivots_ = nullptr;  // of leaf_ (nullptr: root entry, end)
    const std::uintptr_t *slots_ = nullptr;
    std::uint64_t lo_ = 0, hi_ = 0;  // iteration bounds
    range_entry cur_{};
    const void *leaf_ = nullptr;  // leaf holding cur_ (nullptr: root entry)
    std::uint64_t leaf_min_ = 0, leaf_max_ = 0;
    unsigned offset_ = 0;  // slot of cur_ in leaf_
    unsigned end_ = 0;     // data end of leaf_
    bool at_end_ = true;
  };

  /// A range of the stored entries intersecting [lo, hi]: a
  /// std::ranges::view (a copy is O(1)) and a borrowed range (its
  /// iterators point into the tree, not into the view).
  class range_view : public std::ranges::view_base, public detail::borrowed_view_tag {
   public:
    iterator begin() const noexcept;
    iterator end() const noexcept;

   private:
    friend class basic_raw_tree;
    range_view(const basic_raw_tree *t, std::uint64_t lo, std::uint64_t hi) noexcept
        : t_(t), lo_(lo), hi_(hi) {}
    const basic_raw_tree *t_;
    std::uint64_t lo_, hi_;
  };
  static_assert(std::bidirectional_iterator<iterator>);

  range_view ranges(std::uint64_t lo = 0, std::uint64_t hi = max_index) const noexcept {
    return range_view(this, lo, hi);
  }
  iterator begin() const noexcept { return ranges().begin(); }
  iterator end() const noexcept { return ranges().end(); }

  // ---- checking and inspection -----------------------------------------
  // Reads like load(): no lock is taken, so they can run under a write
  // guard; without RCU mode they must not run beside a writer.

  /// Checks every structural invariant; reports the first violation.
  check_report validate() const;
  /// Text dump in the kernel's mt_dump layout.
  void dump(std::ostream &os, dump_format fmt = dump_format::hex) const;
  /// Graphviz DOT rendering of the node structure.
  void dump_dot(std::ostream &os) const;
  /// Node and memory figures (walks the whole tree).
  tree_stats stats() const;
  /// Tree height (0: no node).
  unsigned height() const noexcept { return core_.height; }
  /// The creation flags.
  tree_flags flags() const noexcept { return core_.flags; }
  /// True for an allocation tree (tree_flags::alloc).
  bool tracks_gaps() const noexcept { return core_.tracks_gaps(); }

  // ---- RCU mode ----------------------------------------------------------
  // In RCU mode readers run beside a writer without any lock (the kernel's
  // MT_FLAGS_USE_RCU): writers never change a node a reader may be reading
  // except by single-word stores that keep every state consistent; new nodes
  // are built aside and published with one store; replaced nodes are marked
  // dead and freed after a grace period (maple::rcu, maple/rcu.h). A reader
  // sees, for every index, the entry before or after a concurrent write.
  //  * load/lookup/find/find_after/find_rev/empty/empty_area* and the
  //    inspection calls enter a read section by themselves;
  //  * iteration (ranges(), begin()) and cursors must run inside one: hold a
  //    maple::rcu::read_guard, or use basic_read_guard's cursors;
  //  * an iteration (or cursor) that meets a node replaced meanwhile walks
  //    again from the root and goes on after (before, going backwards) the
  //    last range it reported (a range written meanwhile across that point
  //    is not reported); it never repeats a range or turns around, and it
  //    reports every range present throughout;
  //  * an iteration ends (yields end(); a cursor overflows or underflows)
  //    only when the tree as it is then holds nothing further: a leaf
  //    replaced meanwhile is never taken at its word for that. A backward
  //    loop that compares with a begin() taken again each step therefore
  //    meets a range stored in front of it. One that keeps a begin() taken
  //    before a writer erased that range can step past it into end(); stop
  //    a backward loop when --it yields end() instead;
  //  * writes must not be made inside a read section (they may wait for a
  //    grace period), and the memory resource must outlive the deferred
  //    frees: call maple::rcu::barrier() before destroying a custom one.

  /// Switches RCU mode on or off (takes the write lock, or with an external
  /// lock needs it held, as every write). After switching it off, readers
  /// must again be kept apart from writers by the caller.
  void set_rcu_mode(bool on) noexcept;
  bool rcu_mode() const noexcept { return core_.rcu_mode(); }

  // ---- the writer lock -------------------------------------------------------
  // By default writers serialise on the tree's own mutex, which every write
  // call and every write guard takes. A user who already serialises all
  // writes of a tree on a lock of its own (an address space's mmap lock
  // around its VMA tree) can make the tree use that lock instead.

  /// From now on writers serialise on `lock` instead of the tree's own
  /// mutex: write calls (store, insert, erase, clear, bulk_load, the alloc_*
  /// calls, set_rcu_mode, dup on either side) and write guards take no lock,
  /// and in checked builds each aborts with a message naming the call unless
  /// lock.held(lock.context) is true. Reads are unaffected. Call it while no
  /// write runs and no write guard exists (e.g. right after construction). A
  /// default-constructed external_lock (held == nullptr) switches back to
  /// the internal lock.
  void set_external_lock(external_lock lock) noexcept;
  /// True while writers serialise on an external lock.
  bool uses_external_lock() const noexcept { return core_.uses_external_lock(); }

 private:
  // The engine's state (root, height, lock, flags, memory resource): the
  // engine (src/engine) works on it; this class is the typed-in-Slots facade.
  friend struct detail::tree_access;
  friend class basic_cursor<Slots>;
  friend class basic_write_cursor<Slots>;
  friend class basic_write_guard<Slots>;
  detail::tree_core core_;
};

/// dup(source, destination): source.dup(destination[, transform]).
template <unsigned Slots, class... Transform>
std::error_code dup(const basic_raw_tree<Slots> &source, basic_raw_tree<Slots> &destination,
                    Transform &&...transform) {
  return source.dup(destination, std::forward<Transform>(transform)...);
}

/// The library's engine: 16-slot, 256-byte nodes.
using raw_tree = basic_raw_tree<16>;
extern template class basic_raw_tree<16>;

}  // namespace maple

/// The library's range views are borrowed ranges: an iterator refers to the
/// tree, so it stays valid after the view that made it is gone.
template <class V>
requires std::derived_from<V, maple::detail::borrowed_view_tag>
inline constexpr bool std::ranges::enable_borrowed_range<V> = true;
