// Splitting a multi-index entry into entries of a smaller order. The new
// subtrees are built whole before one store per old slot publishes them, so
// a reader sees the old entry or the new ones; a failed allocation frees
// what was built and leaves the array unchanged.
#include "xarray/impl.h"

namespace maple::detail {
namespace {

constexpr unsigned kUnsupported = ~0u;
constexpr unsigned kMaxSplitLevels = 2;  // new nodes at most two levels deep

unsigned order_shift(unsigned order) { return order - order % xa_chunk_shift; }
unsigned order_slots(unsigned order) { return 1u << (order % xa_chunk_shift); }

struct split_plan {
  xa_word entry;
  unsigned new_shift;
  unsigned step;                  // slots per new entry at new_shift
  std::uint64_t marks[xa_marks];  // bits to set in every new node (per mark)
};

void fill_entries(xa_node *n, const split_plan &p) {
  for (unsigned i = 0; i < xa_chunk_size; ++i) {
    unsigned first = i - i % p.step;
    n->slots[i].store(i == first ? p.entry : xa_make_sibling(first), std::memory_order_relaxed);
  }
  n->count = static_cast<unsigned char>(xa_chunk_size);
}

void free_built(xarray &xa, xa_node *n) {
  if (n->shift != 0)
    for (auto &slot : n->slots) {
      xa_word w = slot.load(std::memory_order_relaxed);
      if (xa_word_node(w)) free_built(xa, xa_word_to_node(w));
    }
  xa_impl::free_unpublished(xa, n);
}

}  // namespace

unsigned xa_impl::split_nodes_needed(const xa_state &s, unsigned order) noexcept {
  const unsigned old_shift = order_shift(order);
  if (old_shift == s.shift_) return 0;
  const unsigned levels = (old_shift - s.shift_) / xa_chunk_shift;
  if (levels > kMaxSplitLevels) return kUnsupported;
  unsigned per_slot = 0, width = 1;
  for (unsigned l = 0; l < levels; ++l, width *= xa_chunk_size) per_slot += width;
  return per_slot * order_slots(order);
}

void xa_impl::split(xa_state &s, xa_word entry, unsigned order) noexcept {
  if (s.err_ != errc::ok) return;
  xarray &xa = writable(s);
  const unsigned need = entry == 0 || xa_word_internal(entry) || order > 64 || order <= s.order()
                            ? kUnsupported
                            : split_nodes_needed(s, order);
  if (need == kUnsupported) {
    s.err_ = errc::invalid_argument;
    return;
  }
  // The entry being split must sit exactly at the old order's place.
  xa_state probe(xa, s.index_, order);
  xa_word old = load(probe);
  xa_node *p = probe.node_;
  const unsigned old_shift = order_shift(order), old_slots = order_slots(order);
  if (!probe.valid() || !p || old == 0 || xa_word_node(old) || old == xa_retry_word ||
      p->shift != old_shift || probe.offset_ != xa_slot_of(probe.index_, old_shift) ||
      extent(p, probe.offset_) != old_slots) {
    s.err_ = errc::invalid_argument;
    return;
  }
  const unsigned c = probe.offset_;
  split_plan plan{entry, s.shift_, s.sibs_ + 1u, {}};
  bool marked[xa_marks] = {};
  for (unsigned m = 0; m < xa_marks; ++m) {
    if (xa.is_alloc() && m == xa_free_mark) continue;
    marked[m] = (p->marks[m].load(std::memory_order_relaxed) >> c) & 1;
  }

  if (old_shift == s.shift_) {
    // Same level: rewrite the slots, last first, so the old first slot
    // (which keeps being a first slot) changes last.
    std::uint64_t firsts = 0;
    for (unsigned i = c + old_slots; i-- > c;) {
      unsigned first = i - (i - c) % plan.step;
      if (i == first) firsts |= std::uint64_t{1} << i;
      p->slots[i].store(i == first ? entry : xa_make_sibling(first), std::memory_order_release);
    }
    siblings_changed(p);
    for (unsigned m = 0; m < xa_marks; ++m)
      if (marked[m]) p->marks[m].fetch_or(firsts, std::memory_order_release);
    s.pos_ = xa_state::pos::restart;
    return;
  }

  // Build one subtree per old slot, recursively, before publishing any.
  for (unsigned m = 0; m < xa_marks; ++m) {
    if (!marked[m]) continue;
    std::uint64_t firsts = 0;
    for (unsigned i = 0; i < xa_chunk_size; i += plan.step) firsts |= std::uint64_t{1} << i;
    plan.marks[m] = firsts;
  }
  auto build = [&](auto &self, unsigned shift, xa_node *parent, unsigned offset) -> xa_node * {
    xa_node *n = alloc_node(s, shift, parent, offset);
    if (!n) return nullptr;
    if (xa.is_alloc()) n->marks[xa_free_mark].store(0, std::memory_order_relaxed);
    if (shift == plan.new_shift) {
      fill_entries(n, plan);
      for (unsigned m = 0; m < xa_marks; ++m)
        if (marked[m]) n->marks[m].store(plan.marks[m], std::memory_order_relaxed);
      return n;
    }
    for (unsigned i = 0; i < xa_chunk_size; ++i) {
      xa_node *child = self(self, shift - xa_chunk_shift, n, i);
      if (!child) {
        free_built(xa, n);
        return nullptr;
      }
      n->slots[i].store(xa_node_word(child), std::memory_order_relaxed);
      ++n->count;
    }
    for (unsigned m = 0; m < xa_marks; ++m)
      if (marked[m]) n->marks[m].store(~std::uint64_t{0}, std::memory_order_relaxed);
    return n;
  };
  xa_node *built[xa_chunk_size] = {};
  for (unsigned k = 0; k < old_slots; ++k) {
    built[k] = build(build, old_shift - xa_chunk_shift, p, c + k);
    if (!built[k]) {
      for (unsigned j = 0; j < k; ++j) free_built(xa, built[j]);
      return;  // no_memory set by alloc_node
    }
  }
  for (unsigned k = old_slots; k-- > 0;)
    p->slots[c + k].store(xa_node_word(built[k]), std::memory_order_release);
  if (old_slots > 1) siblings_changed(p);
  for (unsigned m = 0; m < xa_marks; ++m)
    if (marked[m]) p->marks[m].fetch_or(xa_bit_range(c, old_slots), std::memory_order_release);
  propagate_marks(xa, p);
  shrink(xa);  // a top node whose only slot became a node lowers the tree
  s.pos_ = xa_state::pos::restart;
}

}  // namespace maple::detail
