// The primitives of the address-space model: locks, lookups, VMA life
// cycle, the per-call change and the two merge paths (mm/vma.c:
// __split_vma, vma_merge_new_range, vma_merge_existing_range, vma_modify,
// do_vmi_munmap). Each primitive first gets everything that can fail (VMA
// objects, the tree nodes of its store: vma_iter_prealloc), then applies
// the change with stores that cannot fail (mas_store_prealloc).
#include "mm/mm_impl.h"

#include <maple/rcu.h>

#include <new>

namespace maple::mm {

using detail::merge_view;
using detail::vma_attrs;
using detail::vma_object;

namespace {
bool held_for_write(const void *ctx) noexcept {
  return static_cast<const detail::mmap_lock *>(ctx)->held_for_write();
}

// `mr` null: plain new and delete (std::pmr::new_delete_resource would
// take the aligned operator new, a memalign, for every VMA).
void release_vma_memory(std::pmr::memory_resource *mr, void *mem) noexcept {
  if (mr == nullptr)
    ::operator delete(mem);
  else
    mr->deallocate(mem, sizeof(vma_object), alignof(vma_object));
}

void free_vma_object(void *mr, void *p) noexcept {
  static_cast<vma_object *>(p)->~vma_object();
  release_vma_memory(static_cast<std::pmr::memory_resource *>(mr), p);
}

}  // namespace

address_space::impl::impl(const layout &l, std::pmr::memory_resource *mr)
    : vma_mr(mr),
      mt(tree_flags::alloc | tree_flags::rcu, mr),
      lay(l),
      retired(free_vma_object, vma_mr) {
  // Tree writers serialise on the mmap lock, as the kernel's mm_mt does
  // (checked builds assert it is held on every tree write).
  mt.set_external_lock({held_for_write, &lock});
}

address_space::impl::~impl() {
  // No reader may run now: VMAs and (RCU mode switched off, as exit_mmap
  // does) tree nodes are freed at once.
  writer w(*this);
  drop_caches();
  mt.set_rcu_mode(false);
  std::vector<vma_object *> all;
  for (range_entry r : mt) all.push_back(static_cast<vma_object *>(r.entry));
  mt.clear();
  for (vma_object *v : all) free_vma(v);
}

void address_space::impl::drop_caches() noexcept {
  {  // the cached nodes join a cursor's reserve, which frees them
    maple::write_guard g(mt);
    maple::write_cursor c = g.cursor();
    c.adopt_reserve(node_cache);
  }
  while (vma_cached) free_vma(vma_cache[--vma_cached]);
}

// ---- locking ------------------------------------------------------------------

void address_space::impl::write_lock() const {
  lock.lock();
  mm_lock_seq.fetch_add(1, std::memory_order_acq_rel);  // odd
}

void address_space::impl::write_unlock() const {
  retired.submit();
  // Releases every VMA write lock taken in this section at once.
  mm_lock_seq.fetch_add(1, std::memory_order_acq_rel);  // even
  lock.unlock();
}

void address_space::impl::vma_write_lock(vma_object *v) const {
  std::uint64_t seq = mm_lock_seq.load(std::memory_order_relaxed);
  if (v->lock_seq.load(std::memory_order_relaxed) == seq) return;  // already ours
  // Keep new readers out, wait for the current ones to leave.
  v->refcnt.fetch_add(vma_object::writer_bit, std::memory_order_acq_rel);
  while (true) {
    std::uint32_t r = v->refcnt.load(std::memory_order_acquire);
    if (r == vma_object::writer_bit + 1 || r == vma_object::writer_bit) break;
    std::this_thread::yield();
  }
  v->lock_seq.store(seq, std::memory_order_release);
  v->refcnt.fetch_sub(vma_object::writer_bit, std::memory_order_acq_rel);
}

// ---- lookups ----------------------------------------------------------------------

vma_object *address_space::impl::find_vma(std::uint64_t addr) const noexcept {
  auto r = mt.find(addr);
  return r ? static_cast<vma_object *>(r->entry) : nullptr;
}

vma_object *address_space::impl::cur_find(std::uint64_t addr) noexcept {
  maple::write_cursor &c = ch->cur;
  if (c.state() == maple::cursor_state::active) {
    if (void *e = c.entry()) {
      if (c.index() <= addr && addr <= c.last()) return static_cast<vma_object *>(e);
      if (c.last() + 1 == addr) return static_cast<vma_object *>(c.next());
    }
  }
  c.set(addr);
  return static_cast<vma_object *>(c.find());
}

void address_space::impl::cur_on(vma_object *v) noexcept {
  maple::write_cursor &c = ch->cur;
  if (c.state() == maple::cursor_state::active && c.index() == v->v.start && c.entry() == v) return;
  c.set(v->v.start);
  c.walk();
}

vma_object *address_space::impl::vma_prev(std::uint64_t addr) const noexcept {
  if (addr == 0) return nullptr;
  auto r = mt.find_rev(addr - 1);
  return r ? static_cast<vma_object *>(r->entry) : nullptr;
}

vma_object *address_space::impl::find_intersection(std::uint64_t start,
                                                   std::uint64_t end) const noexcept {
  if (start >= end) return nullptr;
  auto r = mt.find(start, end - 1);
  return r ? static_cast<vma_object *>(r->entry) : nullptr;
}

// ---- VMA life cycle -----------------------------------------------------------------

vma_object *address_space::impl::new_vma(const vma_info &v) noexcept {
  static_assert(alignof(vma_object) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  void *mem = nullptr;
  try {
    mem = vma_mr ? vma_mr->allocate(sizeof(vma_object), alignof(vma_object))
                 : ::operator new(sizeof(vma_object));
    return new (mem) vma_object{v, {}, {}};
  } catch (const std::bad_alloc &) {
    if (mem) release_vma_memory(vma_mr, mem);
    return nullptr;
  }
}

void address_space::impl::free_vma(vma_object *v) noexcept { free_vma_object(vma_mr, v); }

void address_space::impl::recycle_spare(vma_object *v) noexcept {
  v->v = vma_info{};  // a spare may hold a copy made for a split not done
  if (vma_cached < vma_cache_size)
    vma_cache[vma_cached++] = v;
  else
    free_vma(v);
}

void address_space::impl::attach(vma_object *v) noexcept {
  // A new VMA is write-locked for the rest of this write section, so no
  // fault can use a state that exists only half-way through a call; it is
  // attached before publication, so a reader that finds it can lock it.
  v->lock_seq.store(mm_lock_seq.load(std::memory_order_relaxed), std::memory_order_relaxed);
  v->refcnt.store(1, std::memory_order_release);
}

void address_space::impl::retire(vma_object *v) {
  vma_write_lock(v);
  // vma_mark_detached: wait until only the attach reference is left.
  while (true) {
    std::uint32_t one = 1;
    if (v->refcnt.compare_exchange_weak(one, 0, std::memory_order_acq_rel)) break;
    std::this_thread::yield();
  }
  ++st.vmas_freed;
  if (lockless()) {
    retired.add(v);
  } else {
    free_vma(v);  // no lock-free reader can hold it
  }
}

// ---- the change in progress ------------------------------------------------------------

address_space::impl::change::change(impl &mi) : m(mi), guard(mi.mt), cur(guard.cursor()) {
  cur.adopt_reserve(m.node_cache);
  m.ch = this;
}

address_space::impl::change::~change() {
  for (unsigned i = 0; i < nspare; ++i) m.recycle_spare(spare[i]);
  // Unused nodes stay cached for the next change, up to the bound of two
  // stores (a MAP_FIXED over VMAs); a larger reserve gives the rest back.
  cur.stash_reserve(m.node_cache, cur.reserve_bound(2));
  m.ch = nullptr;
}

std::error_code address_space::impl::take_vmas(unsigned n) {
  while (ch->nspare < n) {
    vma_object *v = vma_cached ? vma_cache[--vma_cached] : new_vma(vma_info{});
    if (!v) return detail::enomem();
    ch->spare[ch->nspare++] = v;
  }
  return {};
}

vma_object *address_space::impl::spare_vma(const vma_info &v) noexcept {
  vma_object *o = ch->spare[--ch->nspare];
  o->v = v;
  return o;
}

std::error_code address_space::impl::reserve(unsigned stores, unsigned vmas) {
  if (std::error_code ec = take_vmas(vmas)) return ec;
  try {
    gone_.reserve(16);  // a later unmap of the call lists its VMAs here
  } catch (const std::bad_alloc &) {
    return detail::enomem();
  }
  const unsigned n = std::min(stores, change::max_reserved_stores);
  if (ch->cur.reserve_upto(n)) return detail::enomem();
  ch->reserved_stores = n;
  return {};
}

std::error_code address_space::impl::prepare() {
  if (ch->reserved_stores != 0) {
    --ch->reserved_stores;
    return {};
  }
  if (ch->cur.reserve_upto(1)) return detail::enomem();
  return {};
}

void address_space::impl::put(std::uint64_t first, std::uint64_t last, void *entry) noexcept {
  ch->cur.set_range(first, last);
  ch->cur.store_reserved(entry);
}

// ---- merging -------------------------------------------------------------------------

bool address_space::impl::mergeable(const vma_object &n, const merge_view &p) noexcept {
  const vma_info &q = n.v;
  if (((q.flags ^ p.flags) & ~vm::softdirty) != 0) return false;
  // The same open file description: compared by identity, not object.
  if (!detail::same_file(q.file.get(), p.f)) return false;
  if (q.policy != p.policy || q.anon_name != p.anon_name) return false;
  if (!q.special_name.empty() || p.special_name) return false;
  // anon_vma: the side that has one must not share it with a parent
  // (a chain inherited through fork); two must be the same one.
  if (q.anon_vma && p.anon_vma) return q.anon_vma == p.anon_vma;
  if (q.anon_vma) return !q.forked;
  if (p.anon_vma) return !p.forked;
  return true;
}

bool address_space::impl::can_merge_after(const vma_object *prev, const merge_view &p) noexcept {
  return prev && prev->v.end == p.start && mergeable(*prev, p) &&
         prev->v.pgoff + detail::pages(prev->v.end - prev->v.start) == p.pgoff;
}

bool address_space::impl::can_merge_before(const vma_object *next, const merge_view &p) noexcept {
  return next && next->v.start == p.end && mergeable(*next, p) &&
         next->v.pgoff == p.pgoff + detail::pages(p.end - p.start);
}

bool address_space::impl::anon_vmas_compatible(const vma_object &a, const vma_object &b) noexcept {
  return !a.v.anon_vma || !b.v.anon_vma || a.v.anon_vma == b.v.anon_vma;
}

bool address_space::impl::neighbours(std::uint64_t start, std::uint64_t end, vma_object *&prev,
                                     vma_object *&next) noexcept {
  // One walk of the call's cursor to the gap, then steps to either side.
  maple::write_cursor &c = ch->cur;
  c.set(start);
  if (c.walk() || c.last() < end - 1) return false;  // something lies in [start, end)
  next = static_cast<vma_object *>(c.next());
  if (next) {
    prev = static_cast<vma_object *>(c.prev());
  } else {
    prev = vma_prev(start);
  }
  return true;
}

std::error_code address_space::impl::map_new_range(const vma_info &p) {
  vma_object *prev = nullptr, *next = nullptr;
  if (!neighbours(p.start, p.end, prev, next)) {
    return detail::err(std::errc::file_exists);  // caller bug
  }
  return map_new_range(p, prev, next);
}

std::error_code address_space::impl::map_new_range(const vma_info &p, vma_object *prev,
                                                   vma_object *next) {
  const merge_view key = merge_view::of(p);
  bool special = key.special();
  bool left = !special && can_merge_after(prev, key);
  bool right = !special && can_merge_before(next, key);
  if (left && right && !anon_vmas_compatible(*prev, *next)) right = false;
  // Everything that can fail first: the VMA object, the store's nodes.
  vma_object *into = left ? prev : right ? next : nullptr;
  if (!into) {
    if (std::error_code ec = take_vmas(1)) return ec;
  }
  std::uint64_t first = left ? prev->v.start : p.start;
  std::uint64_t last = (right ? next->v.end : p.end) - 1;
  if (std::error_code ec = prepare()) {
    return ec;
  }
  if (left) {
    vma_write_lock(prev);
    if (right) vma_write_lock(next);
    prev->v.end = right ? next->v.end : p.end;
    if (!prev->v.anon_vma) prev->v.anon_vma = right ? next->v.anon_vma : p.anon_vma;
  } else if (right) {
    vma_write_lock(next);
    next->v.start = p.start;
    next->v.pgoff = p.pgoff;
    if (!next->v.anon_vma) next->v.anon_vma = p.anon_vma;
  } else {
    into = spare_vma(p);
    attach(into);
    ++map_count;
    ++st.vmas_created;
  }
  put(first, last, into);
  if (left && right) {
    retire(next);
    --map_count;
  }
  if (left || right) ++st.merges;
  return {};
}

std::error_code address_space::impl::modify(vma_object *v, std::uint64_t start, std::uint64_t end,
                                            const vma_attrs &attrs) {
  // The proposed range: v's part [start, end) with the new attributes.
  merge_view p = merge_view::of(v->v);
  p.start = start;
  p.end = end;
  p.pgoff = v->v.pgoff + detail::pages(start - v->v.start);
  p.flags = attrs.flags;
  p.anon_name = attrs.anon_name;
  p.policy = attrs.policy;
  bool left_side = start == v->v.start, right_side = end == v->v.end;
  bool special = p.special();
  vma_object *prev = nullptr, *next = nullptr;
  bool left = false, right = false;
  if (!special && (left_side || right_side)) {
    // The cursor on v (a walk only when it is elsewhere), then steps: a
    // prev() that finds nothing leaves it where next() gives v again.
    maple::write_cursor &c = ch->cur;
    cur_on(v);
    if (left_side) prev = static_cast<vma_object *>(c.prev());
    if (right_side) {
      if (left_side) c.next();
      next = static_cast<vma_object *>(c.next());
    }
    left = left_side && can_merge_after(prev, p);
    right = right_side && can_merge_before(next, p);
    if (left && right && !anon_vmas_compatible(*prev, *next)) right = false;
  }
  if (left) {
    // prev grows over [start, end) (and next when both); v shrinks or goes.
    std::uint64_t last = (right ? next->v.end : end) - 1;
    if (std::error_code ec = prepare()) return ec;
    vma_write_lock(prev);
    vma_write_lock(v);
    if (right) vma_write_lock(next);
    // prev without an anon_vma takes next's, else v's (dup_anon_vma).
    if (!prev->v.anon_vma) {
      prev->v.anon_vma = right && next->v.anon_vma ? next->v.anon_vma : v->v.anon_vma;
    }
    prev->v.end = last + 1;
    if (!right_side) {
      v->v.pgoff += detail::pages(end - v->v.start);
      v->v.start = end;
    }
    put(prev->v.start, last, prev);
    if (right_side) {
      retire(v);
      --map_count;
    }
    if (right) {
      retire(next);
      --map_count;
    }
    ++st.merges;
    return {};
  }
  if (right) {
    // next grows down to start; v shrinks to [v.start, start) or goes.
    if (std::error_code ec = prepare()) return ec;
    vma_write_lock(next);
    vma_write_lock(v);
    next->v.start = start;
    next->v.pgoff = p.pgoff;
    if (!next->v.anon_vma) next->v.anon_vma = v->v.anon_vma;
    if (!left_side) v->v.end = start;
    put(start, next->v.end - 1, next);
    if (left_side) {
      retire(v);
      --map_count;
    }
    ++st.merges;
    return {};
  }
  // A new anon name is copied now, while failing is still allowed; the
  // VMA takes it by a move that cannot fail.
  std::string name;
  try {
    if (v->v.anon_name != attrs.anon_name) name.assign(attrs.anon_name);
  } catch (const std::bad_alloc &) {
    return detail::enomem();
  }
  bool lo = start > v->v.start, hi = end < v->v.end;
  if (lo || hi) {
    if (!v->v.special_name.empty()) return detail::einval();  // special mappings refuse (may_split)
    if (map_count >= lay.max_map_count) return detail::enomem();
    // split_vma checks the limit before each split: the second may fail
    // after the first (the first split then stays, as in the kernel).
    bool second_fails = lo && hi && map_count + 1 >= lay.max_map_count;
    if (second_fails) hi = false;
    // The parts split off are copies of v (its strings too): made while
    // failing is still allowed, like the nodes.
    const unsigned parts = unsigned{lo} + unsigned{hi};
    if (std::error_code ec = take_vmas(parts)) return ec;
    try {
      for (unsigned i = 1; i <= parts; ++i) ch->spare[ch->nspare - i]->v = v->v;
    } catch (const std::bad_alloc &) {
      return detail::enomem();
    }
    if (std::error_code ec = prepare()) return ec;
    split_modify(v, start, end, attrs, std::move(name), lo, hi);
    if (second_fails) return detail::enomem();
    return {};
  }
  vma_write_lock(v);
  set_attrs(v, attrs, std::move(name));
  return {};
}

void address_space::impl::set_attrs(vma_object *v, const vma_attrs &attrs,
                                    std::string &&name) noexcept {
  v->v.flags = attrs.flags;
  v->v.policy = attrs.policy;
  if (v->v.anon_name != attrs.anon_name) v->v.anon_name = std::move(name);
}

void address_space::impl::split_modify(vma_object *v, std::uint64_t start, std::uint64_t end,
                                       const vma_attrs &attrs, std::string &&name, bool lo,
                                       bool hi) noexcept {
  // __split_vma at start (the new VMA is the part below) and at end (the
  // new VMA is the part above); v keeps [start, end). One store of v over
  // its new range cuts the tree's range; the parts beside it still name v
  // and are relabelled with their new VMAs (exact fits: no node). The
  // spares on top are copies of v already (modify).
  vma_write_lock(v);
  const std::uint64_t old_start = v->v.start, old_end = v->v.end, old_pgoff = v->v.pgoff;
  vma_object *below = nullptr, *above = nullptr;
  if (lo) {
    below = ch->spare[--ch->nspare];
    below->v.end = start;
    attach(below);
    v->v.start = start;
    v->v.pgoff = old_pgoff + detail::pages(start - old_start);
  }
  if (hi) {
    above = ch->spare[--ch->nspare];
    above->v.start = end;
    above->v.pgoff = old_pgoff + detail::pages(end - old_start);
    attach(above);
    v->v.end = end;
  }
  put(v->v.start, v->v.end - 1, v);
  if (below) put(below->v.start, below->v.end - 1, below);
  if (above) put(above->v.start, above->v.end - 1, above);
  unsigned n = unsigned{lo} + unsigned{hi};
  map_count += n;
  st.splits += n;
  st.vmas_created += n;
  if (!hi && end < old_end) return;  // the second split refused (map limit)
  set_attrs(v, attrs, std::move(name));
}

// ---- munmap ------------------------------------------------------------------------------

std::size_t address_space::impl::count_from(vma_object *v, std::uint64_t end) noexcept {
  if (v->v.end >= end) return 1;
  maple::write_cursor &c = ch->cur;
  cur_on(v);
  std::size_t n = 1;
  while (c.next(end - 1)) ++n;
  return n;
}

std::error_code address_space::impl::unmap(std::uint64_t start, std::uint64_t end, bool replacing,
                                           vma_object **prev, vma_object **next) {
  // One walk (none when replacing), then steps: the VMAs in the range, and
  // the ones beside it when the caller asks.
  if (start >= end) return {};  // mremap of a zero-length shared range
  maple::write_cursor &c = ch->cur;
  void *e = nullptr;
  if (replacing) {
    e = c.entry();
  } else {
    c.set(start);
    e = c.walk();
  }
  if (!e) e = c.next(end - 1);
  auto *v = static_cast<vma_object *>(e);
  if (!v) return {};
  vma_object *below = nullptr, *above = nullptr;
  if (prev && start <= v->v.start) {
    below = static_cast<vma_object *>(c.prev());
    c.next();  // back on v (also after a prev() that found nothing)
  }
  // The list of the VMAs that go (or shrink): allocated before any change.
  std::vector<vma_object *> &gone = gone_;
  gone.clear();
  vma_object *last = v;
  try {
    for (vma_object *w = v; w; w = static_cast<vma_object *>(c.next(end - 1))) {
      if (w->v.flags & vm::sealed) return detail::err(std::errc::operation_not_permitted);
      gone.push_back(w);
      last = w;
    }
  } catch (const std::bad_alloc &) {
    return detail::enomem();
  }
  if (next && last->v.end <= end) above = static_cast<vma_object *>(c.next());
  bool head = start > v->v.start, tail = end < last->v.end;
  bool hole = head && tail && v == last;  // strictly inside one VMA
  // Only a hole strictly inside one VMA adds one to the count.
  if (hole && map_count >= lay.max_map_count) return detail::enomem();
  // Special mappings refuse to be split (may_split).
  if ((head && !v->v.special_name.empty()) || (tail && !last->v.special_name.empty())) {
    return detail::einval();
  }
  // Everything that can fail first: the new VMA, the store's nodes.
  if (hole) {
    if (std::error_code ec = take_vmas(1)) return ec;
  }
  if (std::error_code ec = prepare()) return ec;
  // Nothing can fail from here. The VMAs wholly inside go; one cut at the
  // start keeps its lower part, one cut at the end its upper part (a new
  // VMA when both are the same).
  for (vma_object *w : gone) vma_write_lock(w);
  vma_object *upper = nullptr;
  if (hole) {
    vma_info u = v->v;
    u.start = end;
    u.pgoff = v->v.pgoff + detail::pages(end - v->v.start);
    upper = spare_vma(u);
    attach(upper);
  }
  if (tail && !hole) {
    last->v.pgoff += detail::pages(end - last->v.start);
    last->v.start = end;
  }
  if (head) v->v.end = start;
  if (!replacing) put(start, end - 1, nullptr);
  if (upper) {
    put(end, upper->v.end - 1, upper);
    ++map_count;
    ++st.vmas_created;
  }
  st.splits += unsigned{head} + unsigned{tail};
  std::size_t removed = 0;
  for (vma_object *w : gone) {
    if ((w == v && head) || (w == last && tail)) continue;  // kept a part
    retire(w);
    ++removed;
  }
  map_count -= removed;
  gone.clear();
  if (prev) *prev = head ? v : below;
  if (next) *next = upper ? upper : tail ? last : above;
  return {};
}

}  // namespace maple::mm
