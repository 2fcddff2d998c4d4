// maple/tree.h - the typed maple tree: maple::tree<T> maps non-overlapping
// 64-bit ranges to T, where T is an object pointer type (stored as is) or an
// unsigned integer type (stored as a value entry, up to 2^63 - 1). It offers
// everything maple::raw_tree does, typed, and a typed cursor; raw() is only
// needed to hand the tree to code written for raw_tree.
//
//   maple::tree<Vma *> t;
//   t.store(0x1000, 0x1fff, vma);        // std::error_code
//   Vma *v = t.load(0x1800);            // nullptr when empty
//   for (auto [first, last, v] : t.ranges(0x1000, 0x9fff)) ...
//
// Errors follow the library's rule (docs/api.md): a call that can fail
// returns std::error_code, and what it also produces goes to an
// out-parameter; nothing throws.
#pragma once

#include <maple/cursor.h>
#include <maple/raw_tree.h>

#include <concepts>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace maple {

namespace detail {

template <class T>
struct entry_codec;

// Object pointers: stored verbatim; nullptr means "empty". The tree stores
// words, so a pointer to const is kept as its address word and handed back
// as the same const pointer (no constness is lost to the user).
template <class U>
struct entry_codec<U *> {
  static_assert(alignof(U) >= 4 || std::is_void_v<U>, "entries need the two low pointer bits free");
  using lookup_type = U *;
  static bool encodable(U *) noexcept { return true; }
  static void *encode(U *p) noexcept {
    return reinterpret_cast<void *>(reinterpret_cast<std::uintptr_t>(p));
  }
  static U *decode(void *w) noexcept { return static_cast<U *>(w); }
  static lookup_type none() noexcept { return nullptr; }
  static lookup_type wrap(void *w) noexcept { return decode(w); }
  static void *unwrap(lookup_type v) noexcept { return encode(v); }  // nullptr stays nullptr
};

// Unsigned integers: value entries; lookups return std::optional.
template <std::unsigned_integral U>
struct entry_codec<U> {
  using lookup_type = std::optional<U>;
  static bool encodable(U v) noexcept { return std::uint64_t{v} <= max_value_entry; }
  static void *encode(U v) noexcept { return make_value_entry(v); }
  static U decode(void *w) noexcept { return static_cast<U>(value_of_entry(w)); }
  static lookup_type none() noexcept { return std::nullopt; }
  static lookup_type wrap(void *w) noexcept { return w ? lookup_type(decode(w)) : std::nullopt; }
  // nullopt -> nullptr; a value too large -> a reserved word (invalid_argument).
  static void *unwrap(const lookup_type &v) noexcept {
    if (!v) return nullptr;
    return encodable(*v) ? encode(*v) : reinterpret_cast<void *>(std::uintptr_t{2});
  }
};

}  // namespace detail

/// A callable usable as tree<T>::dup()'s transform: T -> T* (pointers) or
/// T -> std::optional<T> (integers).
template <class F, class T>
concept value_transform_for =
    std::is_invocable_r_v<typename detail::entry_codec<T>::lookup_type, F &, T>;

/// One stored range of a typed tree.
template <class T>
struct typed_range {
  std::uint64_t first;
  std::uint64_t last;
  T value;
  friend bool operator==(const typed_range &, const typed_range &) = default;
};

/// The range holding an index, empty ranges included (tree<T>::lookup):
/// value is the tree's lookup_type (nullptr / std::nullopt when empty).
template <class T>
struct typed_lookup {
  std::uint64_t first;
  std::uint64_t last;
  typename detail::entry_codec<T>::lookup_type value;
  friend bool operator==(const typed_lookup &, const typed_lookup &) = default;
};

template <class T>
class tree {
  using codec = detail::entry_codec<T>;

 public:
  using value_type = T;
  /// What load() returns: T* (nullptr when empty) or std::optional<U>.
  using lookup_type = typename codec::lookup_type;

  /// An empty tree whose nodes come from `mr` (default: the library's node
  /// allocator). Gap search works on any tree; only an allocation tree
  /// (the constructor below with tree_flags::alloc) does it in O(log n).
  explicit tree(std::pmr::memory_resource *mr = nullptr) noexcept : raw_(mr) {}
  /// A tree with creation flags (tree_flags::alloc: O(log n) gap search;
  /// tree_flags::rcu: created in RCU mode).
  explicit tree(tree_flags flags, std::pmr::memory_resource *mr = nullptr) noexcept
      : raw_(flags, mr) {}
  /// Moving and swapping: as basic_raw_tree's (the moved-from tree is empty
  /// and usable; moving a tree in use by readers, iterators, cursors or
  /// guards is the caller's error).
  tree(tree &&) noexcept = default;
  tree &operator=(tree &&) noexcept = default;
  void swap(tree &other) noexcept { raw_.swap(other.raw_); }
  friend void swap(tree &a, tree &b) noexcept { a.swap(b); }

  // ---- reads (no lock; see raw_tree for the RCU rules) ---------------------

  lookup_type load(std::uint64_t index) const noexcept { return codec::wrap(raw_.load(index)); }
  /// The range holding `index`, empty ranges included.
  typed_lookup<T> lookup(std::uint64_t index) const noexcept {
    range_entry r = raw_.lookup(index);
    return {r.first, r.last, codec::wrap(r.entry)};
  }
  std::optional<typed_range<T>> find(std::uint64_t index,
                                     std::uint64_t max = max_index) const noexcept {
    return typed(raw_.find(index, max));
  }
  std::optional<typed_range<T>> find_after(std::uint64_t index,
                                           std::uint64_t max = max_index) const noexcept {
    return typed(raw_.find_after(index, max));
  }
  std::optional<typed_range<T>> find_rev(std::uint64_t index,
                                         std::uint64_t min = 0) const noexcept {
    return typed(raw_.find_rev(index, min));
  }
  bool empty() const noexcept { return raw_.empty(); }

  // ---- writes (the tree's lock, or the external lock held) ----------------
  // Errors as raw_tree's, plus invalid_argument for an integer above
  // max_value_entry.

  std::error_code store(std::uint64_t first, std::uint64_t last, T value) {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return raw_.store(first, last, codec::encode(value));
  }
  std::error_code store(std::uint64_t index, T value) { return store(index, index, value); }

  std::error_code insert(std::uint64_t first, std::uint64_t last, T value) {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return raw_.insert(first, last, codec::encode(value));
  }
  std::error_code insert(std::uint64_t index, T value) { return insert(index, index, value); }

  /// Empties [first, last] (trimming ranges that stick out).
  std::error_code erase_range(std::uint64_t first, std::uint64_t last) {
    return raw_.store(first, last, nullptr);
  }
  /// Removes the whole range holding index; `*old` (if given) receives what
  /// it held (nullptr / std::nullopt when nothing). Errors: no_memory
  /// (nothing erased).
  std::error_code erase(std::uint64_t index, lookup_type *old = nullptr) noexcept {
    void *e = nullptr;
    std::error_code ec = raw_.erase(index, &e);
    if (old) *old = codec::wrap(e);
    return ec;
  }

  /// Removes everything; O(nodes).
  void clear() noexcept { raw_.clear(); }

  /// Builds an empty tree from sorted, non-overlapping typed_range<T>s (any
  /// input range of them); see raw_tree::bulk_load. Errors: as there, plus
  /// invalid_argument for an unstorable value; the tree is unchanged then.
  template <std::ranges::input_range R>
  requires std::convertible_to<std::ranges::range_reference_t<R>, typed_range<T>> std::error_code
  bulk_load(R &&ranges) {
    std::vector<range_entry> raw;
    try {
      for (auto &&item : ranges) {
        const typed_range<T> r = item;
        if (!codec::encodable(r.value)) return errc::invalid_argument;
        raw.push_back({r.first, r.last, codec::encode(r.value)});
      }
    } catch (const std::bad_alloc &) {
      return errc::no_memory;
    }
    return raw_.bulk_load(raw);
  }

  /// Makes the empty `dst` a node-for-node copy of this tree, O(nodes); see
  /// raw_tree::dup. Errors: invalid_argument (dst not empty or this tree,
  /// different flags), no_memory; on error dst is left empty.
  std::error_code dup(tree &dst) const { return raw_.dup(dst.raw_); }
  /// As dup(dst), storing transform(value) instead of each value: a
  /// callable T -> lookup_type (T* -> T*, or U -> std::optional<U>); nullptr
  /// or std::nullopt drops the range from the copy. A value that cannot be
  /// stored makes dup fail with invalid_argument.
  template <value_transform_for<T> F>
  std::error_code dup(tree &dst, F &&transform) const {
    return raw_.dup(dst.raw_, [&transform](void *e) -> void * {
      return codec::unwrap(transform(codec::decode(e)));
    });
  }

  // ---- free ranges (raw_tree's semantics; O(log n) on allocation trees) ---

  /// The lowest empty window of `size` in [min, max]: its first index in
  /// `start`. Errors: invalid_argument, busy (nothing fits).
  std::error_code empty_area(std::uint64_t min, std::uint64_t max, std::uint64_t size,
                             std::uint64_t &start) const noexcept {
    return raw_.empty_area(min, max, size, start);
  }
  /// The highest such window.
  std::error_code empty_area_rev(std::uint64_t min, std::uint64_t max, std::uint64_t size,
                                 std::uint64_t &start) const noexcept {
    return raw_.empty_area_rev(min, max, size, start);
  }
  /// Stores value in the lowest / highest fitting window; `start` says where.
  /// Errors: as empty_area, invalid_argument for a null or unstorable value,
  /// no_memory.
  std::error_code alloc_range(T value, std::uint64_t size, std::uint64_t min, std::uint64_t max,
                              std::uint64_t &start) {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return raw_.alloc_range(codec::encode(value), size, min, max, start);
  }
  std::error_code alloc_rrange(T value, std::uint64_t size, std::uint64_t min, std::uint64_t max,
                               std::uint64_t &start) {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return raw_.alloc_rrange(codec::encode(value), size, min, max, start);
  }
  /// Stores value at one free index searching from `next`, wrapping to min;
  /// see raw_tree::alloc_cyclic.
  std::error_code alloc_cyclic(T value, std::uint64_t min, std::uint64_t max, std::uint64_t &next,
                               std::uint64_t &start, bool &wrapped) {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return raw_.alloc_cyclic(codec::encode(value), min, max, next, start, wrapped);
  }

  // ---- iteration -------------------------------------------------------------

  /// Bidirectional iterator yielding typed_range<T> (the rules of
  /// raw_tree::iterator: invalidated by writes except in RCU mode).
  class iterator {
   public:
    using iterator_concept = std::bidirectional_iterator_tag;
    // Dereferencing yields a value (no stashed reference can dangle in a
    // reverse_iterator); the legacy category still allows std::prev.
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = typed_range<T>;
    using difference_type = std::ptrdiff_t;
    using reference = typed_range<T>;
    /// What operator-> returns: the range, held by value.
    struct pointer {
      typed_range<T> r;
      const typed_range<T> *operator->() const noexcept { return &r; }
    };
    iterator() = default;
    explicit iterator(raw_tree::iterator it) noexcept : it_(it) {}
    reference operator*() const noexcept {
      range_entry r = *it_;
      return {r.first, r.last, codec::decode(r.entry)};
    }
    pointer operator->() const noexcept { return {**this}; }
    iterator &operator++() noexcept {
      ++it_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++it_;
      return t;
    }
    iterator &operator--() noexcept {
      --it_;
      return *this;
    }
    iterator operator--(int) noexcept {
      iterator t = *this;
      --it_;
      return t;
    }
    friend bool operator==(const iterator &, const iterator &) = default;

   private:
    raw_tree::iterator it_;
  };

  /// The stored ranges intersecting [lo, hi]: a std::ranges::view and a
  /// borrowed range, like raw_tree::range_view.
  class range_view : public std::ranges::view_base, public detail::borrowed_view_tag {
   public:
    iterator begin() const noexcept { return iterator(v_.begin()); }
    iterator end() const noexcept { return iterator(v_.end()); }

   private:
    friend class tree;
    explicit range_view(raw_tree::range_view v) : v_(v) {}
    raw_tree::range_view v_;
  };

  range_view ranges(std::uint64_t lo = 0, std::uint64_t hi = max_index) const noexcept {
    return range_view(raw_.ranges(lo, hi));
  }
  iterator begin() const noexcept { return ranges().begin(); }
  iterator end() const noexcept { return ranges().end(); }

  // ---- cursors (maple/cursor.h, typed) ----------------------------------------

  class cursor;
  class write_cursor;
  class read_guard;
  class write_guard;

  // ---- checking and inspection ----------------------------------------------

  check_report validate() const { return raw_.validate(); }
  void dump(std::ostream &os, dump_format f = dump_format::hex) const { raw_.dump(os, f); }
  void dump_dot(std::ostream &os) const { raw_.dump_dot(os); }
  tree_stats stats() const { return raw_.stats(); }
  unsigned height() const noexcept { return raw_.height(); }
  tree_flags flags() const noexcept { return raw_.flags(); }
  /// True for an allocation tree (tree_flags::alloc).
  bool tracks_gaps() const noexcept { return raw_.tracks_gaps(); }
  /// RCU mode: see basic_raw_tree::set_rcu_mode().
  void set_rcu_mode(bool on) noexcept { raw_.set_rcu_mode(on); }
  bool rcu_mode() const noexcept { return raw_.rcu_mode(); }
  /// Writers serialise on a lock the caller owns and holds around every
  /// write, instead of the tree's own mutex; checked builds assert
  /// lock.held() on each write. See basic_raw_tree::set_external_lock().
  void set_external_lock(external_lock lock) noexcept { raw_.set_external_lock(lock); }
  bool uses_external_lock() const noexcept { return raw_.uses_external_lock(); }

  /// The untyped engine underneath, for code written against raw_tree.
  raw_tree &raw() noexcept { return raw_; }
  const raw_tree &raw() const noexcept { return raw_; }

 private:
  static std::optional<typed_range<T>> typed(std::optional<range_entry> r) noexcept {
    if (!r) return std::nullopt;
    return typed_range<T>{r->first, r->last, codec::decode(r->entry)};
  }
  raw_tree raw_;
};

namespace detail {

/// What every typed cursor reads, over the raw cursor `Raw` (maple::cursor
/// or maple::write_cursor): the same state machine and rules
/// (docs/cursor.md), entries coming back as the tree's lookup_type.
template <class T, class Raw>
class typed_cursor_reads {
  using codec = entry_codec<T>;

 public:
  using lookup_type = typename codec::lookup_type;

  std::uint64_t index() const noexcept { return c_.index(); }
  std::uint64_t last() const noexcept { return c_.last(); }
  cursor_state state() const noexcept { return c_.state(); }
  std::error_code error() const noexcept { return c_.error(); }
  lookup_type entry() const noexcept { return codec::wrap(c_.entry()); }

  void set(std::uint64_t index) noexcept { c_.set(index); }
  void set_range(std::uint64_t first, std::uint64_t last) noexcept { c_.set_range(first, last); }
  void reset() noexcept { c_.reset(); }
  void pause() noexcept { c_.pause(); }

  lookup_type walk() noexcept { return codec::wrap(c_.walk()); }
  lookup_type find(std::uint64_t max = max_index) noexcept { return codec::wrap(c_.find(max)); }
  lookup_type find_rev(std::uint64_t min = 0) noexcept { return codec::wrap(c_.find_rev(min)); }
  lookup_type next(std::uint64_t max = max_index) noexcept { return codec::wrap(c_.next(max)); }
  lookup_type prev(std::uint64_t min = 0) noexcept { return codec::wrap(c_.prev(min)); }
  lookup_type next_range(std::uint64_t max = max_index) noexcept {
    return codec::wrap(c_.next_range(max));
  }
  lookup_type prev_range(std::uint64_t min = 0) noexcept { return codec::wrap(c_.prev_range(min)); }
  std::error_code empty_area(std::uint64_t min, std::uint64_t max, std::uint64_t size) noexcept {
    return c_.empty_area(min, max, size);
  }
  std::error_code empty_area_rev(std::uint64_t min, std::uint64_t max,
                                 std::uint64_t size) noexcept {
    return c_.empty_area_rev(min, max, size);
  }

 protected:
  explicit typed_cursor_reads(Raw &&c) noexcept : c_(std::move(c)) {}
  Raw c_;
};

}  // namespace detail

/// A typed read cursor (maple::cursor over a tree<T>), from a
/// tree<T>::read_guard.
template <class T>
class tree<T>::cursor : public detail::typed_cursor_reads<T, maple::cursor> {
 private:
  friend class read_guard;
  explicit cursor(const maple::cursor &c) noexcept
      : detail::typed_cursor_reads<T, maple::cursor>(maple::cursor(c)) {}
};

/// A typed write cursor (maple::write_cursor over a tree<T>), from a
/// tree<T>::write_guard: the reads of a cursor plus store, erase and
/// preallocation.
template <class T>
class tree<T>::write_cursor : public detail::typed_cursor_reads<T, maple::write_cursor> {
  using detail::typed_cursor_reads<T, maple::write_cursor>::c_;

 public:
  /// Stores value over [index(), last()]; errors: invalid_argument,
  /// no_memory (nothing changes then).
  std::error_code store(T value) noexcept {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return c_.store(codec::encode(value));
  }
  /// Empties [index(), last()].
  std::error_code erase_range() noexcept { return c_.store(nullptr); }
  /// Removes the whole range holding index(); `*old` receives its value.
  std::error_code erase(lookup_type *old = nullptr) noexcept {
    void *e = nullptr;
    std::error_code ec = c_.erase(&e);
    if (old) *old = codec::wrap(e);
    return ec;
  }
  /// Reserves the nodes that store(value) over [index(), last()] takes on
  /// the tree as it is now. Errors: invalid_argument, no_memory.
  std::error_code preallocate(T value) noexcept {
    if (!codec::encodable(value)) return errc::invalid_argument;
    return c_.preallocate(codec::encode(value));
  }
  /// The preallocated store: cannot fail (same value, range and tree as
  /// preallocate(); checked builds abort otherwise).
  void store_prealloc(T value) noexcept { c_.store_prealloc(codec::encode(value)); }
  void release() noexcept { c_.release(); }
  unsigned reserved() const noexcept { return c_.reserved(); }

 private:
  friend class write_guard;
  explicit write_cursor(maple::write_cursor &&c) noexcept
      : detail::typed_cursor_reads<T, maple::write_cursor>(std::move(c)) {}
};

/// maple::read_guard over a tree<T>: an RCU read section; hands out typed
/// read cursors.
template <class T>
class tree<T>::read_guard {
 public:
  explicit read_guard(const tree &t) noexcept : g_(t.raw_) {}
  // (tree::cursor spelled qualified: the member function shares its name.)
  typename tree::cursor cursor(std::uint64_t first = 0) const noexcept {
    return cursor(first, first);
  }
  typename tree::cursor cursor(std::uint64_t first, std::uint64_t last) const noexcept {
    return typename tree::cursor(g_.cursor(first, last));
  }

 private:
  maple::read_guard g_;
};

/// maple::write_guard over a tree<T>: the tree's write lock (or the
/// asserted external lock) for its lifetime; hands out typed write cursors.
template <class T>
class tree<T>::write_guard {
 public:
  explicit write_guard(tree &t) : g_(t.raw_) {}
  write_cursor cursor(std::uint64_t first = 0) noexcept { return cursor(first, first); }
  write_cursor cursor(std::uint64_t first, std::uint64_t last) noexcept {
    return write_cursor(g_.cursor(first, last));
  }

 private:
  maple::write_guard g_;
};

}  // namespace maple
