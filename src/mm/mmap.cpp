// mmap, munmap and brk (mm/mmap.c: do_mmap, __get_unmapped_area,
// generic_get_unmapped_area_topdown, unmapped_area[_topdown], brk,
// do_brk_flags; mm/vma.c: __mmap_region, do_vmi_munmap).
#include "mm/mm_impl.h"

namespace maple::mm {

using detail::einval;
using detail::enomem;
using detail::err;
using detail::page_align;
using detail::page_mask;
using detail::vma_object;

std::uint64_t address_space::impl::vm_start_gap(const vma_object *v) const noexcept {
  std::uint64_t s = v->v.start;
  if (v->v.flags & vm::growsdown) s = s > lay.stack_guard_gap ? s - lay.stack_guard_gap : 0;
  return s;
}

// ---- address selection ---------------------------------------------------------------

std::error_code address_space::impl::unmapped_area_topdown(std::uint64_t len, std::uint64_t low,
                                                           std::uint64_t high, std::uint64_t align,
                                                           std::uint64_t &out) const {
  std::uint64_t search = len + align;
  if (search < len) return enomem();
  low = std::max(low, lay.mmap_min_addr);
  while (true) {
    if (high <= low || high - low < search) return enomem();
    std::uint64_t start = 0;
    if (mt.empty_area_rev(low, high - 1, search, start)) return enomem();
    std::uint64_t gap_end = start + search;
    std::uint64_t gap = gap_end - len;
    if (align) gap &= ~align;
    // A growsdown stack above keeps its guard gap free.
    vma_object *next = find_vma(gap_end);
    if (next && (next->v.flags & vm::growsdown)) {
      if (vm_start_gap(next) < gap_end) {
        high = vm_start_gap(next);
        continue;
      }
    } else if (vma_object *prev = vma_prev(gap); prev && prev->v.end > gap) {
      high = prev->v.start;
      continue;
    }
    out = gap;
    return {};
  }
}

std::error_code address_space::impl::unmapped_area_bottomup(std::uint64_t len, std::uint64_t low,
                                                            std::uint64_t high, std::uint64_t align,
                                                            std::uint64_t &out) const {
  std::uint64_t search = len + align;
  if (search < len) return enomem();
  low = std::max(low, lay.mmap_min_addr);
  while (true) {
    if (high <= low || high - low < search) return enomem();
    std::uint64_t start = 0;
    if (mt.empty_area(low, high - 1, search, start)) return enomem();
    std::uint64_t gap = start;
    if (align) gap = (gap + align) & ~align;
    vma_object *next = find_vma(gap);
    if (next && (next->v.flags & vm::growsdown) && vm_start_gap(next) < gap + len - 1) {
      low = next->v.end;
      continue;
    }
    if (vma_object *prev = vma_prev(gap); prev && prev->v.end > gap) {
      low = prev->v.end;
      continue;
    }
    out = gap;
    return {};
  }
}

namespace {

// mm_get_unmapped_area_vmflags without THP: hint, then top-down from
// mmap_base, then bottom-up from TASK_UNMAPPED_BASE (x86-64's arch_get_
// unmapped_area[_topdown]).
std::error_code plain_area(const address_space::impl &m, std::uint64_t addr, std::uint64_t len,
                           std::uint64_t &out) {
  const layout &l = m.lay;
  if (len > l.task_size) return enomem();
  if (addr) {
    addr &= ~page_mask;
    if (addr <= l.task_size - len) {
      vma_object *v = m.find_vma(addr);
      if (!v || addr + len <= m.vm_start_gap(v)) {
        out = addr;
        return {};
      }
    }
  }
  std::uint64_t unmapped_base = page_align(l.task_size / 3);
  if (l.topdown) {
    if (!m.unmapped_area_topdown(len, page_size, l.mmap_base, 0, out)) return {};
    return m.unmapped_area_bottomup(len, unmapped_base, l.task_size, 0, out);
  }
  return m.unmapped_area_bottomup(len, std::max(unmapped_base, l.mmap_base), l.task_size, 0, out);
}

}  // namespace

std::error_code address_space::impl::get_unmapped_area(const file_ref &file, std::uint64_t addr,
                                                       std::uint64_t len, unsigned flags,
                                                       std::uint64_t &out) const {
  if (len > lay.task_size) return enomem();
  std::error_code ec;
  if (flags & map_fixed) {
    out = addr;
  } else if (lay.thp_align && !file && !(flags & map_shared) && addr == 0 &&
             len % detail::pmd_size == 0) {
    // Large anonymous mappings land on 2 MiB boundaries (search with a
    // padding of 2 MiB, then align: __thp_get_unmapped_area).
    std::uint64_t padded = len + detail::pmd_size, got = 0;
    if (padded > len && !plain_area(*this, 0, padded, got)) {
      std::uint64_t sub = (0 - got) & (detail::pmd_size - 1);
      out = (lay.topdown && sub == 0) ? got + detail::pmd_size : got + sub;
    } else {
      ec = plain_area(*this, 0, len, out);
    }
  } else {
    ec = plain_area(*this, addr, len, out);
  }
  if (ec) return ec;
  if (out > lay.task_size - len) return enomem();
  if (out & page_mask) return einval();
  return {};
}

// ---- mmap ----------------------------------------------------------------------------------

std::error_code address_space::mmap(std::uint64_t addr, std::uint64_t len, unsigned prot,
                                    unsigned flags, const file_ref &file, std::uint64_t offset,
                                    std::uint64_t &addr_out) {
  impl &m = *p_;
  impl::writer w(m);
  if (offset & page_mask) return einval();
  if (!(flags & map_anonymous) && !file) return err(std::errc::bad_file_descriptor);
  if (flags & map_hugetlb) return enomem();  // no huge pages are configured in the model
  if (len == 0) return einval();
  const file_ref &f = (flags & map_anonymous) ? file_ref{} : file;
  if (flags & map_fixed_noreplace) flags |= map_fixed;
  if (!(flags & map_fixed)) {
    addr &= ~page_mask;
    if (addr && addr < m.lay.mmap_min_addr) addr = page_align(m.lay.mmap_min_addr);
  }
  std::uint64_t alen = page_align(len);
  if (alen == 0) return enomem();
  std::uint64_t pgoff = offset >> page_shift;
  if (pgoff + detail::pages(alen) < pgoff) return err(std::errc::value_too_large);
  if (m.map_count > m.lay.max_map_count) return enomem();
  std::uint64_t where = 0;
  if (std::error_code ec = m.get_unmapped_area(f, addr, alen, flags, where)) return ec;
  // One walk of the call's cursor finds what lies in the range and the
  // VMAs beside it: MAP_FIXED_NOREPLACE's check, the unmap and the merge.
  const std::uint64_t end = where + alen;
  impl::change c(m);
  vma_object *prev = nullptr, *next = nullptr;
  const bool empty = m.neighbours(where, end, prev, next);
  if ((flags & map_fixed_noreplace) && !empty) return err(std::errc::file_exists);
  std::uint64_t vmf = detail::prot_bits(prot);
  if (flags & map_growsdown) vmf |= vm::growsdown;
  if (flags & map_locked) vmf |= vm::locked;
  if ((flags & map_stack) && m.lay.thp_align) vmf |= vm::nohugepage;
  vmf |= vm::mayread | vm::maywrite | vm::mayexec;
  unsigned type = flags & map_type;
  vma_info p;
  if (f) {
    switch (type) {
      case map_shared:
      case map_shared_validate:
        if ((prot & prot_write) && !f->writable) return err(std::errc::permission_denied);
        vmf |= vm::shared | vm::mayshare;
        if (!f->writable) vmf &= ~(vm::maywrite | vm::shared);
        [[fallthrough]];
      case map_private:
        if (!f->readable) return err(std::errc::permission_denied);
        if (f->noexec) {
          if (vmf & vm::exec) return err(std::errc::operation_not_permitted);
          vmf &= ~vm::mayexec;
        }
        if (vmf & vm::growsdown) return einval();
        break;
      default: return einval();
    }
    p.file = f;
  } else {
    switch (type) {
      case map_shared:
      case map_shared_validate:
        if (vmf & vm::growsdown) return einval();
        pgoff = 0;
        vmf |= vm::shared | vm::mayshare;
        break;
      case map_private: pgoff = where >> page_shift; break;
      default: return einval();
    }
  }
  if ((flags & map_noreserve) && !m.lay.overcommit_never) vmf |= vm::noreserve;
  if ((vmf & (vm::noreserve | vm::shared | vm::write)) == vm::write) vmf |= vm::account;
  // __mmap_region: unmap what the range covers (MAP_FIXED), then merge or
  // place a new VMA with one store. Over existing VMAs the unmap may need a
  // store of its own (a hole inside one VMA): nodes and VMAs for both are
  // reserved first, so a failure changes nothing.
  if (!empty) {
    if (std::error_code ec = m.reserve(2, 2)) return ec;
    if (std::error_code ec = m.unmap(where, end, true, &prev, &next)) return ec;
  }
  p.start = where;
  p.end = end;
  p.flags = vmf;
  p.pgoff = pgoff;
  if (!f && (vmf & vm::shared)) {
    // shmem_zero_setup: every shared anonymous mapping gets a file of its own.
    auto shm = std::make_shared<mm::file>();
    shm->id = ~std::uint64_t{0} - m.next_shmem_inode;
    shm->path = "/dev/zero (deleted)";
    shm->dev_major = 0;
    shm->dev_minor = 1;
    shm->inode = m.next_shmem_inode++;
    shm->writable = true;
    shm->anon_shmem = true;
    p.file = std::move(shm);
  }
  if (std::error_code ec = m.map_new_range(p, prev, next)) return ec;
  addr_out = where;
  return {};
}

std::error_code address_space::munmap(std::uint64_t addr, std::uint64_t len) {
  impl &m = *p_;
  impl::writer w(m);
  if ((addr & page_mask) || addr > m.lay.task_size || len > m.lay.task_size - addr) {
    return einval();
  }
  std::uint64_t alen = page_align(len);
  if (alen == 0) return einval();
  impl::change c(m);
  return m.unmap(addr, addr + alen);
}

// ---- brk --------------------------------------------------------------------------------

std::uint64_t address_space::brk(std::uint64_t new_brk) {
  impl &m = *p_;
  impl::writer w(m);
  layout &l = m.lay;
  if (new_brk < l.start_brk) return l.brk;
  std::uint64_t newa = page_align(new_brk), olda = page_align(l.brk);
  if (newa == olda) {
    l.brk = new_brk;
    return l.brk;
  }
  impl::change c(m);
  if (new_brk <= l.brk) {
    // Shrink: only if a VMA lies in [newa, olda).
    if (!m.find_intersection(newa, olda)) return l.brk;
    if (m.unmap(newa, olda)) return l.brk;
    l.brk = new_brk;
    return l.brk;
  }
  // Grow: nothing may lie in [olda, newa), and a page plus the stack guard
  // gap must stay free below the next VMA. One walk finds both neighbours
  // (the brk VMA is the one before).
  vma_object *brkvma = nullptr, *next = nullptr;
  if (!m.neighbours(olda, newa, brkvma, next)) return l.brk;
  if (next && newa + page_size > m.vm_start_gap(next)) return l.brk;
  std::uint64_t where = 0;
  if (m.get_unmapped_area(nullptr, olda, newa - olda, map_fixed, where)) return l.brk;
  if (m.map_count > l.max_map_count) return l.brk;
  vma_info p;
  p.start = olda;
  p.end = newa;
  p.flags = vm::read | vm::write | vm::mayread | vm::maywrite | vm::mayexec | vm::account;
  p.pgoff = olda >> page_shift;
  // do_brk_flags extends the brk VMA (the one ending at the old break, not
  // below start_brk) when it can, and never merges with a VMA above.
  if (brkvma && brkvma->v.end > l.start_brk &&
      impl::can_merge_after(brkvma, detail::merge_view::of(p))) {
    if (m.prepare()) return l.brk;
    m.vma_write_lock(brkvma);
    brkvma->v.end = newa;
    m.put(brkvma->v.start, newa - 1, brkvma);
    ++m.st.merges;
  } else {
    if (m.take_vmas(1)) return l.brk;
    if (m.prepare()) return l.brk;
    vma_object *n = m.spare_vma(p);
    m.attach(n);
    m.put(olda, newa - 1, n);
    ++m.map_count;
    ++m.st.vmas_created;
  }
  l.brk = new_brk;
  return l.brk;
}

}  // namespace maple::mm
