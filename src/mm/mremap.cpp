// mremap (mm/mremap.c): shrink, grow in place (vma_merge_extend), move
// (copy_vma + unmap of the old range), MREMAP_FIXED and MREMAP_DONTUNMAP.
// A move is several stores: their nodes and VMAs are reserved first.
#include "mm/mm_impl.h"

namespace maple::mm {

using detail::einval;
using detail::enomem;
using detail::err;
using detail::page_align;
using detail::page_mask;
using detail::vma_attrs;
using detail::vma_object;

namespace {

std::error_code efault() { return err(std::errc::bad_address); }

// move_vma: a copy of [old_addr, old_addr + len) of v at new_addr (merging
// there when it can), then the old range unmapped unless dontunmap.
std::error_code move_vma(address_space::impl &m, vma_object *v, std::uint64_t old_addr,
                         std::uint64_t old_len, std::uint64_t new_len, std::uint64_t new_addr,
                         bool dontunmap) {
  if (m.map_count + 3 >= m.lay.max_map_count) return enomem();
  vma_info p = v->v;
  p.start = new_addr;
  p.end = new_addr + new_len;
  p.pgoff = v->v.pgoff + detail::pages(old_addr - v->v.start);
  // copy_vma: an anonymous VMA never faulted takes the pgoff of its new
  // place (so that it merges there); a faulted one keeps its own.
  if (!p.file && !p.anon_vma && p.special_name.empty()) p.pgoff = new_addr >> page_shift;
  if (std::error_code ec = m.map_new_range(p)) return ec;
  if (dontunmap) {
    // The old range stays mapped, emptied, and not locked any more.
    vma_object *o = m.load(old_addr);
    if (o && (o->v.flags & vm::locked_mask)) {
      vma_attrs attrs = vma_attrs::of(o->v);
      attrs.flags &= ~vm::locked_mask;
      std::uint64_t e = std::min(o->v.end, old_addr + old_len);
      if (std::error_code ec = m.modify(o, old_addr, e, attrs)) return ec;
    }
    return {};
  }
  return m.unmap(old_addr, old_addr + old_len);
}

}  // namespace

std::error_code address_space::mremap(std::uint64_t old_addr, std::uint64_t old_len,
                                      std::uint64_t new_len, unsigned flags, std::uint64_t new_addr,
                                      std::uint64_t &addr_out) {
  impl &m = *p_;
  impl::writer w(m);
  if (flags & ~(mremap_maymove | mremap_fixed | mremap_dontunmap)) return einval();
  if ((flags & (mremap_fixed | mremap_dontunmap)) && !(flags & mremap_maymove)) return einval();
  if ((flags & mremap_dontunmap) && old_len != new_len) return einval();
  if (old_addr & page_mask) return einval();
  old_len = page_align(old_len);
  new_len = page_align(new_len);
  if (new_len == 0) return einval();
  const std::uint64_t task = m.lay.task_size;
  bool fixed = flags & mremap_fixed, dontunmap = flags & mremap_dontunmap;
  if (fixed) {
    if (new_addr & page_mask) return einval();
    if (new_len > task || new_addr > task - new_len) return einval();
    // The two ranges must not overlap.
    if (new_addr < old_addr + std::max(old_len, std::uint64_t{1}) &&
        old_addr < new_addr + new_len) {
      return einval();
    }
    if (m.map_count + 2 >= m.lay.max_map_count - 3) return enomem();
  }
  // mremap_to serves MREMAP_DONTUNMAP too, with the same map-count guard.
  if (dontunmap && !fixed && m.map_count + 2 >= m.lay.max_map_count - 3) return enomem();
  vma_object *v = m.load(old_addr);
  if (!v) return efault();
  if (old_len > v->v.end - old_addr) return efault();
  if (old_len == 0 && !(v->v.flags & vm::mayshare)) return einval();
  if (new_len > old_len && (v->v.flags & (vm::dontexpand | vm::pfnmap))) return efault();
  if (dontunmap && (v->v.flags & (vm::dontexpand | vm::pfnmap))) return einval();
  impl::change c(m);
  if (fixed) {
    // Up to four stores (the target's unmap, the old tail's, the new
    // mapping, the old range's unmap or unlock) and five VMAs: all
    // reserved before the first change.
    if (std::error_code ec = m.reserve(4, 5)) return ec;
    if (std::error_code ec = m.unmap(new_addr, new_addr + new_len)) return ec;
    if (old_len > new_len) {
      if (std::error_code ec = m.unmap(old_addr + new_len, old_addr + old_len)) return ec;
      old_len = new_len;
    }
    v = m.load(old_addr);
    if (!v) return efault();
    if (std::error_code ec = move_vma(m, v, old_addr, old_len, new_len, new_addr, dontunmap)) {
      return ec;
    }
    addr_out = new_addr;
    return {};
  }
  if (old_len >= new_len && !dontunmap) {
    if (old_len > new_len) {
      if (std::error_code ec = m.unmap(old_addr + new_len, old_addr + old_len)) return ec;
    }
    addr_out = old_addr;
    return {};
  }
  if (!dontunmap && old_addr + old_len == v->v.end) {
    // Grow in place when the pages after the VMA are free.
    std::uint64_t delta = new_len - old_len;
    std::uint64_t end = v->v.end + delta;
    vma_object *next = m.find_vma(v->v.end);
    std::uint64_t chk = 0;
    if (end > v->v.end && (!next || next->v.start >= end) &&
        !m.get_unmapped_area(nullptr, v->v.start, end - v->v.start, map_fixed, chk)) {
      vma_info p = v->v;
      p.start = v->v.end;
      p.end = end;
      p.pgoff = v->v.pgoff + detail::pages(v->v.end - v->v.start);
      if (std::error_code ec = m.map_new_range(p)) return ec;
      addr_out = old_addr;
      return {};
    }
  }
  if (!(flags & mremap_maymove)) return enomem();
  std::uint64_t where = 0;
  unsigned mf = (v->v.flags & vm::mayshare) ? unsigned{map_shared} : 0U;
  if (std::error_code ec = m.get_unmapped_area(v->v.file, 0, new_len, mf, where)) return ec;
  // The move: the new mapping and the old range's unmap or unlock.
  if (std::error_code ec = m.reserve(2, 3)) return ec;
  if (std::error_code ec = move_vma(m, v, old_addr, old_len, new_len, where, dontunmap)) return ec;
  addr_out = where;
  return {};
}

}  // namespace maple::mm
