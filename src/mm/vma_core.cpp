// The primitives of the address-space model: locks, lookups, VMA life
// cycle, split and the two merge paths (mm/vma.c: __split_vma,
// vma_merge_new_range, vma_merge_existing_range, vma_modify). Every change
// of the VMA set is one tree store, so the tree is sound after each step
// even when a later step fails.
#include "mm/mm_impl.h"

#include <maple/rcu.h>

#include <new>

namespace maple::mm {

using detail::vma_object;

namespace {
bool held_for_write(const void *ctx) noexcept {
  return static_cast<const detail::mmap_lock *>(ctx)->held_for_write();
}
}  // namespace

address_space::impl::impl(const layout &l, std::pmr::memory_resource *mr)
    : mt(tree_flags::alloc | tree_flags::rcu, mr), lay(l) {
  // Tree writers serialise on the mmap lock, as the kernel's mm_mt does
  // (checked builds assert it is held on every tree write).
  mt.set_external_lock({held_for_write, &lock});
}

address_space::impl::~impl() {
  // No reader may run now: VMAs and (RCU mode switched off, as exit_mmap
  // does) tree nodes are freed at once.
  writer w(*this);
  mt.set_rcu_mode(false);
  std::vector<vma_object *> all;
  for (range_entry r : mt) all.push_back(static_cast<vma_object *>(r.entry));
  mt.clear();
  for (vma_object *v : all) delete v;
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
  try {
    auto *o = new vma_object;
    o->v = v;
    return o;
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

std::error_code address_space::impl::store(vma_object *v) {
  // Attached before publication: a reader that finds it can lock it.
  std::uint32_t was = v->refcnt.load(std::memory_order_relaxed);
  if (was == 0) {
    // A new VMA is write-locked for the rest of this write section, so no
    // fault can use a state that exists only half-way through a call.
    v->lock_seq.store(mm_lock_seq.load(std::memory_order_relaxed), std::memory_order_relaxed);
    v->refcnt.store(1, std::memory_order_release);
  }
  std::error_code ec = detail::to_errno(mt.store(v->v.start, v->v.end - 1, v));
  if (ec && was == 0) v->refcnt.store(0, std::memory_order_relaxed);
  return ec;
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
    retired.add_delete(v);
  } else {
    delete v;  // no lock-free reader can hold it
  }
}

std::error_code address_space::impl::split(vma_object *v, std::uint64_t addr, bool new_below,
                                           bool check_count, vma_object **created) {
  if (!v->v.special_name.empty()) return detail::einval();  // special mappings refuse (may_split)
  if (check_count && map_count >= lay.max_map_count) return detail::enomem();
  vma_object *n = new_vma(v->v);
  if (!n) return detail::enomem();
  vma_info old = v->v;
  std::uint64_t delta = detail::pages(addr - old.start);
  vma_write_lock(v);
  if (new_below) {
    n->v.end = addr;
    v->v.start = addr;
    v->v.pgoff = old.pgoff + delta;
  } else {
    n->v.start = addr;
    n->v.pgoff = old.pgoff + delta;
    v->v.end = addr;
  }
  if (std::error_code ec = store(n)) {
    v->v = old;
    delete n;
    return ec;
  }
  ++map_count;
  ++st.splits;
  ++st.vmas_created;
  if (created) *created = n;
  return {};
}

// ---- merging -------------------------------------------------------------------------

bool address_space::impl::mergeable(const vma_object &n, const vma_info &p,
                                    bool /*p_is_existing*/) noexcept {
  const vma_info &q = n.v;
  if (((q.flags ^ p.flags) & ~vm::softdirty) != 0) return false;
  // The same open file description: compared by identity, not object.
  if (!detail::same_file(q, p)) return false;
  if (q.policy != p.policy || q.anon_name != p.anon_name) return false;
  if (!q.special_name.empty() || !p.special_name.empty()) return false;
  // anon_vma: the side that has one must not share it with a parent
  // (a chain inherited through fork); two must be the same one.
  if (q.anon_vma && p.anon_vma) return q.anon_vma == p.anon_vma;
  if (q.anon_vma) return !q.forked;
  if (p.anon_vma) return !p.forked;
  return true;
}

bool address_space::impl::can_merge_after(const vma_object *prev, const vma_info &p,
                                          bool ex) noexcept {
  return prev && prev->v.end == p.start && mergeable(*prev, p, ex) &&
         prev->v.pgoff + detail::pages(prev->v.end - prev->v.start) == p.pgoff;
}

bool address_space::impl::can_merge_before(const vma_object *next, const vma_info &p,
                                           bool ex) noexcept {
  return next && next->v.start == p.end && mergeable(*next, p, ex) &&
         next->v.pgoff == p.pgoff + detail::pages(p.end - p.start);
}

bool address_space::impl::anon_vmas_compatible(const vma_object &a, const vma_object &b) noexcept {
  return !a.v.anon_vma || !b.v.anon_vma || a.v.anon_vma == b.v.anon_vma;
}

std::error_code address_space::impl::map_new_range(const vma_info &p, vma_object **out) {
  vma_object *prev = vma_prev(p.start);
  vma_object *next = find_vma(p.start);
  if (next && next->v.start < p.end) return detail::err(std::errc::file_exists);  // caller bug
  bool special = (p.flags & vm::special) != 0 || !p.special_name.empty();
  bool left = !special && can_merge_after(prev, p, false);
  bool right = !special && can_merge_before(next, p, false);
  if (left && right && !anon_vmas_compatible(*prev, *next)) right = false;
  if (left) {
    vma_info old = prev->v;
    vma_write_lock(prev);
    if (right) vma_write_lock(next);
    prev->v.end = right ? next->v.end : p.end;
    if (!prev->v.anon_vma) prev->v.anon_vma = right ? next->v.anon_vma : p.anon_vma;
    if (std::error_code ec = store(prev)) {
      prev->v = old;
      return ec;
    }
    if (right) {
      retire(next);
      --map_count;
    }
    ++st.merges;
    if (out) *out = prev;
    return {};
  }
  if (right) {
    vma_info old = next->v;
    vma_write_lock(next);
    next->v.start = p.start;
    next->v.pgoff = p.pgoff;
    if (!next->v.anon_vma) next->v.anon_vma = p.anon_vma;
    if (std::error_code ec = store(next)) {
      next->v = old;
      return ec;
    }
    ++st.merges;
    if (out) *out = next;
    return {};
  }
  vma_object *n = new_vma(p);
  if (!n) return detail::enomem();
  if (std::error_code ec = store(n)) {
    delete n;
    return ec;
  }
  ++map_count;
  ++st.vmas_created;
  if (out) *out = n;
  return {};
}

std::error_code address_space::impl::modify(vma_object *v, std::uint64_t start, std::uint64_t end,
                                            const vma_info &attrs, vma_object **out) {
  // The proposed range: v's part [start, end) with the new attributes.
  vma_info p = v->v;
  p.start = start;
  p.end = end;
  p.pgoff = v->v.pgoff + detail::pages(start - v->v.start);
  p.flags = attrs.flags;
  p.anon_name = attrs.anon_name;
  p.policy = attrs.policy;
  bool left_side = start == v->v.start, right_side = end == v->v.end;
  bool special = (p.flags & vm::special) != 0 || !p.special_name.empty();
  if (!special && (left_side || right_side)) {
    vma_object *prev = left_side ? vma_prev(start) : nullptr;
    vma_object *next = right_side ? find_vma(end) : nullptr;
    bool left = left_side && can_merge_after(prev, p, true);
    bool right = right_side && can_merge_before(next, p, true);
    if (left && right && !anon_vmas_compatible(*prev, *next)) right = false;
    if (left) {
      // prev grows over [start, end) (and next when both); v shrinks or goes.
      vma_info oldp = prev->v, oldv = v->v;
      vma_write_lock(prev);
      vma_write_lock(v);
      if (right) vma_write_lock(next);
      prev->v.end = right ? next->v.end : end;
      // prev without an anon_vma takes next's, else v's (dup_anon_vma).
      if (!prev->v.anon_vma) {
        prev->v.anon_vma = right && next->v.anon_vma ? next->v.anon_vma : v->v.anon_vma;
      }
      bool whole = right_side;
      if (!whole) {
        v->v.start = end;
        v->v.pgoff = oldv.pgoff + detail::pages(end - oldv.start);
      }
      if (std::error_code ec = store(prev)) {
        prev->v = oldp;
        v->v = oldv;
        return ec;
      }
      if (whole) {
        retire(v);
        --map_count;
      }
      if (right) {
        retire(next);
        --map_count;
      }
      ++st.merges;
      *out = prev;
      return {};
    }
    if (right) {
      // next grows down to start; v shrinks to [v.start, start) or goes.
      vma_info oldn = next->v, oldv = v->v;
      vma_write_lock(next);
      vma_write_lock(v);
      next->v.start = start;
      next->v.pgoff = p.pgoff;
      if (!next->v.anon_vma) next->v.anon_vma = v->v.anon_vma;
      if (!left_side) v->v.end = start;
      if (std::error_code ec = store(next)) {
        next->v = oldn;
        v->v = oldv;
        return ec;
      }
      if (left_side) {
        retire(v);
        --map_count;
      }
      ++st.merges;
      *out = next;
      return {};
    }
  }
  if (start > v->v.start) {
    if (std::error_code ec = split(v, start, true, true)) return ec;
  }
  if (end < v->v.end) {
    if (std::error_code ec = split(v, end, false, true)) return ec;
  }
  vma_write_lock(v);
  v->v.flags = attrs.flags;
  v->v.anon_name = attrs.anon_name;
  v->v.policy = attrs.policy;
  *out = v;
  return {};
}

// ---- munmap ------------------------------------------------------------------------------

std::error_code address_space::impl::unmap(std::uint64_t start, std::uint64_t end) {
  vma_object *v = find_intersection(start, end);
  if (!v) return {};
  for (vma_object *w = v; w && w->v.start < end; w = find_vma(w->v.end)) {
    if (w->v.flags & vm::sealed) return detail::err(std::errc::operation_not_permitted);
  }
  if (start > v->v.start) {
    // Only a hole strictly inside one VMA adds one to the count.
    if (end < v->v.end && map_count >= lay.max_map_count) return detail::enomem();
    if (std::error_code ec = split(v, start, true, false)) return ec;
  }
  vma_object *last = find_vma(end - 1);
  if (last && last->v.start < end && last->v.end > end) {
    if (std::error_code ec = split(last, end, false, false)) return ec;
  }
  std::vector<vma_object *> gone;
  try {
    for (vma_object *w = find_vma(start); w && w->v.start < end; w = find_vma(w->v.end)) {
      gone.push_back(w);
    }
  } catch (const std::bad_alloc &) {
    return detail::enomem();
  }
  for (vma_object *w : gone) vma_write_lock(w);
  if (std::error_code ec = mt.store(start, end - 1, nullptr)) return detail::to_errno(ec);
  for (vma_object *w : gone) retire(w);
  map_count -= gone.size();
  return {};
}

}  // namespace maple::mm
