// Emptying a tree: every node goes (after a grace period in RCU mode, when
// readers may still stand on them), the root word and height are reset.
#pragma once

#include "engine/engine.h"
#include "engine/reclaim.h"

namespace maple::detail {

/// Empties `t` without taking or asserting any lock (the caller holds it,
/// or nothing else can use the tree). Bumps the epoch: cursors' positions
/// are invalid afterwards.
template <unsigned S>
void destroy_tree(tree_core &t) noexcept {
  engine<S>::bump_epoch(t);
  word root = t.root.load(std::memory_order_relaxed);
  t.root.store(0, std::memory_order_release);
  t.height = 0;
  if (!is_node_word(root)) return;
  node_reclaimer<S> r(t);  // RCU mode: dead, freed after a grace period
  r.retire_subtree(root, max_index);
}

/// A private tree_core that frees what it still holds when it goes out of
/// scope (a copy or a build made aside before it is published).
template <unsigned S>
struct scratch_tree {
  tree_core core;
  scratch_tree(tree_flags flags, std::pmr::memory_resource *mr) noexcept : core(flags, mr) {}
  ~scratch_tree() { destroy_tree<S>(core); }
  scratch_tree(const scratch_tree &) = delete;
  scratch_tree &operator=(const scratch_tree &) = delete;
};

}  // namespace maple::detail
