// Per-thread counters of the write kinds the engine performed: test-only
// machinery, compiled only when MAPLE_TEST_HOOKS is defined (the build
// defines it for the library when the tests are built). Without it the
// engine counts nothing and holds no per-thread state for it; the kinds and
// their names stay, for messages.
#pragma once

#include <array>
#include <cstdint>

namespace maple::detail {

#ifdef MAPLE_TEST_HOOKS
inline constexpr bool write_trace_enabled = true;
#else
inline constexpr bool write_trace_enabled = false;
#endif

enum class write_kind : unsigned {
  store_root,      // the tree had no node: root word written / expanded
  new_root,        // a store over [0, max] replaced the whole tree
  exact_fit,       // one slot's entry replaced in place
  slot_store,      // in place, same slot count, pivots moved
  append,          // in place, slots added at the node's tail
  node_store,      // one node rewritten (same range, new contents)
  spanning,        // the store's range crossed leaf boundaries
  leaf_split,      // a leaf's data went into more leaves than it had
  internal_split,  // same, one or more levels above the leaves
  root_split,      // the tree grew a level
  push,            // overflow absorbed by a sibling instead of a split
  rebalance,       // an under-full node pulled in a neighbour
  root_collapse,   // the tree lost one or more levels
  count_
};

const char *write_kind_name(write_kind k) noexcept;

struct write_trace {
  std::array<std::uint64_t, static_cast<unsigned>(write_kind::count_)> counts{};
  void reset() noexcept { counts = {}; }
  std::uint64_t operator[](write_kind k) const noexcept { return counts[static_cast<unsigned>(k)]; }
  void bump(write_kind k) noexcept { ++counts[static_cast<unsigned>(k)]; }
};

#ifdef MAPLE_TEST_HOOKS
/// The calling thread's counters.
inline write_trace &thread_write_trace() noexcept {
  static thread_local write_trace t;
  return t;
}

/// Set while a dry run (preallocation) runs the write: it is not a write.
inline bool &write_trace_paused() noexcept {
  static thread_local bool off = false;
  return off;
}
#endif

/// Counts one write kind on the calling thread (nothing without the hooks).
inline void count_kind([[maybe_unused]] write_kind k) noexcept {
#ifdef MAPLE_TEST_HOOKS
  if (!write_trace_paused()) thread_write_trace().bump(k);
#endif
}

}  // namespace maple::detail
