// Walking to an index, re-reading and stepping: the xa_state positions.
#include <bit>

#include "xarray/impl.h"
#include "xarray/test_hooks.h"

namespace maple::detail {

std::uint64_t xa_impl::range_last(const xa_state &s) noexcept {
  unsigned order = s.order();
  if (order >= 64) return ~std::uint64_t{0};
  return s.index_ | ((std::uint64_t{1} << order) - 1);
}

std::uint64_t xa_impl::slot_first(const xa_state &s) noexcept {
  if (!s.node_) return 0;
  return xa_slot_start(s.index_, s.node_->shift, s.offset_);
}

namespace {
std::atomic<void (*)(void *)> sibling_hook{nullptr};
std::atomic<void *> sibling_hook_arg{nullptr};
}  // namespace

void xa_set_sibling_hook(void (*fn)(void *), void *arg) noexcept {
  sibling_hook_arg.store(arg, std::memory_order_relaxed);
  sibling_hook.store(fn, std::memory_order_release);
}

xa_word xa_impl::read_sibling(const xa_node *n, unsigned &off) noexcept {
  // The first slot is read after the sibling word, so in between a writer
  // may erase or split the entry and store a smaller one there that does
  // not cover `off`. Every write that turns a sibling word into anything
  // else bumps n->seq after its slot stores (siblings_changed), so:
  //  * a first-slot word stored after such a write makes the second seq
  //    load see the bump (the word's release store comes after it);
  //  * if the first seq load already saw it, the write's slot stores are
  //    visible, so the sibling re-read below is not the one it replaced.
  // An unchanged seq therefore means the word was stored while `off` still
  // was its sibling (or is the nullptr or piece word of the very erase or
  // split that ends it): a word that held `off`. Retired nodes only turn
  // slots into retry words and are never written again: no bump needed.
  for (;;) {
    const std::uint32_t seq = n->seq.load(std::memory_order_acquire);
    unsigned c = off;
    xa_word w = n->slots[c].load(std::memory_order_acquire);
    while (xa_word_sibling(w)) {  // siblings point to lower offsets: this ends
      c = xa_sibling_offset(w);
      if (auto *hook = sibling_hook.load(std::memory_order_acquire))
        hook(sibling_hook_arg.load(std::memory_order_relaxed));
      w = n->slots[c].load(std::memory_order_acquire);
    }
    if (n->seq.load(std::memory_order_relaxed) != seq) continue;  // acquire loads above order it
    if (c != off && n->shift != 0 && xa_word_node(w)) w = xa_retry_word;
    off = c;
    return w;
  }
}

unsigned xa_impl::extent(const xa_node *n, unsigned offset) noexcept {
  const xa_word sib = xa_make_sibling(offset);
  unsigned k = 1;
  while (offset + k < xa_chunk_size && n->slots[offset + k].load(std::memory_order_acquire) == sib)
    ++k;
  return k;
}

xa_word xa_impl::start(xa_state &s) noexcept {
  if (s.err_ != errc::ok) return 0;
  if (s.pos_ == xa_state::pos::walked) return reload(s);
  xa_word h = head(*s.xa_);
  std::uint64_t max = xa_word_node(h) ? xa_span_mask(xa_word_to_node(h)->shift) : 0;
  if (s.index_ > max) {
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  s.pos_ = xa_state::pos::walked;
  s.node_ = nullptr;
  s.offset_ = 0;
  return h;
}

xa_word xa_impl::descend(xa_state &s, xa_node *n) noexcept {
  unsigned off = xa_slot_of(s.index_, n->shift);
  xa_word w = read_slot(n, off);
  s.node_ = n;
  s.offset_ = static_cast<unsigned char>(off);
  return w;
}

xa_word xa_impl::load(xa_state &s) noexcept {
  xa_word w = start(s);
  while (xa_word_node(w)) {
    xa_node *n = xa_word_to_node(w);
    if (s.shift_ > n->shift) break;
    w = descend(s, n);
    if (n->shift == 0) break;
  }
  return w;
}

xa_word xa_impl::reload(xa_state &s) noexcept {
  if (s.err_ != errc::ok) return 0;
  if (s.pos_ != xa_state::pos::walked) return load(s);
  if (!s.node_) return head(*s.xa_);
  unsigned off = s.offset_;
  return read_slot(s.node_, off);
}

xa_word xa_impl::next(xa_state &s) noexcept {
  if (s.err_ != errc::ok) return 0;
  if (s.pos_ == xa_state::pos::restart) return load(s);
  ++s.index_;
  if (s.pos_ == xa_state::pos::walked && s.node_ == nullptr) {
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  if (s.pos_ == xa_state::pos::walked && s.node_->shift == 0 &&
      s.offset_ == ((s.index_ - 1) & (xa_chunk_size - 1)) && s.offset_ + 1u < xa_chunk_size) {
    ++s.offset_;
    return s.node_->slots[s.offset_].load(std::memory_order_acquire);
  }
  s.pos_ = xa_state::pos::restart;
  return load(s);
}

xa_word xa_impl::prev(xa_state &s) noexcept {
  if (s.err_ != errc::ok) return 0;
  if (s.pos_ == xa_state::pos::restart) return load(s);
  --s.index_;
  if (s.pos_ == xa_state::pos::walked && s.node_ == nullptr) {
    s.pos_ = xa_state::pos::bounds;
    return 0;
  }
  if (s.pos_ == xa_state::pos::walked && s.node_->shift == 0 &&
      s.offset_ == ((s.index_ + 1) & (xa_chunk_size - 1)) && s.offset_ > 0) {
    --s.offset_;
    return s.node_->slots[s.offset_].load(std::memory_order_acquire);
  }
  s.pos_ = xa_state::pos::restart;
  return load(s);
}

}  // namespace maple::detail

// ---- the public cursor --------------------------------------------------------

namespace maple {

using detail::xa_impl;

xa_state::xa_state(xarray &xa, std::uint64_t index, unsigned order) noexcept
    : xa_(&xa), writable_(&xa) {
  set_order(index, order);
}

xa_state::xa_state(const xarray &xa, std::uint64_t index) noexcept : xa_(&xa) {
  set_order(index, 0);
}

xa_state::~xa_state() { xa_impl::free_spares(*this); }

unsigned xa_state::order() const noexcept {
  return shift_ + static_cast<unsigned>(std::countr_zero(static_cast<unsigned>(sibs_) + 1u));
}

void xa_state::set(std::uint64_t index) noexcept {
  index_ = index;
  pos_ = pos::restart;
  err_ = errc::ok;
}

void xa_state::set_order(std::uint64_t index, unsigned order) noexcept {
  pos_ = pos::restart;
  if (order > 64) {
    err_ = errc::invalid_argument;
    return;
  }
  err_ = errc::ok;
  shift_ = static_cast<unsigned char>(order - order % detail::xa_chunk_shift);
  sibs_ = static_cast<unsigned char>((1u << (order % detail::xa_chunk_shift)) - 1);
  index_ = order >= 64 ? 0 : (index >> order) << order;
}

void xa_state::reset() noexcept {
  if (err_ == errc::ok) pos_ = pos::restart;
}

void xa_state::pause() noexcept {
  if (err_ != errc::ok || pos_ != pos::walked) return;
  pos_ = pos::restart;
  if (!node_) {
    ++index_;
    return;
  }
  // Resume at the first slot after the whole entry the state is on.
  unsigned off = offset_;
  while (++off < detail::xa_chunk_size) {
    if (!detail::xa_word_sibling(node_->slots[off].load(std::memory_order_acquire))) break;
  }
  std::uint64_t base = index_ & ~detail::xa_span_mask(node_->shift);
  if (off < detail::xa_slots_in(node_->shift)) {
    index_ = base + (std::uint64_t{off} << node_->shift);
    return;
  }
  std::uint64_t span = detail::xa_span_mask(node_->shift);
  if (span == ~std::uint64_t{0} || base + span == ~std::uint64_t{0}) {
    index_ = 0;  // wrapped past the last index
    pos_ = pos::bounds;
    return;
  }
  index_ = base + span + 1;
}

bool xa_state::retry(const void *entry) noexcept {
  if (xa_is_zero(entry)) return true;
  if (!xa_is_retry(entry)) return false;
  reset();
  return true;
}

void *xa_state::load() noexcept { return reinterpret_cast<void *>(xa_impl::load(*this)); }
void *xa_state::reload() noexcept { return reinterpret_cast<void *>(xa_impl::reload(*this)); }
void *xa_state::next() noexcept { return reinterpret_cast<void *>(xa_impl::next(*this)); }
void *xa_state::prev() noexcept { return reinterpret_cast<void *>(xa_impl::prev(*this)); }

void *xa_state::find(std::uint64_t max) noexcept {
  return reinterpret_cast<void *>(xa_impl::find(*this, max));
}

void *xa_state::find_marked(std::uint64_t max, xa_mark mark) noexcept {
  return reinterpret_cast<void *>(xa_impl::find_marked(*this, max, static_cast<unsigned>(mark)));
}

unsigned xa_state::get_order() noexcept {
  if (!valid() || !node_) return 0;
  detail::xa_word w = node_->slots[offset_].load(std::memory_order_acquire);
  if (w == 0 || detail::xa_word_node(w)) return 0;
  return node_->shift + static_cast<unsigned>(std::countr_zero(xa_impl::extent(node_, offset_)));
}

bool xa_state::get_mark(xa_mark mark) const noexcept {
  return xa_impl::get_mark(*this, static_cast<unsigned>(mark));
}
void xa_state::set_mark(xa_mark mark) noexcept {
  xa_impl::set_mark(*this, static_cast<unsigned>(mark));
}
void xa_state::clear_mark(xa_mark mark) noexcept {
  xa_impl::clear_mark(*this, static_cast<unsigned>(mark));
}
void xa_state::init_marks() noexcept {
  for (unsigned m = 0; m < detail::xa_marks; ++m) {
    if (m == detail::xa_free_mark && xa_->is_alloc())
      xa_impl::set_mark(*this, m);
    else
      xa_impl::clear_mark(*this, m);
  }
}

void *xa_state::store(void *entry) noexcept {
  return reinterpret_cast<void *>(xa_impl::store(*this, reinterpret_cast<detail::xa_word>(entry)));
}

bool xa_state::nomem() noexcept {
  if (err_ != errc::no_memory) {
    xa_impl::free_spares(*this);
    return false;
  }
  // Enough for the store to succeed next time (it undid its partial work).
  unsigned need = xa_impl::store_bound(*this);
  for (unsigned have = xa_impl::spare_count(*this); have < need; ++have)
    if (!xa_impl::prealloc_one(*this)) return false;
  err_ = errc::ok;
  pos_ = pos::restart;
  return true;
}

void xa_state::split_alloc(void *entry, unsigned order) noexcept {
  if (err_ != errc::ok) return;
  if (xa_is_internal(entry) || entry == nullptr || order > 64 || order <= this->order()) {
    err_ = errc::invalid_argument;
    return;
  }
  unsigned need = xa_impl::split_nodes_needed(*this, order);
  if (need == ~0u) {  // more than two levels of new nodes
    err_ = errc::invalid_argument;
    return;
  }
  unsigned have = xa_impl::spare_count(*this);
  while (have < need) {
    if (!xa_impl::prealloc_one(*this)) {
      err_ = errc::no_memory;
      return;
    }
    ++have;
  }
}

void xa_state::split(void *entry, unsigned order) noexcept {
  xa_impl::split(*this, reinterpret_cast<detail::xa_word>(entry), order);
}

}  // namespace maple
