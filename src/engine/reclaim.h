// Freeing the nodes a write unlinked.
//
// Outside RCU mode they go back to the tree's memory resource at once. In RCU
// mode a reader may still stand on them, so each one is marked dead (its
// parent word names itself; stored with release order after the write
// published its replacement, so a reader that sees the mark and walks again
// from the root finds the new nodes: the kernel's write barrier of
// regression 11) and the write's whole batch goes to one rcu::retire_list,
// freed by one deferred callback after a grace period. A dead node's other
// words are never written again, so a reader that has not seen the mark yet
// still reads the consistent old contents; the list keeps its bookkeeping in
// its own recycled chunks, so a write allocates nothing for it.
#pragma once

#include "engine/engine.h"

#include <maple/rcu.h>

#include <memory_resource>

namespace maple::detail {

/// A write's retire path: a thin layer over rcu::retire_list.
template <unsigned S>
class node_reclaimer {
  using E = engine<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;

  static void free_one(void *mr, void *n) noexcept {
    static_cast<std::pmr::memory_resource *>(mr)->deallocate(n, sizeof(node_t), alignof(node_t));
  }

 public:
  explicit node_reclaimer(tree_t &t) noexcept
      : t_(t), rcu_(E::rcu_mode(t)), dead_(&free_one, E::resource(t)) {}
  node_reclaimer(const node_reclaimer &) = delete;
  node_reclaimer &operator=(const node_reclaimer &) = delete;

  /// n is no longer reachable from the tree's root.
  void retire(node_t *n) noexcept {
    if (!rcu_) return E::free_node(t_, n);
    n->set_dead();
    dead_.add(n);  // out of memory: synchronizes and frees the batch at once
  }

  /// Marks dead and retires every node of the subtree `ref` (bounds max).
  void retire_subtree(word ref, std::uint64_t max) noexcept {
    node_t *n = node_t::from_ref(ref);
    if (!node_t::ref_is_leaf(ref)) {
      unsigned e = node_t::end_of(ref, max);
      for (unsigned i = 0; i <= e; ++i) retire_subtree(n->slot[i], n->slot_max(i, e, max));
    }
    retire(n);
  }

  /// Hands the batch to one deferred callback (RCU mode; the destructor
  /// does it too).
  void submit() noexcept { dead_.submit(); }

 private:
  tree_t &t_;
  bool rcu_;
  rcu::retire_list dead_;
};

}  // namespace maple::detail
