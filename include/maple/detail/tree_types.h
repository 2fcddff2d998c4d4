// maple/detail/tree_types.h - the vocabulary the tree engine and the public
// tree classes share: index bounds, creation flags, the external-lock hook,
// and the figures that checks and statistics report. Included by the engine
// (src/core) and by maple/raw_tree.h; users reach these names through
// maple/raw_tree.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace maple {

/// Largest index.
inline constexpr std::uint64_t max_index = ~std::uint64_t{0};

/// Shape and memory figures of a tree.
struct tree_stats {
  unsigned height = 0;         ///< 0: empty or root entry, 1: root is a leaf
  std::size_t nodes = 0;       ///< all nodes
  std::size_t leaves = 0;      ///< leaf nodes
  std::size_t ranges = 0;      ///< stored (non-empty) ranges
  std::size_t leaf_slots = 0;  ///< used leaf slots, empty ranges included
  std::size_t bytes = 0;       ///< bytes of node memory owned by the tree
};

/// Result of validate(): ok, or the first violation found with a dump of
/// the offending node.
struct check_report {
  bool ok = true;
  std::string message;
  explicit operator bool() const noexcept { return ok; }
};

/// Creation flags of a tree.
enum class tree_flags : unsigned {
  none = 0,
  /// An allocation tree: every internal node also records the largest free
  /// range under each child (the kernel's MT_FLAGS_ALLOC_RANGE), so that
  /// empty_area(), empty_area_rev() and the alloc_* calls descend in
  /// O(log n) instead of scanning. Internal nodes then hold fewer children
  /// (10 instead of 16 at the default geometry). Needs Slots >= 6.
  alloc = 1,
  /// Created in RCU mode (see set_rcu_mode()).
  rcu = 2,
};
constexpr tree_flags operator|(tree_flags a, tree_flags b) noexcept {
  return static_cast<tree_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has_flag(tree_flags set, tree_flags f) noexcept {
  return (static_cast<unsigned>(set) & static_cast<unsigned>(f)) != 0;
}

/// Number format of dump().
enum class dump_format { hex, dec };

/// A writer lock the user owns and takes around every write of a tree (the
/// kernel's MT_FLAGS_LOCK_EXTERN with mt_set_external_lock(): the
/// address-space model's mmap lock). The tree never takes it; it only asks.
struct external_lock {
  /// True when the calling thread holds the lock for writing. Called in
  /// checked builds (MAPLE_CHECKED) before every write; never called in
  /// other builds. Must not take the lock or write to the tree.
  bool (*held)(const void *context) noexcept = nullptr;
  /// Passed to held() (typically the lock object).
  const void *context = nullptr;
};

/// Maps a source entry to the copy's entry in dup(): nullptr drops the
/// range; a reserved entry makes dup() fail with invalid_argument.
using entry_transform = void *(*)(void *context, void *entry);

}  // namespace maple
