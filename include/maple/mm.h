// maple/mm.h - a model of a Linux process address space: VMAs kept in a
// maple tree exactly as the kernel keeps them (an allocation tree in RCU mode
// whose writers serialise on the address space's own mmap lock), with the
// memory syscalls' semantics, merge rules and error codes (x86-64, 4 KiB
// pages). Target maple::mm. Facts: docs/mm.md (after the kernel's mm/vma.c,
// mm/mmap.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c, mm/mmap_lock.c,
// fs/proc/task_mmu.c).
//
//   maple::mm::address_space as;
//   std::uint64_t a;
//   as.mmap(0, 8192, prot_read | prot_write, map_private | map_anonymous, {}, 0, a);
//   as.mprotect(a, 4096, prot_read);        // splits: 2 VMAs
//   as.mprotect(a, 4096, prot_read | prot_write);  // merges back: 1 VMA
//   std::cout << as.maps();                  // /proc/PID/maps text
//
// Errors are std::error_code values in std::generic_category() whose value is
// the errno the kernel returns (EINVAL, ENOMEM, EEXIST, EFAULT, EACCES,
// EPERM, EOVERFLOW, EBADF, ENODEV); a failed call leaves the address space as
// the kernel would (for most calls: unchanged; see each call).
//
// Threads: every call is safe to make from any thread. Writers serialise on
// the mmap lock (a reader-writer lock); find_vma() and friends take it shared;
// lock_vma_under_rcu() / fault() take no lock at all (RCU + per-VMA locks).
#pragma once

#include <maple/detail/tree_types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace maple::mm {

inline constexpr std::uint64_t page_shift = 12;
inline constexpr std::uint64_t page_size = std::uint64_t{1} << page_shift;
/// x86-64 user address space limit (47-bit, minus one page).
inline constexpr std::uint64_t default_task_size = 0x7ffffffff000ULL;

// ---- syscall argument constants (x86-64 Linux values) ----------------------
enum : unsigned {
  prot_none = 0x0,
  prot_read = 0x1,
  prot_write = 0x2,
  prot_exec = 0x4,
  prot_sem = 0x8,
  prot_growsdown = 0x01000000,
  prot_growsup = 0x02000000,
};
enum : unsigned {
  map_shared = 0x01,
  map_private = 0x02,
  map_shared_validate = 0x03,
  map_type = 0x0f,
  map_fixed = 0x10,
  map_anonymous = 0x20,
  map_32bit = 0x40,
  map_growsdown = 0x0100,
  map_denywrite = 0x0800,
  map_executable = 0x1000,
  map_locked = 0x2000,
  map_noreserve = 0x4000,
  map_populate = 0x8000,
  map_nonblock = 0x10000,
  map_stack = 0x20000,
  map_hugetlb = 0x40000,
  map_sync = 0x80000,
  map_fixed_noreplace = 0x100000,
  map_uninitialized = 0x4000000,
};
enum : unsigned {
  mremap_maymove = 1,
  mremap_fixed = 2,
  mremap_dontunmap = 4,
};
/// madvise advice values (only those that change VMAs do anything here;
/// the page-level ones are accepted and checked, then ignored).
enum : int {
  madv_normal = 0,
  madv_random = 1,
  madv_sequential = 2,
  madv_willneed = 3,
  madv_dontneed = 4,
  madv_free = 8,
  madv_remove = 9,
  madv_dontfork = 10,
  madv_dofork = 11,
  madv_mergeable = 12,
  madv_unmergeable = 13,
  madv_hugepage = 14,
  madv_nohugepage = 15,
  madv_dontdump = 16,
  madv_dodump = 17,
  madv_wipeonfork = 18,
  madv_keeponfork = 19,
  madv_cold = 20,
  madv_pageout = 21,
  madv_populate_read = 22,
  madv_populate_write = 23,
  madv_dontneed_locked = 24,
  madv_collapse = 25,
  madv_guard_install = 102,
  madv_guard_remove = 103,
  madv_hwpoison = 100,
  madv_soft_offline = 101,
};
enum : unsigned {
  mlock_onfault = 1,  ///< mlock2 flag
};

// ---- vm_flags (legacy VM_* bit values) -------------------------------------
namespace vm {
inline constexpr std::uint64_t read = 0x1, write = 0x2, exec = 0x4, shared = 0x8;
inline constexpr std::uint64_t mayread = 0x10, maywrite = 0x20, mayexec = 0x40, mayshare = 0x80;
inline constexpr std::uint64_t growsdown = 0x100, pfnmap = 0x400, locked = 0x2000, io = 0x4000;
inline constexpr std::uint64_t seq_read = 0x8000, rand_read = 0x10000, dontcopy = 0x20000;
inline constexpr std::uint64_t dontexpand = 0x40000, lockonfault = 0x80000, account = 0x100000;
inline constexpr std::uint64_t noreserve = 0x200000, hugetlb = 0x400000, sync = 0x800000;
inline constexpr std::uint64_t wipeonfork = 0x2000000, dontdump = 0x4000000;
inline constexpr std::uint64_t softdirty = 0x8000000, mixedmap = 0x10000000;
inline constexpr std::uint64_t hugepage = 0x20000000, nohugepage = 0x40000000;
inline constexpr std::uint64_t mergeable = 0x80000000;
inline constexpr std::uint64_t sealed = std::uint64_t{1} << 42;
/// Never merged (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP).
inline constexpr std::uint64_t special = io | dontexpand | pfnmap | mixedmap;
inline constexpr std::uint64_t access = read | write | exec;
inline constexpr std::uint64_t locked_mask = locked | lockonfault;
}  // namespace vm

// ---- files -------------------------------------------------------------------

/// An open file description (what the kernel's struct file is): merging
/// compares identities (`id`), never paths. Two open()s of one path are two
/// files; dup()ed or inherited descriptors are one.
struct file {
  std::uint64_t id = 0;    ///< identity (unique per open file description)
  std::string path;        ///< printed in maps
  unsigned dev_major = 0;  ///< device of the file's superblock (maps column 4)
  unsigned dev_minor = 0;
  std::uint64_t inode = 0;  ///< maps column 5
  bool readable = true;     ///< opened for reading
  bool writable = false;    ///< opened for writing (MAP_SHARED + PROT_WRITE needs it)
  bool noexec = false;      ///< on a noexec mount
  /// The shmem file behind a shared anonymous mapping (shmem_zero_setup):
  /// such a VMA takes an anon name ("[anon_shmem:NAME]"), other files don't.
  bool anon_shmem = false;
};
using file_ref = std::shared_ptr<const file>;

/// What a VMA is, as a value (a snapshot; VMAs themselves live in the tree).
struct vma_info {
  std::uint64_t start = 0, end = 0;  ///< [start, end), page aligned
  std::uint64_t flags = 0;           ///< vm:: bits
  std::uint64_t pgoff = 0;           ///< in pages
  file_ref file;                     ///< nullptr: anonymous
  std::string anon_name;             ///< prctl(PR_SET_VMA_ANON_NAME); "" none
  std::string special_name;    ///< "[vdso]", "[vvar]"...: a special mapping (never merged or split)
  std::uint64_t anon_vma = 0;  ///< anon_vma identity (0: none yet; set by a write fault)
  bool forked = false;         ///< anon_vma chain not singular (inherited through fork)
  std::uint32_t policy = 0;    ///< NUMA policy id (0: default); a merge key
  friend bool operator==(const vma_info &, const vma_info &) = default;
};

/// Layout of an address space (arch_pick_mmap_layout's results and the
/// sysctls that matter). Defaults: a top-down x86-64 process without ASLR.
struct layout {
  std::uint64_t task_size = default_task_size;
  std::uint64_t mmap_base = 0x7ffff7fff000ULL;      ///< top of the top-down search
  std::uint64_t mmap_min_addr = 0x10000;            ///< vm.mmap_min_addr
  std::uint64_t start_brk = 0, brk = 0;             ///< heap (brk == start_brk: no heap yet)
  std::uint64_t start_stack = 0;                    ///< [stack] label (mm->start_stack)
  std::uint64_t stack_guard_gap = 256 * page_size;  ///< below VM_GROWSDOWN VMAs
  std::uint64_t max_map_count = 65530;              ///< vm.max_map_count
  bool topdown = true;                              ///< MMF_TOPDOWN
  bool thp_align = true;                            ///< anonymous mmaps >= 2 MiB aligned to 2 MiB
  bool overcommit_never = false;                    ///< vm.overcommit_memory == 2
  bool show_vsyscall = true;                        ///< print the [vsyscall] gate line in maps()
};

/// Counters of what the model did (replay statistics), and the shape of
/// the VMA tree.
struct mm_stats {
  std::uint64_t splits = 0;  ///< VMAs split in two
  std::uint64_t merges = 0;  ///< merges that expanded or removed a VMA
  std::uint64_t vmas_created = 0;
  std::uint64_t vmas_freed = 0;
  std::uint64_t fault_retries = 0;    ///< lock_vma_under_rcu lookups that re-walked (detached VMA)
  std::uint64_t fault_fallbacks = 0;  ///< lookups that fell back to the mmap lock
  maple::tree_stats tree;             ///< the VMA tree (height, nodes, bytes...)
};

class address_space;

/// A VMA held by a per-VMA read lock (lock_vma_under_rcu()): its fields are
/// stable while the handle lives; writers that want to change or remove it
/// wait until it is released. Movable, not copyable.
class vma_read_ref {
 public:
  vma_read_ref() = default;
  vma_read_ref(vma_read_ref &&o) noexcept : v_(std::exchange(o.v_, nullptr)) {}
  vma_read_ref &operator=(vma_read_ref &&o) noexcept;
  vma_read_ref(const vma_read_ref &) = delete;
  vma_read_ref &operator=(const vma_read_ref &) = delete;
  ~vma_read_ref() { release(); }
  explicit operator bool() const noexcept { return v_ != nullptr; }
  /// A copy of the locked VMA.
  vma_info info() const;
  std::uint64_t start() const noexcept;
  std::uint64_t end() const noexcept;
  std::uint64_t flags() const noexcept;
  void release() noexcept;

 private:
  friend class address_space;
  explicit vma_read_ref(void *v) noexcept : v_(v) {}
  void *v_ = nullptr;  // the internal VMA object
};

/// The address space (the kernel's mm_struct with its VMAs).
class address_space {
 public:
  /// An empty address space. Tree nodes come from `mr` (default: the
  /// library's node allocator); a maple::failing_resource there injects
  /// allocation failures (every call then fails cleanly with ENOMEM and
  /// leaves the space as it was). VMA objects come from `mr` too. The
  /// resource must outlive the address space and the frees it defers past
  /// RCU grace periods: call maple::rcu::barrier() before destroying it.
  explicit address_space(const layout &l = layout{}, std::pmr::memory_resource *mr = nullptr);
  ~address_space();
  address_space(const address_space &) = delete;
  address_space &operator=(const address_space &) = delete;
  /// Moves take the whole space (VMAs, layout, lock); the moved-from
  /// object may only be destroyed, assigned to or swapped. Neither side
  /// may be in use by another thread.
  address_space(address_space &&) noexcept;
  address_space &operator=(address_space &&) noexcept;
  friend void swap(address_space &a, address_space &b) noexcept { a.p_.swap(b.p_); }

  // ---- set-up ---------------------------------------------------------------

  /// Places one VMA as the ELF loader / execve does (no merging, no
  /// accounting): used to seed a model from a /proc/PID/maps snapshot.
  /// Errors: EINVAL (unaligned, empty), EEXIST (overlaps a VMA), ENOMEM.
  std::error_code insert_vma(const vma_info &v);
  /// Places every VMA of `vmas` into this empty space at once (one bulk
  /// build of the tree; a whole maps snapshot costs about what one
  /// insert_vma() does per VMA, several times less). `vmas` must be sorted
  /// by start and must not overlap, as the lines of a maps file are.
  /// Errors: EEXIST (the space is not empty), EINVAL (an unaligned or empty
  /// VMA, or unsorted or overlapping input), ENOMEM; nothing changes then.
  std::error_code seed(std::span<const vma_info> vmas);
  /// Current layout (brk fields follow brk()).
  layout get_layout() const;
  /// Changes the layout fields (not the VMAs).
  void set_layout(const layout &l);
  /// Removes every VMA (exit_mmap's unmap of everything); the layout stays.
  void clear();
  /// Gives back to the memory resource the spare tree nodes and VMA objects
  /// a space keeps between calls (so that most calls allocate nothing):
  /// for memory pressure, or before measuring what the next call needs.
  void shrink_caches();
  /// Lock-free lookups (lock_vma_under_rcu(), fault()'s first try) are on
  /// by default, so VMAs and tree nodes removed by a call are freed only
  /// after an RCU grace period. A space whose every lookup runs under the
  /// mmap lock or on the writer's thread (a trace replay, a test) can switch
  /// them off: removed VMAs and tree nodes are then freed at once, and
  /// lock_vma_under_rcu() finds nothing, so fault() takes the mmap lock.
  /// Switching off waits for lock-free lookups in progress to finish. A
  /// child of fork() keeps its own setting. (exit_mmap does the same when a
  /// space is destroyed: the destructor frees everything at once.)
  void set_lockless_lookups(bool on);
  bool lockless_lookups() const noexcept;

  // ---- the memory syscalls ----------------------------------------------------
  // Each mirrors the kernel function named; `len` is rounded up to pages.

  /// mmap(2) (do_mmap + __mmap_region): hint / MAP_FIXED /
  /// MAP_FIXED_NOREPLACE placement, top-down gap search from mmap_base with
  /// the stack guard gap and THP alignment, merging with both neighbours,
  /// vm.max_map_count. `offset` in bytes; `file` nullptr with
  /// map_anonymous. On success `addr_out` is the mapping's address.
  std::error_code mmap(std::uint64_t addr, std::uint64_t len, unsigned prot, unsigned flags,
                       const file_ref &file, std::uint64_t offset, std::uint64_t &addr_out);
  /// munmap(2) (do_vmi_munmap): splits at both ends, never merges.
  std::error_code munmap(std::uint64_t addr, std::uint64_t len);
  /// mprotect(2) (do_mprotect_pkey + mprotect_fixup): splits and merges; a
  /// hole part-way gives ENOMEM after changing the VMAs before it.
  std::error_code mprotect(std::uint64_t addr, std::uint64_t len, unsigned prot);
  /// mremap(2): shrink, grow in place (merging with the next VMA), move
  /// (MREMAP_MAYMOVE), MREMAP_FIXED, MREMAP_DONTUNMAP. `addr_out`: the result.
  std::error_code mremap(std::uint64_t old_addr, std::uint64_t old_len, std::uint64_t new_len,
                         unsigned flags, std::uint64_t new_addr, std::uint64_t &addr_out);
  /// brk(2): returns the new break, or the current one on failure (no errno).
  std::uint64_t brk(std::uint64_t new_brk);
  /// madvise(2): the advices that change vm_flags split and merge VMAs; a
  /// range with holes is applied to the mapped parts, then gives ENOMEM.
  std::error_code madvise(std::uint64_t addr, std::uint64_t len, int advice);
  /// mlock2(2) / munlock(2): VM_LOCKED (VM_LOCKONFAULT with mlock_onfault).
  std::error_code mlock(std::uint64_t addr, std::uint64_t len, unsigned flags = 0);
  std::error_code munlock(std::uint64_t addr, std::uint64_t len);
  /// prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name): "" clears.
  std::error_code set_anon_name(std::uint64_t addr, std::uint64_t len, std::string_view name);

  /// fork's dup_mmap: `child` (empty) becomes a copy: VM_DONTCOPY ranges
  /// left out, VM_WIPEONFORK VMAs without their anon_vma, VM_LOCKED
  /// cleared, anon VMAs marked forked. On failure (ENOMEM, e.g. injected by
  /// a memory resource) the child is left with no VMA at all. Errors also:
  /// EINVAL (child not empty or this).
  std::error_code fork(address_space &child) const;

  /// Marks the pages of [addr, addr+len) written (anon VMAs get their
  /// anon_vma, as a write fault would): changes later merge decisions.
  std::error_code touch(std::uint64_t addr, std::uint64_t len);

  // ---- lookups (take the mmap lock shared) ----------------------------------

  /// The first VMA with end > addr.
  std::optional<vma_info> find_vma(std::uint64_t addr) const;
  /// find_vma, plus the VMA before the result (or before addr's gap).
  std::optional<vma_info> find_vma_prev(std::uint64_t addr, std::optional<vma_info> &prev) const;
  /// The first VMA intersecting [start, end).
  std::optional<vma_info> find_vma_intersection(std::uint64_t start, std::uint64_t end) const;
  /// The VMA containing addr.
  std::optional<vma_info> vma_lookup(std::uint64_t addr) const;
  /// Every VMA in address order.
  std::vector<vma_info> vmas() const;
  std::size_t map_count() const noexcept;

  // ---- page-fault path (no lock) ----------------------------------------------

  /// lock_vma_under_rcu: walks the tree under RCU and read-locks the VMA
  /// containing addr; a VMA detached meanwhile makes it walk again from the
  /// root (never from a cursor kept across the read section); an empty
  /// handle means "none, or write-locked: take the slow path".
  vma_read_ref lock_vma_under_rcu(std::uint64_t addr) const;
  /// The whole fault lookup: lock_vma_under_rcu, falling back to find_vma
  /// under the mmap lock. Returns a snapshot of the VMA holding addr.
  std::optional<vma_info> fault(std::uint64_t addr) const;

  // ---- output and checking ----------------------------------------------------

  /// /proc/PID/maps, byte for byte in the kernel's format.
  std::string maps() const;
  /// validate_mm: the tree's invariants, map_count, each range equals its
  /// VMA, VMAs ordered and page aligned; the first violation otherwise.
  maple::check_report validate() const;
  /// The counters and the tree's shape (stats().tree: O(nodes)).
  mm_stats stats() const;

  /// Takes / drops the mmap lock for writing from outside (every call takes
  /// it by itself): tests use it to hold writers off, and to make
  /// lock_vma_under_rcu() meet write-locked VMAs.
  void mmap_write_lock() const;
  void mmap_write_unlock() const;

  struct impl;  ///< (internal)

 private:
  std::unique_ptr<impl> p_;
  friend class vma_read_ref;
};

/// One line of /proc/PID/maps, parsed.
struct maps_line {
  std::uint64_t start = 0, end = 0;
  bool r = false, w = false, x = false, shared = false;  ///< shared: 's'
  std::uint64_t offset = 0;                              ///< bytes
  unsigned dev_major = 0, dev_minor = 0;
  std::uint64_t inode = 0;
  std::string name;  ///< path, [heap], [stack], [vdso], [anon:x]... ("" none)
};
/// Parses one maps line. Errors: EINVAL with `why` set.
std::error_code parse_maps_line(std::string_view line, maps_line &out, std::string *why = nullptr);
/// Formats one line exactly as the kernel prints it (with '\n').
std::string format_maps_line(const maps_line &l);

}  // namespace maple::mm
