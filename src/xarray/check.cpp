// validate() and stats(): whole-tree walks (readers; no lock taken).
#include <bit>
#include <sstream>

#include "xarray/impl.h"

namespace maple::detail {
namespace {

struct checker {
  const xarray &xa;
  bool alloc;
  std::ostringstream why;
  bool failed = false;

  bool fail(const xa_node *n, unsigned slot, const char *what) {
    if (!failed) {
      why << what << " (node " << static_cast<const void *>(n) << " shift " << unsigned{n->shift}
          << " slot " << slot << ")";
      failed = true;
    }
    return false;
  }

  // Checks n and below; `any` receives, per mark, whether n carries it.
  bool node(const xa_node *n, unsigned depth_shift, bool any[xa_marks]) {
    if (n->shift != depth_shift) return fail(n, 0, "wrong shift");
    unsigned count = 0;
    std::uint64_t expect[xa_marks] = {};
    std::uint64_t have[xa_marks];
    for (unsigned m = 0; m < xa_marks; ++m) have[m] = n->marks[m].load(std::memory_order_acquire);
    for (unsigned i = 0; i < xa_chunk_size; ++i) {
      xa_word w = n->slots[i].load(std::memory_order_acquire);
      if (w != 0) ++count;
      const std::uint64_t bit = std::uint64_t{1} << i;
      if (w == xa_retry_word) return fail(n, i, "retry entry in a live node");
      if (xa_word_sibling(w)) {
        unsigned first = xa_sibling_offset(w);
        if (first >= i) return fail(n, i, "sibling points forward");
        xa_word f = n->slots[first].load(std::memory_order_acquire);
        if (f == 0 || xa_word_sibling(f) || xa_word_node(f))
          return fail(n, i, "sibling of a non-entry");
        for (unsigned j = first + 1; j < i; ++j)
          if (n->slots[j].load(std::memory_order_acquire) != w)
            return fail(n, i, "sibling run broken");
        for (unsigned m = 0; m < xa_marks; ++m)
          if (have[m] & bit) return fail(n, i, "mark on a sibling slot");
        continue;
      }
      if (xa_word_node(w)) {
        if (n->shift == 0) return fail(n, i, "node word in a leaf");
        const xa_node *c = xa_word_to_node(w);
        if (c->parent.load(std::memory_order_acquire) != n || c->offset != i)
          return fail(n, i, "bad parent link");
        if (c->count == 0) return fail(n, i, "empty child node");
        bool child_any[xa_marks] = {};
        if (!node(c, n->shift - xa_chunk_shift, child_any)) return false;
        for (unsigned m = 0; m < xa_marks; ++m)
          if (child_any[m]) expect[m] |= bit;
        continue;
      }
      if (w != 0) {
        // An entry: its extent must be an aligned power of two.
        unsigned ext = xa_impl::extent(n, i);
        if (!std::has_single_bit(ext) || i % ext != 0) return fail(n, i, "misaligned entry");
        for (unsigned m = 0; m < xa_marks; ++m)
          if (!(alloc && m == xa_free_mark) && (have[m] & bit)) expect[m] |= bit;
      } else if (alloc) {
        expect[xa_free_mark] |= bit;  // an empty slot is free
      }
    }
    if (count != n->count) return fail(n, 0, "count mismatch");
    for (unsigned m = 0; m < xa_marks; ++m) {
      if (have[m] != expect[m]) return fail(n, m, "mark bits disagree with the slots");
      any[m] = have[m] != 0;
    }
    return true;
  }
};

}  // namespace

check_report xa_impl::validate(const xarray &xa) {
  checker ck{xa, xa.is_alloc(), {}, false};
  xa_word h = head(xa);
  unsigned root = xa.root_marks_.load(std::memory_order_acquire);
  check_report r;
  if (!xa_word_node(h)) {
    if (xa_word_internal(h) && h != xa_zero_word) {
      r.ok = false;
      r.message = "internal word in the head";
    } else if (h == 0 && root != 0) {
      r.ok = false;
      r.message = "marks on an empty array";
    }
    return r;
  }
  const xa_node *top = xa_word_to_node(h);
  bool any[xa_marks] = {};
  if (top->parent.load(std::memory_order_acquire) != nullptr) {
    r.ok = false;
    r.message = "top node has a parent";
    return r;
  }
  if (!ck.node(top, top->shift, any)) {
    r.ok = false;
    r.message = ck.why.str();
    return r;
  }
  for (unsigned m = 0; m < xa_marks; ++m)
    if (any[m] != (((root >> m) & 1) != 0)) {
      r.ok = false;
      r.message = "root marks disagree with the top node";
      return r;
    }
  xa_word s0 = top->slots[0].load(std::memory_order_acquire);
  if (top->count == 1 && s0 != 0 && (xa_word_node(s0) || top->shift == 0)) {
    r.ok = false;
    r.message = "tree not shrunk";
  } else if (top->count == 0) {
    r.ok = false;
    r.message = "empty top node";
  }
  return r;
}

xa_stats xa_impl::stats(const xarray &xa) {
  xa_stats st;
  xa_word h = head(xa);
  if (!xa_word_node(h)) {
    st.entries = h != 0 ? 1 : 0;
    return st;
  }
  const xa_node *top = xa_word_to_node(h);
  st.height = top->shift / xa_chunk_shift + 1;
  auto walk = [&](auto &self, const xa_node *n) -> void {
    ++st.nodes;
    for (const auto &slot : n->slots) {
      xa_word w = slot.load(std::memory_order_acquire);
      if (w == 0 || xa_word_sibling(w)) continue;
      if (n->shift != 0 && xa_word_node(w))
        self(self, xa_word_to_node(w));
      else
        ++st.entries;
    }
  };
  walk(walk, top);
  st.bytes = st.nodes * sizeof(xa_node);
  return st;
}

}  // namespace maple::detail
