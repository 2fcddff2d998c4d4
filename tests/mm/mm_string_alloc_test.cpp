// A VMA's strings (its anon name) and file reference are copied with the
// global operator new, not the space's memory resource, so the fault sweep
// of mm_prealloc_test.cpp cannot reach them. Here a replaced operator new
// fails the k-th allocation on this thread, for every k, while a call that
// copies names runs: a split of a named VMA (the pieces copy the name), a
// new long name over part of a VMA and over all of it. Nothing may throw
// out of a call or end the program (a copy made after the first store, in
// a noexcept step, once did: std::terminate). A failure is ENOMEM; a call
// on one VMA leaves the space as it was; a call over several VMAs may keep
// the change of the VMAs before the one that failed, as the kernel's
// madvise and mprotect do when a split fails part-way (docs/mm.md); the
// same call with memory back then ends where a clean call does.
#include <maple/mm.h>

#include "mm_support.h"
#include "new_hook.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>

namespace {

// Armed on the testing thread only: the k-th operator new from now fails
// (new_hook.h).
thread_local std::size_t fail_at = 0;  // 0: off
thread_local std::size_t seen = 0;

bool kth_fails(std::size_t) noexcept { return fail_at == 0 || ++seen != fail_at; }
const bool hooked = (maple_test::new_hook.store(kth_fails), true);

}  // namespace

namespace {

using namespace maple::mm;
using mm_test::pg;

constexpr std::uint64_t X = 0x10000000;
constexpr unsigned rw = prot_read | prot_write;
const std::string long_name = "a-name-too-long-for-the-small-string-buffer";
// Made before any failure is armed (the calls must allocate nothing of the test's).
const std::string name_x = long_name + "x", name_y = long_name + "y";

struct case_t {
  const char *name;
  bool one_vma;  // the call changes one VMA
  std::function<void(address_space &)> setup;
  std::function<std::error_code(address_space &)> call;
};

void named_vmas(address_space &as) {
  std::uint64_t a = 0;
  // Side by side; the names differ, so they stay four VMAs.
  for (int i = 0; i < 4; ++i) {
    ASSERT_FALSE(
        as.mmap(X + i * 8 * pg, 8 * pg, rw, map_private | map_anonymous | map_fixed, {}, 0, a));
    ASSERT_FALSE(as.set_anon_name(X + i * 8 * pg, 8 * pg, long_name + std::to_string(i)));
  }
  ASSERT_EQ(as.map_count(), 4u);
}

TEST(MmStringAlloc, CallsThatCopyNamesFailCleanly) {
  const case_t cases[] = {
      {"mprotect_splits_a_named_vma", true, named_vmas,
       [](address_space &as) { return as.mprotect(X + 2 * pg, 2 * pg, prot_read); }},
      {"madvise_splits_named_vmas", false, named_vmas,
       [](address_space &as) { return as.madvise(X + 4 * pg, 24 * pg, madv_dontfork); }},
      {"new_long_name_inside_a_vma", true, named_vmas,
       [](address_space &as) { return as.set_anon_name(X + 3 * pg, 2 * pg, name_x); }},
      {"new_long_name_over_a_vma", true, named_vmas,
       [](address_space &as) { return as.set_anon_name(X, 8 * pg, name_y); }},
  };
  for (const case_t &c : cases) {
    std::string clean;  // the space after the call with nothing failing
    {
      address_space as;
      c.setup(as);
      ASSERT_FALSE(c.call(as)) << c.name;
      clean = as.maps();
    }
    std::size_t failures = 0;
    bool done = false;
    for (std::size_t k = 1; k < 500 && !done; ++k) {
      address_space as;
      as.set_lockless_lookups(false);
      c.setup(as);
      const std::string before = as.maps();
      std::error_code ec;
      seen = 0;
      fail_at = k;
      try {
        ec = c.call(as);
      } catch (const std::exception &x) {
        fail_at = 0;
        FAIL() << c.name << " k=" << k << ": threw " << x.what();
      }
      fail_at = 0;
      ASSERT_TRUE(as.validate().ok) << c.name << " k=" << k << ": " << as.validate().message;
      if (ec) {
        ++failures;
        EXPECT_EQ(ec, std::make_error_code(std::errc::not_enough_memory)) << c.name << " k=" << k;
        if (c.one_vma) {
          EXPECT_EQ(as.maps(), before) << c.name << " k=" << k;
        }
        EXPECT_FALSE(c.call(as)) << c.name << " k=" << k;  // with memory back
        EXPECT_EQ(as.maps(), clean) << c.name << " k=" << k;
      } else {
        done = true;
      }
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_TRUE(done) << c.name;
    EXPECT_GT(failures, 0u) << c.name << " never met a failed allocation";
  }
}

}  // namespace
