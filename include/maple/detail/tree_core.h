// maple/detail/tree_core.h - the state of one maple tree, owned by the
// engine (src/core). The public tree classes hold one tree_core and hand it
// to the engine's operations; nothing here knows about them.
#pragma once

#include <maple/detail/tree_types.h>
#include <maple/detail/write_mutex.h>

#include <atomic>
#include <cstdint>
#include <memory_resource>
#include <mutex>

namespace maple::detail {

struct tree_core {
  tree_core(tree_flags f, std::pmr::memory_resource *resource) noexcept
      : flags(f), rcu(has_flag(f, tree_flags::rcu)), mr(resource) {}
  tree_core(const tree_core &) = delete;
  tree_core &operator=(const tree_core &) = delete;

  std::atomic<std::uintptr_t> root{0};  // tagged: node reference or direct entry
  unsigned height = 0;                  // 0: no node
  std::atomic<std::uint64_t> epoch{0};  // bumped by every write (stale-cursor checks)
  std::uint64_t tenure = 0;             // bumped when a write guard takes or drops the lock
  bool alloc_wrapped = false;           // alloc_cyclic's next overflowed to 0
  tree_flags flags = tree_flags::none;
  std::atomic<bool> rcu{false};
  std::pmr::memory_resource *mr;
  mutable write_mutex lock;  // the writer lock unless ext is set
  external_lock ext{};       // held == nullptr: none

  bool tracks_gaps() const noexcept { return has_flag(flags, tree_flags::alloc); }
  bool rcu_mode() const noexcept { return rcu.load(std::memory_order_relaxed); }
  bool uses_external_lock() const noexcept { return ext.held != nullptr; }
};

}  // namespace maple::detail
