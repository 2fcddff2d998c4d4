// Marks: a node's bit i for mark m is set iff slot i's entry (or some entry
// below slot i) carries m, so marked searches skip unmarked subtrees. In an
// allocating array mark 0 is the free mark: set iff the slot holds, or has
// below it, an empty index.
#include "xarray/impl.h"

namespace maple::detail {

void xa_impl::set_root_marks_from(xarray &xa, xa_word h) noexcept {
  if (!xa_word_node(h)) return;
  const xa_node *top = xa_word_to_node(h);
  unsigned root = 0;
  for (unsigned m = 0; m < xa_marks; ++m)
    if (top->marks[m].load(std::memory_order_relaxed) != 0) root |= 1u << m;
  xa.root_marks_.store(root, std::memory_order_release);
}

void xa_impl::propagate_marks(xarray &xa, xa_node *n) noexcept {
  for (;;) {
    xa_node *up = n->parent.load(std::memory_order_relaxed);
    if (!up) {
      set_root_marks_from(xa, head(xa));
      return;
    }
    bool changed = false;
    const std::uint64_t bit = std::uint64_t{1} << n->offset;
    for (unsigned m = 0; m < xa_marks; ++m) {
      std::uint64_t bits = up->marks[m].load(std::memory_order_relaxed);
      std::uint64_t nb =
          n->marks[m].load(std::memory_order_relaxed) != 0 ? bits | bit : bits & ~bit;
      if (nb != bits) {
        up->marks[m].store(nb, std::memory_order_release);
        changed = true;
      }
    }
    if (!changed) return;
    n = up;
  }
}

bool xa_impl::get_mark(const xa_state &s, unsigned mark) noexcept {
  if (s.err_ != errc::ok || s.pos_ != xa_state::pos::walked) return false;
  if (!s.node_) return (s.xa_->root_marks_.load(std::memory_order_acquire) >> mark) & 1;
  return (s.node_->marks[mark].load(std::memory_order_acquire) >> s.offset_) & 1;
}

void xa_impl::set_mark(xa_state &s, unsigned mark) noexcept {
  if (s.err_ != errc::ok || s.pos_ != xa_state::pos::walked) return;
  xarray &xa = writable(s);
  xa_node *n = s.node_;
  unsigned off = s.offset_;
  while (n) {
    std::uint64_t bits = n->marks[mark].load(std::memory_order_relaxed);
    const std::uint64_t bit = std::uint64_t{1} << off;
    if (bits & bit) return;  // already set here, hence above
    n->marks[mark].store(bits | bit, std::memory_order_release);
    off = n->offset;
    n = n->parent.load(std::memory_order_relaxed);
  }
  xa.root_marks_.fetch_or(1u << mark, std::memory_order_release);
}

void xa_impl::clear_mark(xa_state &s, unsigned mark) noexcept {
  if (s.err_ != errc::ok || s.pos_ != xa_state::pos::walked) return;
  xarray &xa = writable(s);
  xa_node *n = s.node_;
  unsigned off = s.offset_;
  while (n) {
    std::uint64_t bits = n->marks[mark].load(std::memory_order_relaxed);
    const std::uint64_t bit = std::uint64_t{1} << off;
    if (!(bits & bit)) return;
    bits &= ~bit;
    n->marks[mark].store(bits, std::memory_order_release);
    if (bits != 0) return;  // the node still carries the mark
    off = n->offset;
    n = n->parent.load(std::memory_order_relaxed);
  }
  xa.root_marks_.fetch_and(~(1u << mark), std::memory_order_release);
}

}  // namespace maple::detail
