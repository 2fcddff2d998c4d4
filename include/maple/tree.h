// maple/tree.h - the typed maple tree: maple::tree<T> maps non-overlapping
// 64-bit ranges to T, where T is an object pointer type (stored as is) or an
// unsigned integer type (stored as a value entry, up to 2^63 - 1).
//
//   maple::tree<Vma *> t;
//   t.store(0x1000, 0x1fff, vma);        // std::error_code
//   Vma *v = t.load(0x1800);            // nullptr when empty
//   for (auto [first, last, v] : t.ranges(0x1000, 0x9fff)) ...
#pragma once

#include <maple/raw_tree.h>

#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

namespace maple {

namespace detail {

template <class T>
struct entry_codec;

// Object pointers: stored verbatim; nullptr means "empty".
template <class U>
struct entry_codec<U *> {
  static_assert(alignof(U) >= 4 || std::is_void_v<U>, "entries need the two low pointer bits free");
  using lookup_type = U *;
  static bool encodable(U *) noexcept { return true; }
  static void *encode(U *p) noexcept { return const_cast<std::remove_cv_t<U> *>(p); }
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

template <class T>
class tree {
  using codec = detail::entry_codec<T>;

 public:
  using value_type = T;
  /// What load() returns: T* (nullptr when empty) or std::optional<U>.
  using lookup_type = typename codec::lookup_type;

  explicit tree(std::pmr::memory_resource *mr = nullptr) noexcept : raw_(mr) {}
  /// A tree with creation flags (tree_flags::alloc: O(log n) gap search).
  explicit tree(tree_flags flags, std::pmr::memory_resource *mr = nullptr) noexcept
      : raw_(flags, mr) {}

  lookup_type load(std::uint64_t index) const noexcept { return codec::wrap(raw_.load(index)); }

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
  /// Removes the whole range holding index; returns what it held.
  lookup_type erase(std::uint64_t index) { return codec::wrap(raw_.erase(index)); }

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

  void clear() noexcept { raw_.clear(); }

  /// Builds an empty tree from sorted, non-overlapping ranges (any range
  /// of typed_range<T>); see raw_tree::bulk_load.
  template <class Range>
  std::error_code bulk_load(const Range &ranges) {
    std::vector<range_entry> raw;
    try {
      for (const typed_range<T> &r : ranges) {
        if (!codec::encodable(r.value)) return errc::invalid_argument;
        raw.push_back({r.first, r.last, codec::encode(r.value)});
      }
    } catch (const std::bad_alloc &) {
      return errc::no_memory;
    }
    return raw_.bulk_load(raw);
  }
  bool empty() const noexcept { return raw_.empty(); }

  /// Makes the empty `dst` a node-for-node copy of this tree, O(nodes); see
  /// raw_tree::dup. Errors: invalid_argument (dst not empty or this tree),
  /// no_memory; on error dst is left empty.
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

  /// Bidirectional iterator yielding typed_range<T>.
  class iterator {
   public:
    using iterator_concept = std::bidirectional_iterator_tag;
    // Dereferencing yields a value (no stashed reference can dangle in a
    // reverse_iterator); the legacy category still allows std::prev.
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = typed_range<T>;
    using difference_type = std::ptrdiff_t;
    using reference = typed_range<T>;
    iterator() = default;
    explicit iterator(raw_tree::iterator it) noexcept : it_(it) {}
    reference operator*() const noexcept {
      range_entry r = *it_;
      return {r.first, r.last, codec::decode(r.entry)};
    }
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

  class range_view {
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

  check_report validate() const { return raw_.validate(); }
  void dump(std::ostream &os, dump_format f = dump_format::hex) const { raw_.dump(os, f); }
  void dump_dot(std::ostream &os) const { raw_.dump_dot(os); }
  tree_stats stats() const { return raw_.stats(); }
  unsigned height() const noexcept { return raw_.height(); }
  tree_flags flags() const noexcept { return raw_.flags(); }
  /// RCU mode: see basic_raw_tree::set_rcu_mode().
  void set_rcu_mode(bool on) noexcept { raw_.set_rcu_mode(on); }
  bool rcu_mode() const noexcept { return raw_.rcu_mode(); }
  /// Writers serialise on a lock the caller owns and holds around every
  /// write, instead of the tree's own mutex; checked builds assert
  /// lock.held() on each write. See basic_raw_tree::set_external_lock().
  void set_external_lock(external_lock lock) noexcept { raw_.set_external_lock(lock); }
  bool uses_external_lock() const noexcept { return raw_.uses_external_lock(); }

  /// The untyped engine underneath (for the advanced API).
  raw_tree &raw() noexcept { return raw_; }
  const raw_tree &raw() const noexcept { return raw_; }

 private:
  static std::optional<typed_range<T>> typed(std::optional<range_entry> r) noexcept {
    if (!r) return std::nullopt;
    return typed_range<T>{r->first, r->last, codec::decode(r->entry)};
  }
  raw_tree raw_;
};

}  // namespace maple
