// Stores: locating (and creating) the slots a store writes, writing them in
// an order lockless readers tolerate, and removing nodes that become empty.
#include <algorithm>

#include "xarray/impl.h"

namespace maple::detail {

bool xa_impl::expand(xa_state &s, std::uint64_t last) noexcept {
  xarray &xa = writable(s);
  xa_word h = head(xa);
  if (h == 0) {
    // The smallest top node that holds the state's level and range.
    unsigned shift = s.shift_;
    while (xa_span_mask(shift) < last) shift += xa_chunk_shift;
    xa_node *top = alloc_node(s, shift, nullptr, 0);
    if (!top) return false;
    publish_head(xa, xa_node_word(top));
    set_root_marks_from(xa, head(xa));
    return true;
  }
  if (!xa_word_node(h)) {
    // The entry held in the head moves into slot 0 of a leaf.
    xa_node *leaf = alloc_node(s, 0, nullptr, 0);
    if (!leaf) return false;
    leaf->slots[0].store(h, std::memory_order_relaxed);
    leaf->count = 1;
    unsigned root = xa.root_marks_.load(std::memory_order_relaxed);
    for (unsigned m = 0; m < xa_marks; ++m) {
      std::uint64_t bits = leaf->marks[m].load(std::memory_order_relaxed);
      if (xa.is_alloc() && m == xa_free_mark)
        bits &= ~std::uint64_t{1};
      else if ((root >> m) & 1)
        bits |= 1;
      leaf->marks[m].store(bits, std::memory_order_relaxed);
    }
    publish_head(xa, xa_node_word(leaf));
    h = head(xa);
  }
  xa_node *top = xa_word_to_node(h);
  while (top->shift < s.shift_ || xa_span_mask(top->shift) < last) {
    xa_node *up = alloc_node(s, top->shift + xa_chunk_shift, nullptr, 0);
    if (!up) {
      shrink(xa);  // undoes the levels added so far
      return false;
    }
    up->slots[0].store(xa_node_word(top), std::memory_order_relaxed);
    up->count = 1;
    for (unsigned m = 0; m < xa_marks; ++m) {
      std::uint64_t bits = up->marks[m].load(std::memory_order_relaxed) & ~std::uint64_t{1};
      if (top->marks[m].load(std::memory_order_relaxed) != 0) bits |= 1;
      up->marks[m].store(bits, std::memory_order_relaxed);
    }
    top->parent.store(up, std::memory_order_release);
    publish_head(xa, xa_node_word(up));
    top = up;
  }
  set_root_marks_from(xa, head(xa));
  return true;
}

bool xa_impl::locate(xa_state &s, bool create, xa_target &t) noexcept {
  xarray &xa = writable(s);
  const std::uint64_t first = s.index_;
  const std::uint64_t last = range_last(s);
  xa_word h = head(xa);
  if (!xa_word_node(h)) {
    if (last == 0) {  // index 0 alone lives in the head
      t = {nullptr, 0, 1};
      return true;
    }
    if (!create) {
      if (first == 0 && h != 0) {
        t = {nullptr, 0, 1};
        return true;
      }
      return false;
    }
  } else if (!create) {
    xa_node *top = xa_word_to_node(h);
    if (first > xa_span_mask(top->shift)) return false;
    if (first == 0 && last >= xa_span_mask(top->shift)) {  // the range covers the whole tree
      t = {nullptr, 0, 1};
      return true;
    }
  }
  if (create && !expand(s, last)) return false;

  xa_node *n = xa_word_to_node(head(xa));
  for (;;) {
    unsigned off = xa_slot_of(first, n->shift);
    unsigned c = off;
    xa_word w = n->slots[off].load(std::memory_order_relaxed);
    while (xa_word_sibling(w)) {
      c = xa_sibling_offset(w);
      w = n->slots[c].load(std::memory_order_relaxed);
    }
    if (n->shift == s.shift_) {
      unsigned ns = s.sibs_ + 1u;
      if (c != off)
        ns = extent(n, c);  // inside a larger entry: replace it whole
      else if (w != 0 && !xa_word_node(w))
        ns = std::max(ns, extent(n, c));
      t = {n, c, ns};
      return true;
    }
    if (xa_word_node(w)) {
      n = xa_word_to_node(w);
      continue;
    }
    if (w != 0) {  // a larger entry holds the range: replace it whole
      t = {n, c, extent(n, c)};
      return true;
    }
    if (!create) return false;
    xa_node *child = alloc_node(s, n->shift - xa_chunk_shift, n, off);
    if (!child) {
      delete_empty(xa, n);  // undoes the nodes created so far
      return false;
    }
    n->slots[off].store(xa_node_word(child), std::memory_order_release);
    ++n->count;
    n = child;
  }
}

namespace {

// The entry at the first index a replaced subtree covered (what a store
// reports as the old entry; never a node word).
xa_word first_entry(xa_word w) noexcept {
  while (xa_word_node(w)) w = xa_word_to_node(w)->slots[0].load(std::memory_order_relaxed);
  return w;
}

}  // namespace

xa_word xa_impl::write(xa_state &s, const xa_target &t, xa_word entry) noexcept {
  xarray &xa = writable(s);
  s.pos_ = xa_state::pos::walked;
  s.node_ = t.node;
  s.offset_ = static_cast<unsigned char>(t.offset);
  if (!t.node) {
    xa_word old = xa.head_.load(std::memory_order_relaxed);
    const xa_word reported = first_entry(old);
    publish_head(xa, entry);
    if (xa_word_node(old)) retire_subtree(xa, xa_word_to_node(old));
    if (entry == 0) {
      xa.root_marks_.store(0, std::memory_order_relaxed);
      s.pos_ = xa_state::pos::restart;
    } else if (xa.is_alloc()) {
      xa.root_marks_.fetch_and(~(1u << xa_free_mark), std::memory_order_relaxed);
    }
    return reported;
  }

  xa_node *n = t.node;
  const unsigned c = t.offset;
  const std::uint64_t range = xa_bit_range(c, t.nslots);
  // Marks: what the range carried merges onto the new entry; nullptr drops
  // them; the free mark follows the entry's presence.
  for (unsigned m = 0; m < xa_marks; ++m) {
    std::uint64_t bits = n->marks[m].load(std::memory_order_relaxed);
    std::uint64_t nb;
    if (xa.is_alloc() && m == xa_free_mark)
      nb = entry ? bits & ~range : bits | range;
    else if (entry)
      nb = (bits & ~range) | ((bits & range) ? std::uint64_t{1} << c : 0);
    else
      nb = bits & ~range;
    if (nb != bits) n->marks[m].store(nb, std::memory_order_release);
  }
  // The first slot first, then its siblings: a reader sees the old or the
  // new word in each slot, never a torn one.
  const xa_word old = first_entry(n->slots[c].load(std::memory_order_relaxed));
  int count = n->count;
  bool unsibled = false;  // a sibling word became something else
  for (unsigned i = c; i < c + t.nslots; ++i) {
    xa_word w = n->slots[i].load(std::memory_order_relaxed);
    xa_word nw = entry == 0 ? 0 : (i == c ? entry : xa_make_sibling(c));
    n->slots[i].store(nw, std::memory_order_release);
    count += static_cast<int>(nw != 0) - static_cast<int>(w != 0);
    unsibled |= xa_word_sibling(w) && nw != w;
    if (n->shift != 0 && xa_word_node(w)) retire_subtree(xa, xa_word_to_node(w));
  }
  n->count = static_cast<unsigned char>(count);
  if (unsibled) siblings_changed(n);
  if (entry == 0) {
    s.pos_ = xa_state::pos::restart;
    if (count == 0) {
      delete_empty(xa, n);
      return old;
    }
    propagate_marks(xa, n);
    shrink(xa);
    return old;
  }
  propagate_marks(xa, n);
  return old;
}

xa_word xa_impl::store(xa_state &s, xa_word entry) noexcept {
  if (s.err_ != errc::ok) return 0;
  xa_target t;
  if (!locate(s, entry != 0, t)) {
    s.pos_ = xa_state::pos::restart;
    return 0;
  }
  return write(s, t, entry);
}

unsigned xa_impl::store_bound(const xa_state &s) noexcept {
  // New levels on top plus one new node per level on the way down.
  xa_word h = head(*s.xa_);
  unsigned top = xa_word_node(h) ? xa_word_to_node(h)->shift : 0;
  unsigned shift = std::max<unsigned>(top, s.shift_);
  while (xa_span_mask(shift) < range_last(s)) shift += xa_chunk_shift;
  return 2 * (shift - s.shift_) / xa_chunk_shift + 2;
}

bool xa_impl::occupied(xa_state &s) noexcept {
  xa_target t;
  if (!locate(s, false, t)) return false;
  if (!t.node) return head(*s.xa_) != 0;
  for (unsigned i = t.offset; i < t.offset + t.nslots; ++i)
    if (t.node->slots[i].load(std::memory_order_relaxed) != 0) return true;
  return false;
}

void xa_impl::delete_empty(xarray &xa, xa_node *n) noexcept {
  while (n->count == 0) {
    xa_node *up = n->parent.load(std::memory_order_relaxed);
    if (!up) {
      publish_head(xa, 0);
      xa.root_marks_.store(0, std::memory_order_relaxed);
      retire_node(xa, n);
      return;
    }
    up->slots[n->offset].store(0, std::memory_order_release);
    --up->count;
    const std::uint64_t bit = std::uint64_t{1} << n->offset;
    for (unsigned m = 0; m < xa_marks; ++m) {
      std::uint64_t bits = up->marks[m].load(std::memory_order_relaxed);
      bits = (xa.is_alloc() && m == xa_free_mark) ? bits | bit : bits & ~bit;
      up->marks[m].store(bits, std::memory_order_release);
    }
    retire_node(xa, n);
    n = up;
  }
  propagate_marks(xa, n);
  shrink(xa);
}

void xa_impl::shrink(xarray &xa) noexcept {
  for (;;) {
    xa_word h = xa.head_.load(std::memory_order_relaxed);
    if (!xa_word_node(h)) return;
    xa_node *top = xa_word_to_node(h);
    if (top->count != 1) return;
    xa_word w = top->slots[0].load(std::memory_order_relaxed);
    if (w == 0) return;
    if (!xa_word_node(w) && top->shift != 0) return;  // a multi-index entry stays in its node
    if (xa_word_node(w)) xa_word_to_node(w)->parent.store(nullptr, std::memory_order_release);
    publish_head(xa, w);
    // A reader still in the old top re-walks rather than trust slot 0.
    if (!xa_word_node(w)) top->slots[0].store(xa_retry_word, std::memory_order_release);
    top->count = 0;
    retire_node(xa, top);
    set_root_marks_from(xa, w);
    if (!xa_word_node(w)) {
      // Only slot 0's own marks survive as the head entry's marks.
      unsigned root = 0;
      for (unsigned m = 0; m < xa_marks; ++m)
        if (!(xa.is_alloc() && m == xa_free_mark) &&
            (top->marks[m].load(std::memory_order_relaxed) & 1))
          root |= 1u << m;
      xa.root_marks_.store(root, std::memory_order_relaxed);
      return;
    }
  }
}

}  // namespace maple::detail
