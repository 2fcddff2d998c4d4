// Node allocation, preallocation and retirement.
#include <new>

#include "xarray/impl.h"

namespace maple::detail {
namespace {

xa_node *allocate(xarray &xa, std::pmr::memory_resource *mr) noexcept {
  (void)xa;
  try {
    return static_cast<xa_node *>(mr->allocate(sizeof(xa_node), alignof(xa_node)));
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

void release(std::pmr::memory_resource *mr, xa_node *n) noexcept {
  n->~xa_node();
  mr->deallocate(n, sizeof(xa_node), alignof(xa_node));
}

}  // namespace

xa_node *xa_impl::alloc_node(xa_state &s, unsigned shift, xa_node *parent,
                             unsigned offset) noexcept {
  xarray &xa = *s.xa_;
  void *mem = s.spare_;
  if (mem) {
    s.spare_ = s.spare_->chain;
    static_cast<xa_node *>(mem)->~xa_node();
  } else {
    mem = allocate(xa, xa.mr_);
    if (!mem) {
      s.err_ = errc::no_memory;
      return nullptr;
    }
  }
  auto *n = new (mem) xa_node;
  n->shift = static_cast<unsigned char>(shift);
  n->offset = static_cast<unsigned char>(offset);
  n->parent.store(parent, std::memory_order_relaxed);
  // In an allocating array every slot of a new node is free.
  if (xa.is_alloc()) n->marks[xa_free_mark].store(~std::uint64_t{0}, std::memory_order_relaxed);
  return n;
}

bool xa_impl::prealloc_one(xa_state &s) noexcept {
  void *mem = allocate(*s.xa_, s.xa_->mr_);
  if (!mem) return false;
  auto *n = new (mem) xa_node;
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
    release(s.xa_->mr_, n);
  }
}

void xa_impl::free_unpublished(xarray &xa, xa_node *n) noexcept { release(xa.mr_, n); }

void xa_impl::retire_node(xarray &xa, xa_node *n) noexcept {
  // Readers may still be inside n: it waits on the array's list until no
  // reader can remain (destruction, for now; docs/xarray.md).
  n->chain = xa.retired_;
  xa.retired_ = n;
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

void xa_impl::free_retired(xarray &xa) noexcept {
  while (xa_node *n = xa.retired_) {
    xa.retired_ = n->chain;
    release(xa.mr_, n);
  }
}

}  // namespace maple::detail
