// tests/support/reference_model.h - a plain, obviously-correct model of a maple
// tree: a std::map from each stored range's first index to {last, entry}.
//
// Every operation is written for clarity, not speed (all are O(log n) or
// O(k) in the ranges touched). Indices are full 64-bit values: every "+1"
// and "-1" is guarded against wrapping at 0 / UINT64_MAX.
//
// same_contents() compares a tree (any engine, or maple::tree<T>::raw())
// with the model by full forward iteration.
#pragma once

#include <maple/entry.h>
#include <maple/error.h>
#include <maple/raw_tree.h>
#include <maple/tree.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

// Readable gtest failure output for the library's value types.
namespace maple {
inline void PrintTo(const range_entry &r, std::ostream *os) {
  *os << "[0x" << std::hex << r.first << ", 0x" << r.last << std::dec << "] -> " << r.entry;
}
template <class T>
void PrintTo(const typed_range<T> &r, std::ostream *os) {
  *os << "[0x" << std::hex << r.first << ", 0x" << r.last << std::dec << "] -> " << r.value;
}
}  // namespace maple

namespace maple_test {

inline constexpr std::uint64_t kMax = ~std::uint64_t{0};

class reference_model {
 public:
  struct value {
    std::uint64_t last;
    void *entry;
  };
  using map_type = std::map<std::uint64_t, value>;

  // ---- writes ----------------------------------------------------------

  /// Stores entry over [first, last] (first <= last), trimming or splitting
  /// whatever overlaps. nullptr erases.
  void store(std::uint64_t first, std::uint64_t last, void *entry) {
    carve(first, last);
    if (entry != nullptr) m_.emplace(first, value{last, entry});
  }

  /// Mirrors basic_raw_tree::store's argument checks; applies on success.
  std::error_code checked_store(std::uint64_t first, std::uint64_t last, void *entry) {
    if (first > last || maple::is_reserved_entry(entry)) return maple::errc::invalid_argument;
    store(first, last, entry);
    return {};
  }

  /// Mirrors basic_raw_tree::insert: invalid_argument, exists, or stores.
  std::error_code insert(std::uint64_t first, std::uint64_t last, void *entry) {
    if (first > last || entry == nullptr || maple::is_reserved_entry(entry))
      return maple::errc::invalid_argument;
    if (any_in(first, last)) return maple::errc::exists;
    m_.emplace(first, value{last, entry});
    return {};
  }

  /// Removes the whole range holding index; returns its entry or nullptr.
  void *erase(std::uint64_t index) {
    auto it = holding(index);
    if (it == m_.end()) return nullptr;
    void *e = it->second.entry;
    m_.erase(it);
    return e;
  }

  void clear() { m_.clear(); }

  // ---- reads -----------------------------------------------------------

  void *load(std::uint64_t index) const {
    auto it = holding(index);
    return it == m_.end() ? nullptr : it->second.entry;
  }

  /// The range holding index; an empty range spans from just after the
  /// previous stored range (or 0) to just before the next one (or max).
  maple::range_entry lookup(std::uint64_t index) const {
    auto next = m_.upper_bound(index);  // first range starting after index
    if (next != m_.begin()) {
      auto prev = std::prev(next);
      if (prev->second.last >= index) return {prev->first, prev->second.last, prev->second.entry};
    }
    std::uint64_t lo = 0, hi = kMax;
    if (next != m_.begin()) lo = std::prev(next)->second.last + 1;  // last < index <= max
    if (next != m_.end()) hi = next->first - 1;                     // first > index >= 0
    return {lo, hi, nullptr};
  }

  /// First stored range intersecting [index, max].
  std::optional<maple::range_entry> find(std::uint64_t index, std::uint64_t max = kMax) const {
    if (index > max) return std::nullopt;
    auto it = holding(index);
    if (it == m_.end()) it = m_.upper_bound(index);
    if (it == m_.end() || it->first > max) return std::nullopt;
    return to_range(it);
  }

  /// First stored range lying wholly after index, starting at or before max.
  std::optional<maple::range_entry> find_after(std::uint64_t index,
                                               std::uint64_t max = kMax) const {
    if (index == kMax) return std::nullopt;
    auto it = m_.upper_bound(index);
    if (it == m_.end() || it->first > max) return std::nullopt;
    return to_range(it);
  }

  /// Last stored range intersecting [min, index].
  std::optional<maple::range_entry> find_rev(std::uint64_t index, std::uint64_t min = 0) const {
    if (min > index) return std::nullopt;
    auto it = m_.upper_bound(index);
    if (it == m_.begin()) return std::nullopt;
    --it;  // starts at or before index
    if (it->second.last < min) return std::nullopt;
    return to_range(it);
  }

  /// All stored ranges intersecting [lo, hi], in index order.
  std::vector<maple::range_entry> ranges(std::uint64_t lo = 0, std::uint64_t hi = kMax) const {
    std::vector<maple::range_entry> out;
    if (lo > hi) return out;
    auto it = holding(lo);
    if (it == m_.end()) it = m_.upper_bound(lo);
    for (; it != m_.end() && it->first <= hi; ++it) out.push_back(to_range(it));
    return out;
  }

  /// True if any index of [first, last] is occupied.
  bool any_in(std::uint64_t first, std::uint64_t last) const {
    return find(first, last).has_value();
  }

  bool empty() const { return m_.empty(); }
  std::size_t size() const { return m_.size(); }
  const map_type &map() const { return m_; }

  /// The i-th stored range in index order (O(i); tests use it on small maps
  /// or via nth_iter for repeated access).
  maple::range_entry nth(std::size_t i) const { return to_range(std::next(m_.begin(), i)); }

 private:
  map_type::const_iterator holding(std::uint64_t index) const {
    auto it = m_.upper_bound(index);
    if (it == m_.begin()) return m_.end();
    --it;
    return it->second.last >= index ? it : m_.end();
  }
  map_type::iterator holding(std::uint64_t index) {
    auto it = m_.upper_bound(index);
    if (it == m_.begin()) return m_.end();
    --it;
    return it->second.last >= index ? it : m_.end();
  }
  static maple::range_entry to_range(map_type::const_iterator it) {
    return {it->first, it->second.last, it->second.entry};
  }

  /// Empties [first, last]: removes every overlapping range and re-adds
  /// the pieces of the first/last ones that stick out.
  void carve(std::uint64_t first, std::uint64_t last) {
    auto it = holding(first);
    if (it == m_.end()) it = m_.upper_bound(first);
    std::optional<std::pair<std::uint64_t, value>> left, right;
    while (it != m_.end() && it->first <= last) {
      if (it->first < first) left = {{it->first, value{first - 1, it->second.entry}}};
      if (it->second.last > last) right = {{last + 1, value{it->second.last, it->second.entry}}};
      it = m_.erase(it);
    }
    if (left) m_.insert(*left);
    if (right) m_.insert(*right);
  }

  map_type m_;
};

// ---- formatting helpers -------------------------------------------------

inline std::string hex(std::uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

inline std::string describe(const maple::range_entry &r) {
  std::ostringstream os;
  os << "[" << hex(r.first) << ", " << hex(r.last) << "] -> " << r.entry;
  return os.str();
}

inline std::string describe(const std::optional<maple::range_entry> &r) {
  return r ? describe(*r) : std::string("nullopt");
}

/// Full-iteration comparison of a tree with the model (forward). Reports
/// the first difference.
template <class Tree>
::testing::AssertionResult same_contents(const Tree &t, const reference_model &m) {
  auto mit = m.map().begin();
  std::size_t i = 0;
  for (auto it = t.begin(); it != t.end(); ++it, ++mit, ++i) {
    maple::range_entry r = *it;
    if (mit == m.map().end())
      return ::testing::AssertionFailure() << "tree has extra range #" << i << " " << describe(r)
                                           << " (model has " << m.size() << " ranges)";
    maple::range_entry e{mit->first, mit->second.last, mit->second.entry};
    if (!(r == e))
      return ::testing::AssertionFailure()
             << "range #" << i << ": tree " << describe(r) << " model " << describe(e);
  }
  if (mit != m.map().end())
    return ::testing::AssertionFailure()
           << "tree ends after " << i << " ranges; model continues with "
           << describe(maple::range_entry{mit->first, mit->second.last, mit->second.entry})
           << " (model has " << m.size() << ")";
  return ::testing::AssertionSuccess();
}

/// Backward-iteration comparison (operator-- from end() down to begin()).
template <class Tree>
::testing::AssertionResult same_contents_backward(const Tree &t, const reference_model &m) {
  auto mit = m.map().rbegin();
  std::size_t i = 0;
  auto b = t.begin(), it = t.end();
  while (it != b) {
    --it;
    maple::range_entry r = *it;
    if (mit == m.map().rend())
      return ::testing::AssertionFailure() << "backward: tree has extra range " << describe(r);
    maple::range_entry e{mit->first, mit->second.last, mit->second.entry};
    if (!(r == e))
      return ::testing::AssertionFailure()
             << "backward #" << i << ": tree " << describe(r) << " model " << describe(e);
    ++mit;
    ++i;
  }
  if (mit != m.map().rend())
    return ::testing::AssertionFailure()
           << "backward: tree ends after " << i << " ranges, model has " << m.size();
  return ::testing::AssertionSuccess();
}

/// validate() as an assertion result carrying the engine's message.
template <class Tree>
::testing::AssertionResult valid(const Tree &t) {
  maple::check_report r = t.validate();
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "validate() failed: " << r.message;
}

/// validate() + full contents comparison.
template <class Tree>
::testing::AssertionResult consistent(const Tree &t, const reference_model &m) {
  if (auto v = valid(t); !v) return v;
  return same_contents(t, m);
}

/// Whether the tree holds no node: it is empty, or its only range is [0, 0]
/// (kept in the root word, docs/cursor.md's `root_entry`) - unless that
/// entry's low bits are 0b10, like a node reference's: such an entry goes
/// into a leaf.
inline bool nodeless_tree(const reference_model &m) {
  if (m.empty()) return true;
  if (m.size() != 1) return false;
  const auto &[first, v] = *m.map().begin();
  return first == 0 && v.last == 0 && (reinterpret_cast<std::uintptr_t>(v.entry) & 3) != 2;
}

}  // namespace maple_test
