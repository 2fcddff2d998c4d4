// address_space: construction, seeding, fork (dup_mmap), lookups and the
// lock-free page-fault path (mm/mmap_lock.c: lock_vma_under_rcu).
#include "mm/mm_impl.h"

#include <maple/rcu.h>

#include <mutex>
#include <new>

namespace maple::mm {

using detail::einval;
using detail::enomem;
using detail::page_mask;
using detail::vma_object;

address_space::address_space(const layout &l, std::pmr::memory_resource *mr)
    : p_(std::make_unique<impl>(l, mr)) {}

address_space::~address_space() = default;
address_space::address_space(address_space &&) noexcept = default;
address_space &address_space::operator=(address_space &&) noexcept = default;

void address_space::clear() {
  impl &m = *p_;
  impl::writer w(m);
  std::vector<vma_object *> all;
  all.reserve(m.map_count);
  for (range_entry r : m.mt) all.push_back(static_cast<vma_object *>(r.entry));
  m.mt.clear();
  for (vma_object *v : all) m.retire(v);
  m.map_count = 0;
}

void address_space::shrink_caches() {
  impl &m = *p_;
  impl::writer w(m);
  m.drop_caches();
}

std::error_code address_space::insert_vma(const vma_info &v) {
  impl &m = *p_;
  impl::writer w(m);
  if ((v.start & page_mask) || (v.end & page_mask) || v.start >= v.end) return einval();
  if (m.find_intersection(v.start, v.end)) return std::make_error_code(std::errc::file_exists);
  impl::change c(m);
  if (std::error_code ec = m.take_vmas(1)) return ec;
  if (std::error_code ec = m.prepare()) return ec;
  vma_object *n = m.spare_vma(v);
  m.attach(n);
  m.put(v.start, v.end - 1, n);
  ++m.map_count;
  ++m.st.vmas_created;
  if (v.anon_vma >= m.next_anon_vma) m.next_anon_vma = v.anon_vma + 1;
  return {};
}

std::error_code address_space::seed(std::span<const vma_info> vmas) {
  impl &m = *p_;
  impl::writer w(m);
  if (m.map_count != 0) return std::make_error_code(std::errc::file_exists);
  std::uint64_t floor = 0;
  for (const vma_info &v : vmas) {
    if ((v.start & page_mask) || (v.end & page_mask) || v.start >= v.end || v.start < floor)
      return einval();
    floor = v.end;
  }
  // Everything that can fail first: the VMA objects and the range list,
  // then the tree in one build (which fails as a whole).
  std::vector<vma_object *> made;
  std::vector<range_entry> ranges;
  auto undo = [&] {
    for (vma_object *o : made) m.free_vma(o);
    return enomem();
  };
  try {
    made.reserve(vmas.size());
    ranges.reserve(vmas.size());
  } catch (const std::bad_alloc &) {
    return enomem();
  }
  for (const vma_info &v : vmas) {
    vma_object *o = m.new_vma(v);
    if (!o) return undo();
    made.push_back(o);
    ranges.push_back({v.start, v.end - 1, o});
  }
  for (vma_object *o : made) m.attach(o);
  if (std::error_code ec = m.mt.bulk_load(ranges)) {
    undo();
    return detail::to_errno(ec);
  }
  m.map_count = made.size();
  m.st.vmas_created += made.size();
  for (const vma_info &v : vmas)
    if (v.anon_vma >= m.next_anon_vma) m.next_anon_vma = v.anon_vma + 1;
  return {};
}

void address_space::set_lockless_lookups(bool on) {
  impl &m = *p_;
  impl::writer w(m);
  if (on == m.lockless()) return;
  m.mt.set_rcu_mode(on);
  // A lookup that saw RCU mode still on may be walking: nothing is freed at
  // once before it has left its read section.
  if (!on) rcu::synchronize();
}

bool address_space::lockless_lookups() const noexcept { return p_->lockless(); }

layout address_space::get_layout() const {
  impl::reader g(*p_);
  return p_->lay;
}

void address_space::set_layout(const layout &l) {
  impl::writer w(*p_);
  p_->lay = l;
}

// ---- fork ---------------------------------------------------------------------------

std::error_code address_space::fork(address_space &child) const {
  if (&child == this) return einval();
  impl &src = *p_;
  impl &dst = *child.p_;
  impl::writer ws(src);
  impl::writer wd(dst);
  if (!dst.mt.empty() || dst.map_count) return einval();
  // dup_mmap, built so that nothing can fail half-way: every child VMA is
  // allocated first; then one structural copy of the tree (__mt_dup) is
  // built aside and published whole, each entry becoming one of those
  // VMAs (or nothing for VM_DONTCOPY). A failure at either step frees what
  // was made and leaves the child empty; no partial tree is ever visible.
  std::vector<vma_object *> made;
  std::error_code ec;
  try {
    made.reserve(src.map_count);
    for (range_entry r : src.mt) {
      if (static_cast<const vma_object *>(r.entry)->v.flags & vm::dontcopy) continue;
      vma_object *c = dst.new_vma(vma_info{});
      if (!c) throw std::bad_alloc();
      made.push_back(c);
    }
  } catch (const std::bad_alloc &) {
    for (vma_object *c : made) dst.free_vma(c);
    return enomem();
  }
  std::uint64_t next_id = src.next_anon_vma;
  std::size_t used = 0;
  ec = src.mt.dup(dst.mt, [&](void *e) -> void * {
    const vma_object *pv = static_cast<const vma_object *>(e);
    if (pv->v.flags & vm::dontcopy) return nullptr;
    vma_object *c = made[used++];
    c->v = pv->v;
    c->v.flags &= ~vm::locked_mask;
    if (pv->v.flags & vm::wipeonfork) {
      c->v.anon_vma = 0;
      c->v.forked = false;
    } else if (pv->v.anon_vma) {
      c->v.anon_vma = next_id++;  // anon_vma_fork: a new one, chained to the parent's
      c->v.forked = true;
    }
    c->refcnt.store(1, std::memory_order_relaxed);
    return c;
  });
  if (ec) {
    dst.mt.clear();
    for (vma_object *c : made) dst.free_vma(c);
    return detail::to_errno(ec);
  }
  // The parent's VMAs keep a singular anon_vma chain (only the child's
  // copies link to two anon_vmas), so they stay mergeable.
  dst.map_count = made.size();
  dst.next_anon_vma = next_id;
  dst.lay = src.lay;
  dst.next_shmem_inode = src.next_shmem_inode;
  dst.st.vmas_created += made.size();
  return {};
}

// ---- lookups under the mmap lock ------------------------------------------------------

std::optional<vma_info> address_space::find_vma(std::uint64_t addr) const {
  impl::reader g(*p_);
  vma_object *v = p_->find_vma(addr);
  if (!v) return std::nullopt;
  return v->v;
}

std::optional<vma_info> address_space::find_vma_prev(std::uint64_t addr,
                                                     std::optional<vma_info> &prev) const {
  impl::reader g(*p_);
  vma_object *v = p_->find_vma(addr);
  vma_object *pv = p_->vma_prev(v ? v->v.start : addr);
  prev = pv ? std::optional<vma_info>(pv->v) : std::nullopt;
  if (!v) return std::nullopt;
  return v->v;
}

std::optional<vma_info> address_space::find_vma_intersection(std::uint64_t start,
                                                             std::uint64_t end) const {
  impl::reader g(*p_);
  vma_object *v = p_->find_intersection(start, end);
  if (!v) return std::nullopt;
  return v->v;
}

std::optional<vma_info> address_space::vma_lookup(std::uint64_t addr) const {
  impl::reader g(*p_);
  vma_object *v = p_->load(addr);
  if (!v) return std::nullopt;
  return v->v;
}

std::vector<vma_info> address_space::vmas() const {
  impl::reader g(*p_);
  std::vector<vma_info> out;
  out.reserve(p_->map_count);
  for (range_entry r : p_->mt) out.push_back(static_cast<vma_object *>(r.entry)->v);
  return out;
}

std::size_t address_space::map_count() const noexcept {
  impl::reader g(*p_);
  return p_->map_count;
}

mm_stats address_space::stats() const {
  impl::reader g(*p_);
  mm_stats s = p_->st;
  s.fault_retries = p_->fault_retries.load(std::memory_order_relaxed);
  s.fault_fallbacks = p_->fault_fallbacks.load(std::memory_order_relaxed);
  s.tree = p_->mt.stats();
  return s;
}

void address_space::mmap_write_lock() const { p_->write_lock(); }
void address_space::mmap_write_unlock() const { p_->write_unlock(); }

// ---- the page-fault path ------------------------------------------------------------------

namespace {

enum class start_read { locked, fail, detached };

// vma_start_read: take a read reference unless v is write-locked in the
// current mmap write section or being detached.
start_read vma_start_read(const address_space::impl &m, vma_object *v) {
  std::uint64_t seq = m.mm_lock_seq.load(std::memory_order_acquire);
  if (v->lock_seq.load(std::memory_order_acquire) == seq && (seq & 1)) return start_read::fail;
  std::uint32_t r = v->refcnt.load(std::memory_order_acquire);
  do {
    if (r == 0) return start_read::detached;
    if (r & vma_object::writer_bit) return start_read::fail;
  } while (!v->refcnt.compare_exchange_weak(r, r + 1, std::memory_order_acquire));
  // A writer may have locked it between the first check and the reference.
  seq = m.mm_lock_seq.load(std::memory_order_acquire);
  if (v->lock_seq.load(std::memory_order_acquire) == seq && (seq & 1)) {
    v->refcnt.fetch_sub(1, std::memory_order_release);
    return start_read::fail;
  }
  return start_read::locked;
}

}  // namespace

vma_read_ref address_space::lock_vma_under_rcu(std::uint64_t addr) const {
  impl &m = *p_;
  while (true) {
    // A fresh walk from the root on every attempt: nothing found in one
    // read section is used after it ends (the Nov 2025 lock_vma_under_rcu
    // use-after-free came from re-using a maple state across a retry).
    rcu::read_guard g;
    if (!m.lockless()) return {};
    auto *v = static_cast<vma_object *>(m.mt.load(addr));
    if (!v) return {};
    switch (vma_start_read(m, v)) {
      case start_read::fail: return {};
      case start_read::detached: m.fault_retries.fetch_add(1, std::memory_order_relaxed); continue;
      case start_read::locked: break;
    }
    // It may have shrunk before we locked it.
    if (addr < v->v.start || addr >= v->v.end) {
      v->refcnt.fetch_sub(1, std::memory_order_release);
      return {};
    }
    return vma_read_ref(v);
  }
}

std::optional<vma_info> address_space::fault(std::uint64_t addr) const {
  if (vma_read_ref r = lock_vma_under_rcu(addr)) return r.info();
  p_->fault_fallbacks.fetch_add(1, std::memory_order_relaxed);
  return vma_lookup(addr);
}

vma_read_ref &vma_read_ref::operator=(vma_read_ref &&o) noexcept {
  if (this != &o) {
    release();
    v_ = std::exchange(o.v_, nullptr);
  }
  return *this;
}

void vma_read_ref::release() noexcept {
  if (v_) static_cast<vma_object *>(v_)->refcnt.fetch_sub(1, std::memory_order_release);
  v_ = nullptr;
}

vma_info vma_read_ref::info() const { return static_cast<const vma_object *>(v_)->v; }
std::uint64_t vma_read_ref::start() const noexcept {
  return static_cast<const vma_object *>(v_)->v.start;
}
std::uint64_t vma_read_ref::end() const noexcept {
  return static_cast<const vma_object *>(v_)->v.end;
}
std::uint64_t vma_read_ref::flags() const noexcept {
  return static_cast<const vma_object *>(v_)->v.flags;
}

}  // namespace maple::mm
