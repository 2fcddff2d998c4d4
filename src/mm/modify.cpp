// The attribute changes: mprotect (mm/mprotect.c: do_mprotect_pkey,
// mprotect_fixup), madvise's flag advices (mm/madvise.c), mlock/munlock
// (mm/mlock.c), anon names (prctl PR_SET_VMA_ANON_NAME), and touch() (the
// anon_vma a write fault gives). All go through impl::modify (vma_modify).
#include "mm/mm_impl.h"

namespace maple::mm {

using detail::einval;
using detail::enomem;
using detail::err;
using detail::page_align;
using detail::page_mask;
using detail::vma_attrs;
using detail::vma_object;

using detail::prot_bits;

namespace {

// madvise's and prctl(PR_SET_VMA)'s argument checks: EINVAL for an
// unaligned start or an overflowing range; end == addr: nothing to do.
std::error_code advice_range(std::uint64_t addr, std::uint64_t len, std::uint64_t &end) {
  if (addr & page_mask) return einval();
  std::uint64_t alen = page_align(len);
  if (len && !alen) return einval();
  end = addr + alen;
  if (end < addr) return einval();
  return {};
}

// A call that may change several VMAs makes one store per VMA at most (a
// merge, or a split's cut) and splits only the first and the last: nodes
// for all the stores and the two VMAs are reserved before the first change,
// so an allocation failure leaves the space unchanged. One VMA: modify()
// reserves for its one store. v: the first VMA of the range (or nullptr).
std::error_code reserve_for_range(address_space::impl &m, vma_object *v, std::uint64_t end) {
  if (!v || v->v.start >= end) return {};
  std::size_t k = m.count_from(v, end);
  if (k <= 1) return {};
  return m.reserve(static_cast<unsigned>(k), 2);
}

}  // namespace

std::error_code address_space::mprotect(std::uint64_t addr, std::uint64_t len, unsigned prot) {
  impl &m = *p_;
  impl::writer w(m);
  if (addr & page_mask) return einval();
  if (len == 0) return {};
  std::uint64_t alen = page_align(len);
  std::uint64_t end = addr + alen;
  if (alen == 0 || end <= addr) return enomem();
  unsigned grows = prot & (prot_growsdown | prot_growsup);
  if (grows == (prot_growsdown | prot_growsup)) return einval();
  if (prot & ~(prot_read | prot_write | prot_exec | prot_sem | grows)) return einval();
  impl::change c(m);
  vma_object *v = m.cur_find(addr);
  if (!v) return enomem();
  std::uint64_t start = addr;
  if (grows & prot_growsdown) {
    if (v->v.start >= end) return enomem();
    start = v->v.start;
    if (!(v->v.flags & vm::growsdown)) return einval();
  } else {
    if (v->v.start > start) return enomem();
    if (grows & prot_growsup) return einval();  // no VM_GROWSUP on x86-64
  }
  if (std::error_code ec = reserve_for_range(m, v, end)) return ec;
  for (std::uint64_t nstart = start;;) {
    std::uint64_t oldflags = v->v.flags;
    std::uint64_t newflags = prot_bits(prot) | (oldflags & ~vm::access);
    // A requested access its VM_MAY* bit does not allow.
    if (newflags & ~(newflags >> 4) & vm::access) return err(std::errc::permission_denied);
    std::uint64_t tmp = std::min(v->v.end, end);
    if (newflags != oldflags) {
      if (oldflags & vm::sealed) return err(std::errc::operation_not_permitted);
      if (newflags & vm::write) {
        if (!(oldflags & (vm::account | vm::write | vm::hugetlb | vm::shared | vm::noreserve))) {
          newflags |= vm::account;
        }
      } else if ((oldflags & vm::account) && !v->v.file && v->v.special_name.empty() &&
                 !v->v.anon_vma) {
        newflags &= ~vm::account;  // nothing faulted yet: nothing to charge
      }
      vma_attrs attrs = vma_attrs::of(v->v);
      attrs.flags = newflags;
      if (std::error_code ec = m.modify(v, nstart, tmp, attrs)) return ec;
    }
    nstart = tmp;
    if (nstart >= end) return {};
    // The VMA holding nstart may now start lower (merged forward): only a
    // VMA starting above nstart leaves a hole.
    v = m.cur_find(nstart);
    if (!v || v->v.start > nstart) return enomem();
  }
}

std::error_code address_space::madvise(std::uint64_t addr, std::uint64_t len, int advice) {
  impl &m = *p_;
  impl::writer w(m);
  bool changes_flags = false;
  switch (advice) {
    case madv_normal:
    case madv_random:
    case madv_sequential:
    case madv_dontfork:
    case madv_dofork:
    case madv_wipeonfork:
    case madv_keeponfork:
    case madv_dontdump:
    case madv_dodump:
    case madv_mergeable:
    case madv_unmergeable:
    case madv_hugepage:
    case madv_nohugepage: changes_flags = true; break;
    case madv_willneed:
    case madv_dontneed:
    case madv_free:
    case madv_remove:
    case madv_cold:
    case madv_pageout:
    case madv_populate_read:
    case madv_populate_write:
    case madv_dontneed_locked:
    case madv_collapse:
    case madv_guard_install:
    case madv_guard_remove:
    case madv_hwpoison:
    case madv_soft_offline: break;
    default: return einval();
  }
  std::uint64_t end = 0;
  if (std::error_code ec = advice_range(addr, len, end)) return ec;
  if (end == addr) return {};
  impl::change c(m);
  if (changes_flags) {
    if (std::error_code ec = reserve_for_range(m, m.cur_find(addr), end)) return ec;
  }
  return m.walk_range(addr, end, [&](vma_object *v, std::uint64_t s, std::uint64_t e) {
    std::uint64_t f = v->v.flags;
    if (!changes_flags) {
      if ((advice == madv_dontneed || advice == madv_free) && (f & (vm::locked | vm::pfnmap))) {
        return einval();
      }
      return std::error_code{};
    }
    switch (advice) {
      case madv_normal: f &= ~(vm::seq_read | vm::rand_read); break;
      case madv_random: f = (f & ~vm::seq_read) | vm::rand_read; break;
      case madv_sequential: f = (f & ~vm::rand_read) | vm::seq_read; break;
      case madv_dontfork: f |= vm::dontcopy; break;
      case madv_dofork:
        if (f & vm::io) return einval();
        f &= ~vm::dontcopy;
        break;
      case madv_wipeonfork:
        if (v->v.file || (f & vm::shared)) return einval();
        f |= vm::wipeonfork;
        break;
      case madv_keeponfork: f &= ~vm::wipeonfork; break;
      case madv_dontdump: f |= vm::dontdump; break;
      case madv_dodump:
        if (f & vm::special) return einval();
        f &= ~vm::dontdump;
        break;
      case madv_mergeable:
        if (!(f & (vm::special | vm::hugetlb | vm::shared))) f |= vm::mergeable;
        break;
      case madv_unmergeable: f &= ~vm::mergeable; break;
      case madv_hugepage: f = (f & ~vm::nohugepage) | vm::hugepage; break;
      case madv_nohugepage: f = (f & ~vm::hugepage) | vm::nohugepage; break;
      default: break;
    }
    if (f == v->v.flags) return std::error_code{};
    if (v->v.flags & vm::sealed) return err(std::errc::operation_not_permitted);
    vma_attrs attrs = vma_attrs::of(v->v);
    attrs.flags = f;
    return m.modify(v, s, e, attrs);
  });
}

namespace {

std::error_code lock_range(address_space::impl &m, std::uint64_t addr, std::uint64_t len,
                           std::uint64_t add) {
  std::uint64_t start = addr & ~page_mask;
  std::uint64_t alen = page_align(len + (addr & page_mask));
  if (alen == 0) return {};
  std::uint64_t end = start + alen;
  if (end < start) return enomem();
  address_space::impl::change c(m);
  vma_object *first = m.cur_find(start);
  if (!first || first->v.start > start) return enomem();
  if (std::error_code ec = reserve_for_range(m, first, end)) return ec;
  for (vma_object *v = first; v && v->v.start < end;) {
    std::uint64_t s = std::max(start, v->v.start), e = std::min(end, v->v.end);
    std::uint64_t f = (v->v.flags & ~vm::locked_mask) | add;
    if (f != v->v.flags && !(v->v.flags & vm::special) && v->v.special_name.empty()) {
      vma_attrs attrs = vma_attrs::of(v->v);
      attrs.flags = f;
      if (std::error_code ec = m.modify(v, s, e, attrs)) return ec;
    }
    if (e >= end) break;
    v = m.cur_find(e);
    if (!v || v->v.start > e) return enomem();
  }
  return {};
}

}  // namespace

std::error_code address_space::mlock(std::uint64_t addr, std::uint64_t len, unsigned flags) {
  if (flags & ~mlock_onfault) return einval();
  impl::writer w(*p_);
  return lock_range(*p_, addr, len, vm::locked | (flags & mlock_onfault ? vm::lockonfault : 0));
}

std::error_code address_space::munlock(std::uint64_t addr, std::uint64_t len) {
  impl::writer w(*p_);
  return lock_range(*p_, addr, len, 0);
}

std::error_code address_space::set_anon_name(std::uint64_t addr, std::uint64_t len,
                                             std::string_view name) {
  if (name.size() >= 80) return einval();  // 80 bytes with the NUL
  for (char c : name) {
    if (c < 0x20 || c > 0x7e || c == '\\' || c == '`' || c == '$' || c == '[' || c == ']') {
      return einval();
    }
  }
  impl &m = *p_;
  impl::writer w(m);
  std::uint64_t end = 0;
  if (std::error_code ec = advice_range(addr, len, end)) return ec;
  if (end == addr) return {};
  impl::change c(m);
  if (std::error_code ec = reserve_for_range(m, m.cur_find(addr), end)) return ec;
  return m.walk_range(addr, end, [&](vma_object *v, std::uint64_t s, std::uint64_t e) {
    // madvise_vma_anon_name: files other than anonymous shmem refuse.
    if (v->v.file && !v->v.file->anon_shmem) return err(std::errc::bad_file_descriptor);
    if (v->v.anon_name == name) return std::error_code{};
    vma_attrs attrs = vma_attrs::of(v->v);
    attrs.anon_name = name;
    return m.modify(v, s, e, attrs);
  });
}

std::error_code address_space::touch(std::uint64_t addr, std::uint64_t len) {
  impl &m = *p_;
  impl::writer w(m);
  std::uint64_t start = addr & ~page_mask;
  std::uint64_t end = page_align(addr + len);
  if (end <= start) return {};
  impl::change c(m);  // no store: the cursor walk_range looks VMAs up with
  return m.walk_range(start, end, [&](vma_object *v, std::uint64_t, std::uint64_t) {
    if (v->v.anon_vma || (v->v.flags & vm::shared) || !v->v.special_name.empty()) {
      return std::error_code{};
    }
    // anon_vma_prepare: share a compatible neighbour's anon_vma (the next
    // VMA is tried first, as find_mergeable_anon_vma does), else a new one.
    std::uint64_t id = 0;
    for (vma_object *n : {m.find_vma(v->v.end), m.vma_prev(v->v.start)}) {
      if (!n || id || !n->v.anon_vma || n->v.forked) continue;
      const vma_info &a = n->v.end == v->v.start ? n->v : v->v;  // the lower one
      const vma_info &b = n->v.end == v->v.start ? v->v : n->v;
      bool adjacent = a.end == b.start && b.pgoff == a.pgoff + detail::pages(a.end - a.start);
      if (adjacent && detail::same_file(n->v, v->v) && n->v.policy == v->v.policy &&
          ((n->v.flags ^ v->v.flags) & ~(vm::access | vm::softdirty)) == 0) {
        id = n->v.anon_vma;
      }
    }
    m.vma_write_lock(v);
    v->v.anon_vma = id ? id : m.next_anon_vma++;
    return std::error_code{};
  });
}

}  // namespace maple::mm
