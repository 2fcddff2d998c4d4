// maple/cursor.h - the advanced API: a cursor (the kernel's "maple state")
// that remembers where it is in a tree, so next/prev cost O(1) amortised,
// and that can store, erase and preallocate.
//
// Getting one (the lifetime of the guard bounds the cursor's validity):
//
//   maple::write_guard w(tree);           // the tree's lock (or asserts an
//                                         // external one: set_external_lock)
//   maple::write_cursor c = w.cursor(0x1000, 0x1fff);
//   if (auto ec = c.preallocate(vma)) return ec;   // may fail: no_memory
//   c.store_prealloc(vma);                // cannot fail
//
//   maple::read_guard r(tree);            // read guard (RCU read section)
//   maple::cursor it = r.cursor(addr);
//   for (void *e = it.find(max); e; e = it.next(max)) ...
//
// Rules (docs/cursor.md): a cursor is valid only inside the guard section it
// was positioned in, and only until a write it did not make. To keep a
// position across a lock drop call pause() first; after re-taking the lock,
// or after someone else wrote, call set()/reset() (or carry on from a pause).
// In checked builds (MAPLE_CHECKED) breaking a rule aborts with a message
// naming the cursor's state and the rule.
#pragma once

#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <cstddef>
#include <cstdint>
#include <system_error>

namespace maple {

/// The cursor's state machine (see docs/cursor.md for the transitions).
enum class cursor_state : unsigned char {
  start,       ///< next operation walks from the root at index
  active,      ///< positioned on a slot of a leaf
  root_entry,  ///< the tree is a single entry at [0, 0]; positioned on it
  none,        ///< searched and found nothing (empty tree, or past a root entry)
  paused,      ///< position may be stale; resumes after last (or before index)
  overflow,    ///< hit the upper limit; a wider limit continues from here
  underflow,   ///< hit the lower limit; a lower limit continues from here
  error,       ///< an operation failed; error() tells why
};

const char *to_string(cursor_state s) noexcept;

template <unsigned Slots>
class basic_write_guard;
template <unsigned Slots>
class basic_read_guard;

/// A read cursor over a basic_raw_tree<Slots>.
template <unsigned Slots>
class basic_cursor {
 public:
  using tree_type = basic_raw_tree<Slots>;

  /// A cursor positioned nowhere yet (state start) at [first, last].
  /// Prefer read_guard::cursor() / write_guard::cursor().
  basic_cursor(const tree_type &t, std::uint64_t first = 0, std::uint64_t last = 0) noexcept;

  // ---- position ---------------------------------------------------------
  std::uint64_t index() const noexcept { return index_; }  ///< first of the range of interest
  std::uint64_t last() const noexcept { return last_; }    ///< last of the range of interest
  cursor_state state() const noexcept { return state_; }
  std::error_code error() const noexcept { return err_; }
  /// The entry at the current position (nullptr if none / not positioned).
  void *entry() const noexcept;

  /// Re-targets the cursor: state start at [index, index] / [first, last].
  void set(std::uint64_t index) noexcept { set_range(index, index); }
  void set_range(std::uint64_t first, std::uint64_t last) noexcept;
  /// State start, keeping [index, last].
  void reset() noexcept;
  /// Forget the node (call before dropping the lock); the next find/next
  /// resumes after last(), the next find_rev/prev before index().
  void pause() noexcept;

  // ---- reads (kernel mas_* semantics) -------------------------------------
  /// The range holding index(), empty ranges included: [index, last] become
  /// that range; returns its entry.
  void *walk() noexcept;
  /// First call (state start/paused): the first entry at or after index()
  /// up to max; later calls: the next entry. nullptr and overflow at max.
  void *find(std::uint64_t max = max_index) noexcept;
  /// Reverse of find: first call the last entry at or before index() down
  /// to min; later calls the previous entry.
  void *find_rev(std::uint64_t min = 0) noexcept;
  /// The next stored entry after the current range, up to max.
  void *next(std::uint64_t max = max_index) noexcept;
  /// The previous stored entry before the current range, down to min.
  void *prev(std::uint64_t min = 0) noexcept;
  /// Like next/prev but also stopping on empty ranges (returns nullptr
  /// for them; tell them from the end by state() == active).
  void *next_range(std::uint64_t max = max_index) noexcept;
  void *prev_range(std::uint64_t min = 0) noexcept;

  /// Positions the cursor on the lowest (empty_area) or highest
  /// (empty_area_rev) empty window of `size` in [min, max]: [index(), last()]
  /// is the window and the state is start, so a write cursor's store()
  /// fills it, and the cursor stays reusable. Errors as raw_tree::empty_area
  /// (the cursor is then in state error).
  std::error_code empty_area(std::uint64_t min, std::uint64_t max, std::uint64_t size) noexcept;
  std::error_code empty_area_rev(std::uint64_t min, std::uint64_t max, std::uint64_t size) noexcept;

  /// Range-for over the stored entries from index() up to max:
  ///   for (range_entry r : c.upto(max)) ...
  class upto_range;
  upto_range upto(std::uint64_t max = max_index) noexcept;

 protected:
  friend class basic_write_guard<Slots>;
  friend class basic_read_guard<Slots>;
  void check_use(const char *op) const noexcept;  // the checked-build rules
  void mark_section(std::uint64_t section, bool write) noexcept;
  void note_position() noexcept;  // records the tree epoch the position is valid for
  void *advance(const char *op, std::uint64_t limit, bool forward, bool stop_on_empty) noexcept;
  void *step_forward(std::uint64_t max, bool stop_on_empty) noexcept;
  void *step_backward(std::uint64_t min, bool stop_on_empty) noexcept;
  void *position_at(std::uint64_t index) noexcept;  // walk; sets node fields
  void *limit_without_node(cursor_state st, cursor_state resume) noexcept;
  bool resume_if_nodeless(bool forward, void **out) noexcept;
  void *root_entry_below(std::uint64_t min) noexcept;
  void *past_root_entry() noexcept;
  void *turn_back(std::uint64_t limit, bool forward, bool stop_on_empty) noexcept;
  std::error_code place_window(std::uint64_t at, std::uint64_t size) noexcept;

  const detail::tree_core *core_;  // the tree's engine state
  std::uint64_t index_ = 0, last_ = 0;
  const void *node_ = nullptr;       // leaf (state active)
  std::uint64_t min_ = 0, max_ = 0;  // the leaf's bounds
  unsigned offset_ = 0, end_ = 0;    // slot within the leaf, data end
  cursor_state state_ = cursor_state::start;
  // A limit hit before the cursor stood on a node (from start or paused)
  // leaves overflow/underflow with no node; the next call resumes as this
  // state (the kernel's regression 17).
  cursor_state resume_as_ = cursor_state::start;
  bool write_ = false;  // obtained from a write guard
  std::error_code err_;
  // Guard section the cursor belongs to; check_use() moves an unpositioned
  // cursor to the current section (bookkeeping, not observable state).
  mutable std::uint64_t section_ = 0;
  std::uint64_t epoch_ = 0;  // tree modification epoch of the position
};

template <unsigned Slots>
class basic_cursor<Slots>::upto_range {
 public:
  class iterator {
   public:
    using value_type = range_entry;
    using difference_type = std::ptrdiff_t;
    range_entry operator*() const noexcept { return {c_->index(), c_->last(), e_}; }
    iterator &operator++() noexcept {
      e_ = c_->next(max_);
      return *this;
    }
    void operator++(int) noexcept { ++*this; }
    bool operator==(std::default_sentinel_t) const noexcept { return e_ == nullptr; }

   private:
    friend class upto_range;
    basic_cursor *c_ = nullptr;
    std::uint64_t max_ = 0;
    void *e_ = nullptr;
  };
  iterator begin() noexcept {
    iterator it;
    it.c_ = c_;
    it.max_ = max_;
    it.e_ = c_->find(max_);
    return it;
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend class basic_cursor;
  upto_range(basic_cursor *c, std::uint64_t max) noexcept : c_(c), max_(max) {}
  basic_cursor *c_;
  std::uint64_t max_;
};

template <unsigned Slots>
typename basic_cursor<Slots>::upto_range basic_cursor<Slots>::upto(std::uint64_t max) noexcept {
  return upto_range(this, max);
}

/// A cursor that can also write. Only a write guard hands these out, so a
/// write through a cursor always happens under the tree's lock.
template <unsigned Slots>
class basic_write_cursor : public basic_cursor<Slots> {
  using base = basic_cursor<Slots>;

 public:
  using tree_type = basic_raw_tree<Slots>;

  basic_write_cursor(const basic_write_cursor &) = delete;
  basic_write_cursor &operator=(const basic_write_cursor &) = delete;
  basic_write_cursor(basic_write_cursor &&o) noexcept;
  ~basic_write_cursor() { release(); }

  /// Stores entry over [index(), last()] (errors: invalid_argument,
  /// no_memory; nothing changes then). On success the cursor is paused on
  /// the stored range, so an iteration in progress continues after it.
  std::error_code store(void *entry) noexcept;
  /// Removes the whole range holding index(); `*old` (if given) receives
  /// its entry (nullptr when there was none: nothing to do). Errors:
  /// no_memory (nothing is erased; error() says so too).
  std::error_code erase(void **old = nullptr) noexcept;

  /// Reserves exactly the nodes that storing `entry` over [index(), last()]
  /// will take on the tree as it is now (a dry run of the store).
  std::error_code preallocate(void *entry) noexcept;
  /// Performs the preallocated store. Cannot fail; allocates nothing. Using
  /// it without a matching preallocate(), or after the tree or the range
  /// changed, aborts (checked builds say which rule was broken).
  void store_prealloc(void *entry) noexcept;
  /// Returns unused reserved nodes to the allocator (also on destruction).
  void release() noexcept;

  // ---- reserve for a sequence of stores ------------------------------------
  // preallocate() is exact for one store on the tree as it is; a change made
  // of several stores (each depending on the one before) reserves for all of
  // them first, then makes them with store_reserved(), which cannot fail.

  /// Adds to the reserve enough nodes for any `stores` stores on the tree as
  /// it is now: each store rebuilds at most every level of the tree (at most
  /// max_nodes_per_level new nodes a level) and may add a root, so the tree
  /// is one level taller for the next. The bound grows with the square of
  /// `stores` (8 stores on a 3-level tree: 424 nodes): a long sequence is
  /// better reserved a few stores at a time, topping up with reserve_upto()
  /// between them, at the price of a failure part-way. Errors: no_memory
  /// (the reserve is as it was).
  std::error_code reserve(unsigned stores) noexcept;
  /// Stores entry over [index(), last()] taking every node from the reserve
  /// (preallocate() or reserve()). Cannot fail; allocates nothing; a reserve
  /// too small aborts. The cursor is then paused, as after store().
  void store_reserved(void *entry) noexcept;
  /// The most new nodes one store builds on one level of the tree.
  static constexpr unsigned max_nodes_per_level = 8;
  /// Nodes currently reserved.
  unsigned reserved() const noexcept { return nreserve_; }

  // ---- a reserve kept between write sections --------------------------------
  // A caller that makes many small changes keeps the unused reserve between
  // them (a node cache of its own) and tops it up before each change, so the
  // reserve usually costs no allocation and no dry run.

  /// Nodes taken out of a cursor's reserve (linked through their first word),
  /// owned by the caller until handed back with adopt_reserve(); they belong
  /// to the tree's memory resource and must go back to a cursor of that tree.
  struct node_stash {
    void *nodes = nullptr;
    unsigned count = 0;
  };
  /// The nodes reserve(stores) adds: the bound for `stores` stores on the
  /// tree as it is now.
  std::size_t reserve_bound(unsigned stores) const noexcept;
  /// Tops the reserve up to reserve_bound(stores), allocating only the
  /// nodes missing. Errors: no_memory (the reserve is as it was).
  std::error_code reserve_upto(unsigned stores) noexcept;
  /// Adds the stash's nodes to the reserve and empties the stash.
  void adopt_reserve(node_stash &s) noexcept;
  /// Moves up to `keep` reserved nodes into the stash (which must be empty)
  /// and frees the rest of the reserve.
  void stash_reserve(node_stash &s, std::size_t keep) noexcept;

 private:
  friend class basic_write_guard<Slots>;
  basic_write_cursor(tree_type &t, std::uint64_t first, std::uint64_t last) noexcept;
  void after_write() noexcept;
  void store_from_reserve(void *entry) noexcept;

  detail::tree_core *wcore_;  // the tree written (the base keeps a const view)
  void *reserve_ = nullptr;   // reserved nodes, linked through their first word
  unsigned nreserve_ = 0;
  // What the reserve was computed for.
  std::uint64_t pre_first_ = 0, pre_last_ = 0, pre_epoch_ = 0;
  void *pre_entry_ = nullptr;
  bool pre_valid_ = false;
};

/// RAII holder of the tree's write lock; hands out write cursors. With an
/// external lock (basic_raw_tree::set_external_lock) the guard takes no lock:
/// the caller must hold the external lock for the guard's whole life, and
/// checked builds assert it when the guard is made and on every write,
/// preallocate and store_prealloc of its cursors.
template <unsigned Slots>
class basic_write_guard {
 public:
  using tree_type = basic_raw_tree<Slots>;
  explicit basic_write_guard(tree_type &t);
  ~basic_write_guard();
  basic_write_guard(const basic_write_guard &) = delete;
  basic_write_guard &operator=(const basic_write_guard &) = delete;

  basic_write_cursor<Slots> cursor(std::uint64_t first = 0) noexcept {
    return cursor(first, first);
  }
  basic_write_cursor<Slots> cursor(std::uint64_t first, std::uint64_t last) noexcept;
  tree_type &tree() noexcept { return *t_; }

 private:
  tree_type *t_;
  std::uint64_t section_;
  bool locked_ = false;  // took the tree's own mutex (no external lock)
};

/// RAII read-side section: an RCU read section for its lifetime (so its
/// cursors may run beside a writer on an RCU-mode tree), also marked for the
/// checked build's stale-cursor rules. Without RCU mode the caller must still
/// keep writers out while reading.
template <unsigned Slots>
class basic_read_guard {
 public:
  using tree_type = basic_raw_tree<Slots>;
  explicit basic_read_guard(const tree_type &t) noexcept;
  ~basic_read_guard();
  basic_read_guard(const basic_read_guard &) = delete;
  basic_read_guard &operator=(const basic_read_guard &) = delete;

  basic_cursor<Slots> cursor(std::uint64_t first = 0) const noexcept {
    return cursor(first, first);
  }
  basic_cursor<Slots> cursor(std::uint64_t first, std::uint64_t last) const noexcept;

 private:
  rcu::read_guard rcu_;  // an RCU read section for the guard's lifetime
  const tree_type *t_;
  std::uint64_t section_;
};

using cursor = basic_cursor<16>;
using write_cursor = basic_write_cursor<16>;
using write_guard = basic_write_guard<16>;
using read_guard = basic_read_guard<16>;
extern template class basic_cursor<16>;
extern template class basic_write_cursor<16>;
extern template class basic_write_guard<16>;
extern template class basic_read_guard<16>;

}  // namespace maple
