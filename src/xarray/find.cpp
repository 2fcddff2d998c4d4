// Forward searches: the next present, marked or free slot.
#include <bit>

#include "xarray/impl.h"

namespace maple::detail {

bool xa_impl::scan(xa_state &s, xa_node *n, unsigned off, std::uint64_t max, xa_filter filter,
                   xa_word &out) noexcept {
  const bool by_mark = filter != xa_filter::present;
  const unsigned mark = filter == xa_filter::free ? xa_free_mark : static_cast<unsigned>(filter);
  std::uint64_t base = s.index_ & ~xa_span_mask(n->shift);
  for (;;) {
    if (off < xa_chunk_size && by_mark) {
      // Skip straight to the next slot whose subtree carries the mark.
      std::uint64_t bits = n->marks[mark].load(std::memory_order_acquire) >> off;
      off = bits ? off + static_cast<unsigned>(std::countr_zero(bits)) : xa_chunk_size;
    }
    if (off >= xa_slots_in(n->shift)) {
      xa_node *up = n->parent.load(std::memory_order_acquire);
      if (!up) return false;
      off = n->offset + 1u;
      n = up;
      base &= ~xa_span_mask(n->shift);
      continue;
    }
    std::uint64_t first = base + (std::uint64_t{off} << n->shift);
    if (first > max) return false;
    xa_word w = n->slots[off].load(std::memory_order_acquire);
    if (n->shift != 0 && xa_word_node(w)) {
      n = xa_word_to_node(w);
      base = first;
      off = 0;
      continue;
    }
    bool hit;
    if (w == xa_retry_word)
      hit = true;  // the caller restarts (xa_state::retry)
    else if (filter == xa_filter::free)
      hit = !xa_word_sibling(w) && (w == 0 || xa_word_node(w));
    else
      hit = w != 0 && !xa_word_sibling(w);
    if (!hit) {
      ++off;
      continue;
    }
    s.node_ = n;
    s.offset_ = static_cast<unsigned char>(off);
    s.index_ = first;
    s.pos_ = xa_state::pos::walked;
    out = w;
    return true;
  }
}

xa_word xa_impl::find(xa_state &s, std::uint64_t max) noexcept {
  if (s.err_ != errc::ok || s.pos_ == xa_state::pos::bounds) return 0;
  if (s.index_ > max) {
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  if (s.pos_ == xa_state::pos::walked && !s.node_) {
    s.index_ = 1;  // past the head's only index
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  if (s.pos_ == xa_state::pos::restart) {
    xa_word w = load(s);
    if (w != 0 || s.pos_ != xa_state::pos::walked || !s.node_) return w;
    // Nothing holds the index. The walk may have ended on the first slot of
    // an entry erased under it (reached through a sibling): search on from
    // the index's own slot, never from before the index.
    s.offset_ = static_cast<unsigned char>(xa_slot_of(s.index_, s.node_->shift));
  }
  xa_word out = 0;
  if (scan(s, s.node_, s.offset_ + 1u, max, xa_filter::present, out)) return out;
  s.pos_ = xa_state::pos::bounds;
  return 0;
}

xa_word xa_impl::find_marked(xa_state &s, std::uint64_t max, unsigned mark) noexcept {
  if (s.err_ != errc::ok || s.pos_ == xa_state::pos::bounds) return 0;
  if (s.index_ > max) {
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  if (s.pos_ == xa_state::pos::walked && !s.node_) {
    s.index_ = 1;
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  const auto filter = static_cast<xa_filter>(mark);
  xa_word out = 0;
  if (s.pos_ == xa_state::pos::walked)
    return scan(s, s.node_, s.offset_ + 1u, max, filter, out) ? out
                                                              : (s.pos_ = xa_state::pos::bounds, 0);

  // Restart: walk down the index's path while the marks allow it.
  xa_word h = head(*s.xa_);
  if (!xa_word_node(h)) {
    if (s.index_ == 0 && h != 0 &&
        (s.xa_->root_marks_.load(std::memory_order_acquire) >> mark) & 1) {
      s.pos_ = xa_state::pos::walked;
      s.node_ = nullptr;
      s.offset_ = 0;
      return h;
    }
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  xa_node *n = xa_word_to_node(h);
  if (s.index_ > xa_span_mask(n->shift)) {
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  for (;;) {
    const unsigned off = xa_slot_of(s.index_, n->shift);
    unsigned c = off;
    xa_word w = read_slot(n, c);
    if (w == xa_retry_word && c != off) {  // caught mid-split: walk again
      s.pos_ = xa_state::pos::restart;
      return w;
    }
    bool marked = (n->marks[mark].load(std::memory_order_acquire) >> c) & 1;
    if (marked && n->shift != 0 && xa_word_node(w)) {
      n = xa_word_to_node(w);
      continue;
    }
    if (marked && w != 0) {
      if (c != off) s.index_ = xa_slot_start(s.index_, n->shift, c);
      s.node_ = n;
      s.offset_ = static_cast<unsigned char>(c);
      s.pos_ = xa_state::pos::walked;
      return w;
    }
    if (scan(s, n, off + 1u, max, filter, out)) return out;
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
}

bool xa_impl::find_free(xarray &xa, std::uint64_t min, std::uint64_t max,
                        std::uint64_t &index) noexcept {
  if (min > max) return false;
  xa_word h = head(xa);
  if (!xa_word_node(h)) {
    // Only index 0 can be held.
    if (h == 0 || min > 0) {
      index = min;
      return true;
    }
    if (max == 0) return false;
    index = 1;
    return true;
  }
  xa_node *n = xa_word_to_node(h);
  std::uint64_t top_max = xa_span_mask(n->shift);
  if (min > top_max) {
    index = min;
    return true;
  }
  xa_state s(xa, min);
  for (;;) {
    unsigned off = xa_slot_of(min, n->shift);
    xa_word w = n->slots[off].load(std::memory_order_relaxed);
    bool free = (n->marks[xa_free_mark].load(std::memory_order_relaxed) >> off) & 1;
    if (free && xa_word_node(w) && n->shift != 0) {
      n = xa_word_to_node(w);
      continue;
    }
    if (free && w == 0) {
      index = min;
      return true;
    }
    xa_word out = 0;
    if (scan(s, n, off + 1u, max, xa_filter::free, out)) {
      index = s.index_;
      return true;
    }
    break;
  }
  // Nothing free inside the tree: the first index past it.
  if (top_max == ~std::uint64_t{0} || top_max + 1 > max) return false;
  index = top_max + 1;
  return true;
}

}  // namespace maple::detail
