// Every mm call gets what can fail before it changes anything:
//   - the write cursor's reserve for a sequence of stores (reserve() +
//     store_reserved(), maple/cursor.h);
//   - fault injection at every allocation (tree nodes and VMA objects come
//     from the space's memory resource) for EVERY syscall kind: a failed
//     call returns ENOMEM and leaves the maps text and validate() exactly
//     as before, and the same call succeeds once memory is back;
//   - root-to-leaf read walks per call (test builds count them in the
//     engine's descent: MAPLE_TEST_HOOKS).
#include <maple/cursor.h>
#include <maple/failing_resource.h>
#include <maple/mm.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>

#include "engine/walk.h"
#include "mm_support.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace maple::mm;
using mm_test::pg;

constexpr std::uint64_t X = 0x100000;
constexpr unsigned rw = prot_read | prot_write;
constexpr unsigned anon_fixed = map_private | map_anonymous | map_fixed;

std::errc errc_of(std::error_code ec) { return static_cast<std::errc>(ec.value()); }

// ---- the cursor's reserve for a sequence ------------------------------------------------

TEST(WriteCursorReserve, SequenceOfStoresRunsFromTheReserve) {
  maple::raw_tree t(maple::tree_flags::alloc | maple::tree_flags::rcu);
  static int obj[400];
  for (int i = 0; i < 200; ++i) ASSERT_FALSE(t.store(i * 10, i * 10 + 4, &obj[i]));
  maple::failing_resource mr;
  maple::write_guard g(t);
  maple::write_cursor c = g.cursor();
  ASSERT_FALSE(c.reserve(3));
  const unsigned got = c.reserved();
  EXPECT_GT(got, 0u);
  // Three structural stores, each one depending on the one before.
  c.set_range(5, 1004);
  c.store_reserved(&obj[300]);
  c.set_range(1005, 1010);
  c.store_reserved(&obj[301]);
  c.set_range(0, 2);
  c.store_reserved(nullptr);
  EXPECT_LE(c.reserved(), got);
  EXPECT_EQ(t.load(500), &obj[300]);
  EXPECT_EQ(t.load(1007), &obj[301]);
  EXPECT_EQ(t.load(1), nullptr);
  EXPECT_TRUE(t.validate().ok) << t.validate().message;
  c.release();
  EXPECT_EQ(c.reserved(), 0u);
}

TEST(WriteCursorReserve, FailureLeavesTheReserveAsItWas) {
  maple::failing_resource mr;
  maple::raw_tree t(maple::tree_flags::alloc, &mr);
  static int obj[64];
  for (int i = 0; i < 64; ++i) ASSERT_FALSE(t.store(i * 10, i * 10 + 4, &obj[i]));
  maple::write_guard g(t);
  maple::write_cursor c = g.cursor();
  ASSERT_FALSE(c.reserve(1));
  const unsigned one = c.reserved();
  const std::size_t live = mr.outstanding();
  mr.fail_nth(3);
  EXPECT_EQ(c.reserve(2), maple::errc::no_memory);
  EXPECT_EQ(c.reserved(), one);
  EXPECT_EQ(mr.outstanding(), live);
  mr.never_fail();
  c.release();
}

// ---- fault injection at every allocation, every syscall kind -----------------------------

struct call_kind {
  const char *name;
  // Sets up the space (memory never fails here).
  std::function<void(address_space &)> setup;
  // The call under test: its error (brk: ENOMEM when the break did not move).
  std::function<std::error_code(address_space &)> call;
};

void seed(address_space &as) {
  // Enough VMAs for a tree of several levels, with varied neighbours.
  std::uint64_t a = 0;
  for (int i = 0; i < 120; ++i) {
    unsigned prot = i % 3 ? rw : prot_read;
    ASSERT_FALSE(as.mmap(X + i * 4 * pg, 2 * pg, prot, anon_fixed, {}, 0, a));
  }
}

std::vector<call_kind> call_kinds() {
  const std::uint64_t mid = X + 60 * 4 * pg;
  auto wide = [mid](address_space &as) {
    seed(as);
    std::uint64_t a = 0;
    ASSERT_FALSE(as.mmap(mid, 4 * pg, rw, anon_fixed, {}, 0, a));
  };
  auto locked = [mid](address_space &as) {
    seed(as);
    ASSERT_FALSE(as.mlock(mid, 2 * pg));
  };
  auto with_heap = [](address_space &as) {  // an empty heap above the VMAs
    seed(as);
    layout l = as.get_layout();
    l.start_brk = l.brk = 0x10000000;
    as.set_layout(l);
  };
  return {
      {"mmap_gap", seed,
       [](address_space &as) {
         std::uint64_t a = 0;
         return as.mmap(0, 3 * pg, rw, map_private | map_anonymous, {}, 0, a);
       }},
      {"mmap_merge", seed,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mmap(mid + 2 * pg, pg, rw, anon_fixed, {}, 0, a);
       }},
      {"mmap_fixed_over", seed,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mmap(mid + pg, 9 * pg, prot_exec, anon_fixed, {}, 0, a);
       }},
      {"mmap_fixed_hole", wide,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         // Strictly inside one VMA: a split on both sides.
         return as.mmap(mid + pg, pg, prot_read, anon_fixed, {}, 0, a);
       }},
      {"munmap_gap", seed, [mid](address_space &as) { return as.munmap(mid + 2 * pg, 2 * pg); }},
      {"munmap_inside", wide, [mid](address_space &as) { return as.munmap(mid + pg, pg); }},
      {"munmap_span", seed, [mid](address_space &as) { return as.munmap(mid + pg, 13 * pg); }},
      {"mprotect_split", seed,
       [mid](address_space &as) { return as.mprotect(mid + pg, pg, prot_exec); }},
      {"mprotect_merge", seed,
       [mid](address_space &as) { return as.mprotect(mid - 4 * pg, 2 * pg, rw); }},
      {"mprotect_many",
       [mid](address_space &as) {
         seed(as);
         std::uint64_t a = 0;
         // Fill the holes so that the range is mapped throughout.
         for (int i = 0; i < 6; ++i) {
           ASSERT_FALSE(as.mmap(mid + (4 * i + 2) * pg, 2 * pg, prot_exec, anon_fixed, {}, 0, a));
         }
       },
       [mid](address_space &as) { return as.mprotect(mid + pg, 20 * pg, prot_read); }},
      {"madvise", seed,
       [mid](address_space &as) { return as.madvise(mid + pg, pg, madv_dontfork); }},
      {"mlock", seed, [mid](address_space &as) { return as.mlock(mid + pg, pg); }},
      {"munlock", locked, [mid](address_space &as) { return as.munlock(mid, pg); }},
      {"anon_name", seed, [mid](address_space &as) { return as.set_anon_name(mid, pg, "buf"); }},
      {"mremap_shrink", seed,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mremap(mid, 2 * pg, pg, 0, 0, a);
       }},
      {"mremap_grow", seed,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mremap(mid, 2 * pg, 3 * pg, 0, 0, a);
       }},
      {"mremap_move", seed,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mremap(mid, 2 * pg, 64 * pg, mremap_maymove, 0, a);
       }},
      {"mremap_fixed", seed,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mremap(mid, 2 * pg, pg, mremap_maymove | mremap_fixed, mid + 9 * pg, a);
       }},
      {"mremap_dontunmap", locked,
       [mid](address_space &as) {
         std::uint64_t a = 0;
         return as.mremap(mid, pg, pg, mremap_maymove | mremap_dontunmap, 0, a);
       }},
      {"brk_grow", with_heap,
       [](address_space &as) {
         std::uint64_t want = as.get_layout().brk + 3 * pg;
         return as.brk(want) == want ? std::error_code{}
                                     : std::make_error_code(std::errc::not_enough_memory);
       }},
      {"brk_shrink",
       [with_heap](address_space &as) {
         with_heap(as);
         as.brk(as.get_layout().brk + 8 * pg);
       },
       [](address_space &as) {
         std::uint64_t want = as.get_layout().start_brk + 2 * pg;
         return as.brk(want) == want ? std::error_code{}
                                     : std::make_error_code(std::errc::not_enough_memory);
       }},
      {"seed_snapshot", [](address_space &) {},
       [](address_space &as) {
         std::vector<vma_info> vmas;
         for (std::uint64_t i = 0; i < 100; ++i) {
           vma_info v;
           v.start = X + i * 2 * pg;
           v.end = v.start + pg;
           v.flags = vm::read | vm::mayread;
           vmas.push_back(v);
         }
         return as.seed(vmas);
       }},
      {"insert_vma", seed,
       [](address_space &as) {
         vma_info v;
         v.start = 0x40000000;
         v.end = v.start + 2 * pg;
         v.flags = vm::read | vm::mayread;
         return as.insert_vma(v);
       }},
  };
}

class MmFaultSweep : public ::testing::TestWithParam<bool> {};

// For each call kind and each k, the k-th allocation from the space's
// resource fails: either the call did not need it (success), or it
// returned ENOMEM and changed nothing. The sweep ends at the first k the
// call survives; every kind must have met at least one failure.
TEST_P(MmFaultSweep, EveryCallFailsCleanly) {
  const bool lockless = GetParam();
  for (const call_kind &kind : call_kinds()) {
    std::size_t failures = 0;
    bool done = false;
    for (std::size_t k = 1; k < 2000 && !done; ++k) {
      maple::failing_resource mr;
      {
        address_space as(layout{}, &mr);
        as.set_lockless_lookups(lockless);
        kind.setup(as);
        as.shrink_caches();  // the call allocates all it needs
        const std::string before = as.maps();
        const std::size_t count = as.map_count();
        mr.fail_nth(k);
        std::error_code ec = kind.call(as);
        mr.never_fail();
        ASSERT_TRUE(as.validate().ok) << kind.name << " k=" << k << ": " << as.validate().message;
        if (ec) {
          ++failures;
          EXPECT_EQ(errc_of(ec), std::errc::not_enough_memory) << kind.name << " k=" << k;
          EXPECT_EQ(as.maps(), before) << kind.name << " k=" << k;
          EXPECT_EQ(as.map_count(), count) << kind.name << " k=" << k;
          // With memory back the same call succeeds.
          EXPECT_FALSE(kind.call(as)) << kind.name << " k=" << k;
          EXPECT_TRUE(as.validate().ok) << kind.name << " k=" << k;
        } else {
          done = true;
        }
      }
      maple::rcu::barrier();
      EXPECT_EQ(mr.outstanding(), 0u) << kind.name << " k=" << k;
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_TRUE(done) << kind.name;
    // Calls that make a VMA object must have met a failure.
    for (const char *n :
         {"mmap_gap", "mmap_fixed_hole", "munmap_inside", "mprotect_split", "insert_vma",
          "seed_snapshot", "brk_grow", "mremap_move", "mremap_fixed"}) {
      if (kind.name == std::string(n)) {
        EXPECT_GT(failures, 0u) << kind.name << " never failed";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, MmFaultSweep, ::testing::Values(false, true),
                         [](const auto &i) { return i.param ? "lockless" : "plain"; });

// ---- what a call over many VMAs reserves --------------------------------------------------

// A call over k VMAs reserves nodes for its stores before the first one.
// The bound assumed that every store could make the tree a level taller,
// so it grew with k squared: mprotect over 2,000 VMAs asked for about 16
// million nodes (4 GiB) and failed with ENOMEM. The reserve now covers a
// bounded number of stores and tops up as the call goes on.
TEST(MmReserve, CallOverThousandsOfVmasAllocatesLinearly) {
  maple::failing_resource mr;
  address_space as(layout{}, &mr);
  as.set_lockless_lookups(false);
  constexpr int n = 2000;
  std::uint64_t a = 0;
  for (int i = 0; i < n; ++i) {
    unsigned prot = i % 2 ? rw : prot_read;  // alternate: no merging
    ASSERT_FALSE(as.mmap(X + i * pg, pg, prot, anon_fixed, {}, 0, a));
  }
  ASSERT_EQ(as.map_count(), static_cast<std::size_t>(n));
  const std::size_t before = mr.allocations();
  // Everything read-only: every VMA merges into the one before it.
  ASSERT_FALSE(as.mprotect(X, n * pg, prot_read));
  const std::size_t used = mr.allocations() - before;
  EXPECT_EQ(as.map_count(), 1u);
  EXPECT_TRUE(as.validate().ok) << as.validate().message;
  // Far fewer than one node per VMA (the merges shrink the tree).
  EXPECT_LT(used, static_cast<std::size_t>(n)) << "allocations for one mprotect";
  // The one VMA left goes with one call.
  ASSERT_FALSE(as.munmap(X, n * pg));
  EXPECT_EQ(as.map_count(), 0u);
}

// ---- root-to-leaf walks per call ------------------------------------------------------------

std::uint64_t walks() { return maple::detail::thread_walks(); }

struct walk_counter {
  std::uint64_t at = walks();
  std::uint64_t count() const { return walks() - at; }
};

TEST(MmWalks, PerCall) {
  address_space as;
  as.set_lockless_lookups(false);
  seed(as);
  const std::uint64_t mid = X + 60 * 4 * pg;
  std::uint64_t a = 0;
  std::uint64_t w_gap, w_merge, w_over, w_unmap, w_prot, w_remap, w_brk;
  {
    walk_counter c;
    ASSERT_FALSE(as.mmap(0x50000000, pg, prot_exec, anon_fixed, {}, 0, a));
    w_gap = c.count();
  }
  {
    walk_counter c;
    ASSERT_FALSE(as.mmap(mid + 2 * pg, pg, rw, anon_fixed, {}, 0, a));  // merges with prev
    w_merge = c.count();
  }
  {
    walk_counter c;
    ASSERT_FALSE(as.mmap(mid + 8 * pg, 6 * pg, prot_exec, anon_fixed, {}, 0, a));
    w_over = c.count();
  }
  {
    walk_counter c;
    ASSERT_FALSE(as.munmap(mid + 20 * pg, 6 * pg));
    w_unmap = c.count();
  }
  {
    walk_counter c;
    ASSERT_FALSE(as.mprotect(mid + 40 * pg, pg, prot_exec));
    w_prot = c.count();
  }
  {
    walk_counter c;
    ASSERT_FALSE(as.mremap(mid + 48 * pg, 2 * pg, pg, 0, 0, a));
    w_remap = c.count();
  }
  {
    layout l = as.get_layout();
    l.start_brk = l.brk = 0x20000000;
    as.set_layout(l);
    walk_counter c;
    ASSERT_EQ(as.brk(l.brk + pg), l.brk + pg);
    w_brk = c.count();
  }
  std::printf(
      "read walks: mmap gap %llu, merge %llu, over VMAs %llu; munmap %llu, mprotect %llu, "
      "mremap %llu, brk %llu\n",
      (unsigned long long)w_gap, (unsigned long long)w_merge, (unsigned long long)w_over,
      (unsigned long long)w_unmap, (unsigned long long)w_prot, (unsigned long long)w_remap,
      (unsigned long long)w_brk);
  // The counter counts: nothing is free.
  EXPECT_GT(w_gap, 0u);
  // Read walks only (each store's own write walk comes on top). The call's
  // cursor walks once, then steps: a new VMA in a gap and a merge find both
  // neighbours with one walk (the gap's far side may take a second when
  // nothing lies above); over existing VMAs the range check, the unmap and
  // the neighbours of the hole share one walk; munmap and mprotect walk
  // once; mremap (shrink) 2, brk 2.
  EXPECT_LE(w_gap, 2u);
  EXPECT_LE(w_merge, 2u);
  EXPECT_LE(w_over, 2u);
  EXPECT_LE(w_unmap, 1u);
  EXPECT_LE(w_prot, 1u);
  EXPECT_LE(w_remap, 2u);
  EXPECT_LE(w_brk, 2u);
  EXPECT_TRUE(as.validate().ok);
}

}  // namespace

namespace {

// ---- names shared with the tree and the xarray: clear, move, swap, stats ---------------------

TEST(MmNames, ClearMoveSwapAndStats) {
  address_space a;
  seed(a);
  const std::string maps_a = a.maps();
  mm_stats s = a.stats();
  EXPECT_GT(s.tree.height, 0u);
  EXPECT_GT(s.tree.nodes, 0u);
  EXPECT_EQ(s.tree.ranges, 120u);
  address_space b(std::move(a));
  EXPECT_EQ(b.maps(), maps_a);
  address_space c;
  swap(b, c);
  EXPECT_EQ(c.maps(), maps_a);
  EXPECT_EQ(b.map_count(), 0u);
  b = std::move(c);
  EXPECT_EQ(b.maps(), maps_a);
  b.clear();
  EXPECT_EQ(b.map_count(), 0u);
  EXPECT_TRUE(b.vmas().empty());
  EXPECT_TRUE(b.validate().ok) << b.validate().message;
  std::uint64_t got = 0;
  EXPECT_FALSE(b.mmap(X, pg, rw, anon_fixed, {}, 0, got));  // usable after clear()
  EXPECT_EQ(b.map_count(), 1u);
}

}  // namespace
