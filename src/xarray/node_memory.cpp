// Node allocation, preallocation and retirement.
#include <new>

#include "xarray/impl.h"

namespace maple::detail {
namespace {

void *allocate(std::pmr::memory_resource *mr) noexcept {
  try {
    return mr->allocate(sizeof(xa_node), alignof(xa_node));
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

void release(xa_node *n) noexcept {
  std::pmr::memory_resource *mr = n->home;
  n->~xa_node();
  mr->deallocate(n, sizeof(xa_node), alignof(xa_node));
}

// The deferred free of a retired node (runs after its grace period).
void release_retired(void *p) noexcept { release(static_cast<xa_node *>(p)); }

}  // namespace

xa_node *xa_impl::alloc_node(xa_state &s, unsigned shift, xa_node *parent,
                             unsigned offset) noexcept {
  xarray &xa = writable(s);
  void *mem = s.spare_;
  if (mem) {
    s.spare_ = s.spare_->chain;
    static_cast<xa_node *>(mem)->~xa_node();
  } else {
    mem = allocate(xa.mr_);
    if (!mem) {
      s.err_ = errc::no_memory;
      return nullptr;
    }
  }
  auto *n = new (mem) xa_node;
  n->home = xa.mr_;
  n->shift = static_cast<unsigned char>(shift);
  n->offset = static_cast<unsigned char>(offset);
  n->parent.store(parent, std::memory_order_relaxed);
  // In an allocating array every slot of a new node is free.
  if (xa.is_alloc()) n->marks[xa_free_mark].store(~std::uint64_t{0}, std::memory_order_relaxed);
  return n;
}

bool xa_impl::prealloc_one(xa_state &s) noexcept {
  void *mem = allocate(s.xa_->mr_);
  if (!mem) return false;
  auto *n = new (mem) xa_node;
  n->home = s.xa_->mr_;
  n->chain = s.spare_;
  s.spare_ = n;
  return true;
}

unsigned xa_impl::spare_count(const xa_state &s) noexcept {
  unsigned k = 0;
  for (xa_node *n = s.spare_; n; n = n->chain) ++k;
  return k;
}

void xa_impl::free_spares(xa_state &s) noexcept {
  while (xa_node *n = s.spare_) {
    s.spare_ = n->chain;
    release(n);
  }
}

void xa_impl::free_unpublished(xarray &xa, xa_node *n) noexcept {
  (void)xa;
  release(n);
}

void xa_impl::retire_node(xarray &xa, xa_node *n) noexcept {
  // Readers may still be inside n: it is freed after a grace period. The
  // array's list is submitted as one batch when the lock is released.
  xa.retired_.add(n, release_retired);
}

void xa_impl::retire_subtree(xarray &xa, xa_node *root) noexcept {
  // Depth-first without recursion: a node is retired once its last slot
  // has been visited; the parent link leads back up.
  xa_node *n = root;
  unsigned off = 0;
  for (;;) {
    if (off < xa_chunk_size) {
      xa_word w = n->slots[off].load(std::memory_order_relaxed);
      if (w != 0) n->slots[off].store(xa_retry_word, std::memory_order_release);
      if (n->shift != 0 && xa_word_node(w)) {
        n = xa_word_to_node(w);
        off = 0;
        continue;
      }
      ++off;
      continue;
    }
    xa_node *up = n->parent.load(std::memory_order_relaxed);
    unsigned up_off = n->offset + 1u;
    retire_node(xa, n);
    if (n == root) return;
    n = up;
    off = up_off;
  }
}

void xa_impl::free_subtree(xa_node *n) noexcept {
  if (n->shift != 0)
    for (auto &slot : n->slots) {
      xa_word w = slot.load(std::memory_order_relaxed);
      if (xa_word_node(w)) free_subtree(xa_word_to_node(w));
    }
  release(n);
}

}  // namespace maple::detail
