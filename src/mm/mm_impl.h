// Internals of maple::mm::address_space: the VMA object, the mmap lock, the
// per-VMA lock, the per-call change (one write cursor, its node reserve and
// the VMA objects a call may need, all obtained before anything changes)
// and the primitives every syscall is built from. docs/mm.md explains the
// design.
#pragma once

#include <maple/cursor.h>
#include <maple/mm.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace maple::mm::detail {

inline constexpr std::uint64_t page_mask = page_size - 1;
inline constexpr std::uint64_t page_align(std::uint64_t x) noexcept {
  return (x + page_mask) & ~page_mask;
}
inline constexpr std::uint64_t pages(std::uint64_t bytes) noexcept { return bytes >> page_shift; }
inline constexpr std::uint64_t pmd_size = std::uint64_t{2} << 20;

/// calc_vm_prot_bits: PROT_* to VM_READ / VM_WRITE / VM_EXEC.
inline constexpr std::uint64_t prot_bits(unsigned prot) noexcept {
  return (prot & prot_read ? vm::read : 0) | (prot & prot_write ? vm::write : 0) |
         (prot & prot_exec ? vm::exec : 0);
}

/// Same open file description (or both anonymous).
inline bool same_file(const file *a, const file *b) noexcept {
  return !a == !b && (!a || a->id == b->id);
}
inline bool same_file(const vma_info &a, const vma_info &b) noexcept {
  return same_file(a.file.get(), b.file.get());
}

/// What vma_modify gives a range: flags, the anon name, the NUMA policy.
/// A view (the name is not copied): it must not outlive what it points at.
struct vma_attrs {
  std::uint64_t flags = 0;
  std::string_view anon_name;
  std::uint32_t policy = 0;
  static vma_attrs of(const vma_info &v) noexcept { return {v.flags, v.anon_name, v.policy}; }
};

/// What merging compares of a proposed range (is_mergeable_vma and the
/// anon_vma rules), read from a vma_info or from a VMA's part with new
/// attributes, without copying the VMA's strings and file reference.
struct merge_view {
  std::uint64_t start = 0, end = 0, pgoff = 0, flags = 0;
  const file *f = nullptr;
  std::string_view anon_name;
  std::uint32_t policy = 0;
  std::uint64_t anon_vma = 0;
  bool forked = false;
  bool special_name = false;  ///< a special mapping's name ("[vdso]"...)
  static merge_view of(const vma_info &p) noexcept {
    return {p.start,     p.end,    p.pgoff,    p.flags,  p.file.get(),
            p.anon_name, p.policy, p.anon_vma, p.forked, !p.special_name.empty()};
  }
  /// Never merged: VM_SPECIAL flags or a special name.
  bool special() const noexcept { return (flags & vm::special) != 0 || special_name; }
};

inline std::error_code err(std::errc e) noexcept { return std::make_error_code(e); }
inline std::error_code einval() noexcept { return err(std::errc::invalid_argument); }
inline std::error_code enomem() noexcept { return err(std::errc::not_enough_memory); }
/// A tree error as the errno the kernel would give (no_memory -> ENOMEM).
inline std::error_code to_errno(std::error_code ec) noexcept {
  if (!ec || ec.category() != maple::error_category()) return ec;
  switch (static_cast<maple::errc>(ec.value())) {
    case maple::errc::exists: return err(std::errc::file_exists);
    case maple::errc::invalid_argument: return einval();
    default: return enomem();
  }
}

// A VMA as kept in the tree. Fields (v) change only while the VMA is
// write-locked (lock_seq == the mm's current write sequence) and no reader
// holds it; readers copy them while holding a read reference.
struct vma_object {
  vma_info v;
  // 0: detached; 1: attached; +1 per reader; writer_bit while a writer
  // waits for readers to drain (the kernel's vm_refcnt since v6.15).
  std::atomic<std::uint32_t> refcnt{0};
  std::atomic<std::uint64_t> lock_seq{~std::uint64_t{0}};
  static constexpr std::uint32_t writer_bit = 0x40000000;
};

// The mmap lock: a reader-writer lock that knows its writer, so that the
// tree (external lock) and the helpers can assert it is held.
class mmap_lock {
 public:
  void lock() {
    m_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  void unlock() {
    owner_.store(std::thread::id{}, std::memory_order_relaxed);
    m_.unlock();
  }
  void lock_shared() { m_.lock_shared(); }
  void unlock_shared() { m_.unlock_shared(); }
  bool held_for_write() const noexcept {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 private:
  std::shared_mutex m_;
  std::atomic<std::thread::id> owner_{};
};

}  // namespace maple::mm::detail

namespace maple::mm {

struct address_space::impl {
  using vma_object = detail::vma_object;

  impl(const layout &l, std::pmr::memory_resource *mr);
  ~impl();

  // ---- locking --------------------------------------------------------------
  mutable detail::mmap_lock lock;
  // Odd while the mmap lock is held for writing; a VMA whose lock_seq
  // equals it is write-locked (all are released at once by the unlock).
  mutable std::atomic<std::uint64_t> mm_lock_seq{0};
  void write_lock() const;
  void write_unlock() const;
  struct writer {  // RAII mmap write lock
    explicit writer(const impl &i) : i_(i) { i_.write_lock(); }
    ~writer() { i_.write_unlock(); }
    writer(const writer &) = delete;
    writer &operator=(const writer &) = delete;
    const impl &i_;
  };
  // The mmap lock shared, or nothing when this thread holds it for writing
  // (a caller inside mmap_write_lock() may still look).
  struct reader {
    explicit reader(const impl &i) : l_(i.lock.held_for_write() ? nullptr : &i.lock) {
      if (l_) l_->lock_shared();
    }
    ~reader() {
      if (l_) l_->unlock_shared();
    }
    reader(const reader &) = delete;
    reader &operator=(const reader &) = delete;
    detail::mmap_lock *l_;
  };
  /// vma_start_write: waits for readers of v to leave, then marks it
  /// write-locked for the rest of this mmap write section.
  void vma_write_lock(vma_object *v) const;

  // ---- state ------------------------------------------------------------------
  // VMA objects come from here (the tree's resource; nullptr: new/delete).
  std::pmr::memory_resource *vma_mr;
  maple::raw_tree mt;
  layout lay;
  std::size_t map_count = 0;
  mm_stats st{};
  // Counted by lock-free readers.
  mutable std::atomic<std::uint64_t> fault_retries{0}, fault_fallbacks{0};
  std::uint64_t next_anon_vma = 1;
  std::uint64_t next_shmem_inode = 1;
  // VMAs removed in the current write section: one deferred free for all,
  // handed over when the mmap lock is dropped.
  mutable rcu::retire_list retired;
  // Lock-free lookups are allowed exactly while the tree is in RCU mode
  // (set_lockless_lookups() switches it): off, lock_vma_under_rcu() finds
  // nothing and removed VMAs are freed at once.
  bool lockless() const noexcept { return mt.rcu_mode(); }

  // ---- the change in progress (mmap write lock held) ------------------------------
  /// One per call that changes the VMA set, made after the mmap write lock:
  /// the write cursor every tree store of the call goes through (the
  /// kernel's VMA iterator), its node reserve, and the spare VMA objects.
  /// Everything that can fail is obtained before the first store; stores
  /// and field updates after that cannot fail, so no step is ever undone.
  struct change {
    explicit change(impl &m);
    ~change();
    change(const change &) = delete;
    change &operator=(const change &) = delete;
    impl &m;
    maple::write_guard guard;
    maple::write_cursor cur;
    // Stores cur's reserve was made for by reserve() and not yet begun:
    // prepare() takes one each instead of topping the reserve up.
    unsigned reserved_stores = 0;
    // reserve() covers at most this many stores before the first. Each
    // store's bound assumes the stores before it made the tree a level
    // taller, so k stores need about 4k^2 nodes (mprotect over 2,000 VMAs:
    // 16 million); past the first 8, prepare() tops up before each store.
    static constexpr unsigned max_reserved_stores = 8;
    static constexpr unsigned max_spare = 6;
    vma_object *spare[max_spare] = {};
    unsigned nspare = 0;
  };
  change *ch = nullptr;
  std::vector<vma_object *> gone_;  // unmap's list (kept: its capacity is reused)
  // Tree nodes a change reserved and did not use, kept for the next change
  // (the kernel's per-CPU maple node cache): a change tops its reserve up to
  // the bound for its stores, which then rarely allocates.
  maple::write_cursor::node_stash node_cache;

  /// For a call made of several structural stores: reserves nodes for
  /// `stores` of them (at most change::max_reserved_stores) and at least
  /// `vmas` spare VMAs, before any change; that many later prepare() calls
  /// of the call are then free.
  std::error_code reserve(unsigned stores, unsigned vmas);
  /// At least n spare VMA objects (ENOMEM otherwise; nothing changed).
  std::error_code take_vmas(unsigned n);
  /// A spare VMA object holding v (take_vmas() made it).
  vma_object *spare_vma(const vma_info &v) noexcept;
  /// Nodes for the call's one structural store on the tree as it is (unless
  /// reserve() covers the call): the reserve topped up to the bound of one
  /// store, from the node cache first. ENOMEM: nothing changed.
  std::error_code prepare();
  /// A store that cannot fail, drawing from the reserve (an exact-fit
  /// relabel of a range takes no node).
  void put(std::uint64_t first, std::uint64_t last, void *entry) noexcept;
  /// Marks a new VMA attached (and write-locked for this section) before
  /// it is published.
  void attach(vma_object *v) noexcept;

  // ---- lookups and primitives (mmap write lock held) ----------------------------------
  vma_object *load(std::uint64_t addr) const noexcept {
    return static_cast<vma_object *>(mt.load(addr));
  }
  /// First VMA with end > addr.
  vma_object *find_vma(std::uint64_t addr) const noexcept;
  /// find_vma through the call's cursor: a step on from the VMA the cursor
  /// stands on when that one ends at addr, a walk otherwise. The cursor is
  /// left on the result.
  vma_object *cur_find(std::uint64_t addr) noexcept;
  /// Leaves the call's cursor on v (a walk unless it stands there already).
  void cur_on(vma_object *v) noexcept;
  /// Last VMA with start < addr.
  vma_object *vma_prev(std::uint64_t addr) const noexcept;
  /// First VMA intersecting [start, end).
  vma_object *find_intersection(std::uint64_t start, std::uint64_t end) const noexcept;

  /// A new, unattached VMA from vma_mr (nullptr when out of memory).
  vma_object *new_vma(const vma_info &v) noexcept;
  /// Spare VMA objects a change took and did not use, kept for the next
  /// change (the kernel's VMA slab cache): most calls then allocate none.
  /// They hold an empty vma_info.
  static constexpr unsigned vma_cache_size = 8;
  vma_object *vma_cache[vma_cache_size] = {};
  unsigned vma_cached = 0;
  /// An unused spare back to the cache, or freed when the cache is full.
  void recycle_spare(vma_object *v) noexcept;
  /// Frees the node cache and the VMA cache (mmap write lock held).
  void drop_caches() noexcept;
  /// Frees a VMA never published (or no longer reachable by any reader).
  void free_vma(vma_object *v) noexcept;
  /// Detaches v (write-locked, no reader left) and frees it after a grace
  /// period. Does not touch the tree.
  void retire(vma_object *v);

  /// Mergeability of a proposed range with neighbour n (is_mergeable_vma +
  /// anon_vma compatibility), ignoring pgoff contiguity and adjacency.
  static bool mergeable(const vma_object &n, const detail::merge_view &p) noexcept;
  static bool can_merge_after(const vma_object *prev, const detail::merge_view &p) noexcept;
  static bool can_merge_before(const vma_object *next, const detail::merge_view &p) noexcept;
  static bool anon_vmas_compatible(const vma_object &a, const vma_object &b) noexcept;

  /// The VMAs on either side of [start, end) when nothing is mapped there
  /// (false otherwise), found with one walk of the call's cursor.
  bool neighbours(std::uint64_t start, std::uint64_t end, vma_object *&prev,
                  vma_object *&next) noexcept;
  /// vma_merge_new_range + the standalone fallback: places the range p
  /// (nothing mapped there), merging with neighbours: one store.
  std::error_code map_new_range(const vma_info &p);
  /// The same with the neighbours found already (neighbours()).
  std::error_code map_new_range(const vma_info &p, vma_object *prev, vma_object *next);
  /// vma_modify: gives [start, end) of v (start >= v.start, end <= v.end)
  /// the attributes of `attrs` (flags, anon_name, policy), merging with a
  /// neighbour when possible, splitting otherwise (one store, plus exact-fit
  /// relabels of the split-off parts).
  std::error_code modify(vma_object *v, std::uint64_t start, std::uint64_t end,
                         const detail::vma_attrs &attrs);
  /// Applies modify's split case (the checks done; the nodes, the parts'
  /// copies of v and the new name made).
  void split_modify(vma_object *v, std::uint64_t start, std::uint64_t end,
                    const detail::vma_attrs &attrs, std::string &&name, bool lo, bool hi) noexcept;
  /// v (write-locked) takes attrs; `name` holds attrs' anon name already
  /// when it differs from v's (a move cannot fail).
  static void set_attrs(vma_object *v, const detail::vma_attrs &attrs, std::string &&name) noexcept;

  /// do_vmi_munmap on [start, end) (aligned, non-empty): one store of
  /// nothing over the range; VMAs cut at either end shrink in place (a hole
  /// inside one VMA gives its upper part a new VMA). `replacing`: a MAP_FIXED
  /// mmap over VMAs, which stores its own VMA over [start, end) next, from
  /// nodes reserved already (as __mmap_region does): the range is not
  /// emptied first, and the call's cursor stands on the range holding start
  /// (neighbours() said the range is not empty). On success *prev / *next
  /// (when given) are the VMAs on either side of the hole made.
  std::error_code unmap(std::uint64_t start, std::uint64_t end, bool replacing = false,
                        vma_object **prev = nullptr, vma_object **next = nullptr);
  /// VMAs intersecting [v.start, end) counted from v (the first of them)
  /// with the call's cursor; 1 without a step when v reaches end.
  std::size_t count_from(vma_object *v, std::uint64_t end) noexcept;

  /// get_unmapped_area; MAP_FIXED returns addr after the checks.
  std::error_code get_unmapped_area(const file_ref &file, std::uint64_t addr, std::uint64_t len,
                                    unsigned flags, std::uint64_t &out) const;
  std::error_code unmapped_area_topdown(std::uint64_t len, std::uint64_t low, std::uint64_t high,
                                        std::uint64_t align, std::uint64_t &out) const;
  std::error_code unmapped_area_bottomup(std::uint64_t len, std::uint64_t low, std::uint64_t high,
                                         std::uint64_t align, std::uint64_t &out) const;
  std::uint64_t vm_start_gap(const vma_object *v) const noexcept;

  /// Walks [start, end) VMA by VMA as madvise does; fn(v, s, e) for each
  /// mapped part (may replace VMAs). Holes give ENOMEM after the walk.
  template <class Fn>
  std::error_code walk_range(std::uint64_t start, std::uint64_t end, Fn &&fn);

  maple::check_report check() const;
};

template <class Fn>
std::error_code address_space::impl::walk_range(std::uint64_t start, std::uint64_t end, Fn &&fn) {
  std::error_code unmapped;
  vma_object *v = cur_find(start);
  while (true) {
    if (!v) return detail::enomem();
    if (start < v->v.start) {  // a hole: finish the walk, then report it
      unmapped = detail::enomem();
      start = v->v.start;
      if (start >= end) return unmapped;
    }
    std::uint64_t e = std::min(v->v.end, end);
    if (std::error_code ec = fn(v, start, e)) return ec;
    start = e;
    if (start >= end) return unmapped;
    v = cur_find(start);
  }
}

}  // namespace maple::mm
