// Freeing the nodes a write unlinked.
//
// Outside RCU mode they go back to the tree's memory resource at once. In RCU
// mode a reader may still stand on them, so each one is marked dead (its
// parent word names itself; stored with release order after the write
// published its replacement, so a reader that sees the mark and walks again
// from the root finds the new nodes: the kernel's write barrier of
// regression 11) and the write's whole batch is freed by one deferred
// callback once a grace period has passed (maple::rcu::defer). A dead node's
// other words are never written again, so a reader that has not seen the
// mark yet still reads the consistent old contents.
#pragma once

#include "core/engine.h"

#include <maple/rcu.h>

#include <new>
#include <vector>

namespace maple::detail {

template <unsigned S>
class node_reclaimer {
  using E = engine<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;

  struct batch {
    std::pmr::memory_resource *mr;
    std::vector<node_t *> nodes;
  };

  static void free_batch(void *p) noexcept {
    auto *b = static_cast<batch *>(p);
    for (node_t *n : b->nodes) b->mr->deallocate(n, sizeof(node_t), alignof(node_t));
    delete b;
  }

 public:
  explicit node_reclaimer(tree_t &t) noexcept : t_(t), rcu_(E::rcu_mode(t)) {}
  ~node_reclaimer() { submit(); }
  node_reclaimer(const node_reclaimer &) = delete;
  node_reclaimer &operator=(const node_reclaimer &) = delete;

  /// n is no longer reachable from the tree's root.
  void retire(node_t *n) noexcept {
    if (!rcu_) return E::free_node(t_, n);
    n->set_dead();
    try {
      if (!b_) b_ = new batch{E::resource(t_), {}};
      b_->nodes.push_back(n);
    } catch (const std::bad_alloc &) {
      // No room to remember it: wait for the readers instead, then free
      // everything held so far at once.
      rcu::synchronize();
      E::free_node(t_, n);
      if (b_) {
        free_batch(b_);
        b_ = nullptr;
      }
    }
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

  /// Hands the batch to one deferred callback (RCU mode).
  void submit() noexcept {
    if (!b_) return;
    rcu::defer(&free_batch, b_);
    b_ = nullptr;
  }

 private:
  tree_t &t_;
  bool rcu_;
  batch *b_ = nullptr;
};

}  // namespace maple::detail
