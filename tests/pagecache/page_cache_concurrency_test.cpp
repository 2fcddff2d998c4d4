// tests/pagecache/page_cache_concurrency_test.cpp - truncation and collapse (with
// injected rollbacks) racing lockless lookups on one mapping, the scenario
// of the 2021 linux-mm thread: two truncating threads, one collapsing
// thread, lookups by index and by range. Asserts that
//  * no lookup returns a folio that, once locked and still in the mapping,
//    does not cover the index it was found at;
//  * no folio is freed twice, and none is lost (at the end every folio in
//    use is in the cache, held by it alone);
//  * the final contents equal a sequential replay of every store the
//    threads made (recorded in lock order), and the invariants hold.
// Runs for about 4 s (times MAPLE_TEST_SCALE).
#include "test_env.h"
#include "xa_test_support.h"

#include <maple/entry.h>
#include <maple/rcu.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <tuple>
#include <vector>

#include "pagecache/page_cache.h"

namespace maple_test {
namespace {

using namespace maple::pagecache;

constexpr std::uint64_t kHuge = 4;  // 2 MiB ranges in the file
constexpr std::uint64_t kPages = kHuge * hpage_nr;

struct shared_state {
  folio_pool pool;
  file_mapping m{pool};
  std::vector<std::tuple<std::uint64_t, unsigned, void *>> log;  // stores, in lock order
  std::atomic<bool> stop{false};
  // The page range each truncating thread is working on ([1, 0]: none);
  // populating leaves them alone, so that every truncation ends.
  std::atomic<std::uint64_t> trunc_lo[2] = {1, 1}, trunc_hi[2] = {0, 0};
  std::atomic<std::uint64_t> violations{0}, lookups{0}, locked_hits{0}, truncates{0};
  std::atomic<std::uint64_t> collapsed{0}, rolled_back{0}, failed{0};
};

/// Fills the holes of [first, first + n) with small folios or shadows.
bool being_truncated(shared_state &s, std::uint64_t i) {
  for (int t = 0; t < 2; ++t)
    if (i >= s.trunc_lo[t].load() && i <= s.trunc_hi[t].load()) return true;
  return false;
}

/// Fills the holes of [first, first + n) with small folios, and shadows in
/// the last huge range (so that the others can be collapsed).
void populate(shared_state &s, rng &r, std::uint64_t first, std::uint64_t n) {
  for (std::uint64_t i = first; i < first + n && i < kPages; ++i) {
    if (s.m.i_pages.load(i) || being_truncated(s, i)) continue;
    if (i >= kPages - hpage_nr && r.chance(1, 8)) {
      (void)filemap_add_shadow(s.m, i, i);
      continue;
    }
    folio *f = s.pool.alloc(0);
    f->uptodate.store(true);
    (void)filemap_add_folio(s.m, f, i);  // busy if a racing thread filled it
    s.pool.put(f);
  }
}

void lookup_thread(shared_state &s, std::uint64_t seed) {
  rng r(seed);
  std::vector<void *> batch;
  std::vector<std::uint64_t> idx;
  while (!s.stop.load(std::memory_order_relaxed)) {
    std::uint64_t i = r.below(kPages);
    s.lookups.fetch_add(1, std::memory_order_relaxed);
    if (r.chance(3, 4)) {
      void *e = filemap_get_entry(s.m, i);
      if (!e || maple::is_value_entry(e)) continue;
      auto *f = static_cast<folio *>(e);
      folio_lock(f);
      if (f->mapping.load(std::memory_order_acquire) == &s.m) {
        s.locked_hits.fetch_add(1, std::memory_order_relaxed);
        if (!folio_contains(f, i)) s.violations.fetch_add(1);
      }
      folio_unlock(f);
      s.pool.put(f);
      continue;
    }
    std::uint64_t start = i, end = std::min(kPages - 1, i + r.below(1100));
    find_lock_entries(s.m, start, end, batch, idx);
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (maple::is_value_entry(batch[k])) continue;
      auto *f = static_cast<folio *>(batch[k]);
      if (!f->locked.load() || f->mapping.load() != &s.m || !folio_contains(f, idx[k]))
        s.violations.fetch_add(1);
      folio_unlock(f);
      s.pool.put(f);
    }
  }
}

void truncate_thread(shared_state &s, int self, std::uint64_t seed) {
  rng r(seed);
  while (!s.stop.load(std::memory_order_relaxed)) {
    std::uint64_t a, b;  // bytes, inclusive
    switch (r.below(4)) {
      case 0:  // the whole file, as an open for write of a file with THPs
        a = 0;
        b = ~0ull;
        break;
      case 1: {  // one huge range
        std::uint64_t h = r.below(kHuge) * hpage_nr;
        a = h << page_shift;
        b = ((h + hpage_nr) << page_shift) - 1;
        break;
      }
      default: {  // any byte range
        std::uint64_t x = r.below(kPages << page_shift), y = r.below(kPages << page_shift);
        a = std::min(x, y);
        b = std::max(x, y);
      }
    }
    // Whole large folios overlapping the range go too: widen the guard.
    s.trunc_lo[self].store((a >> page_shift) & ~(hpage_nr - 1));
    s.trunc_hi[self].store(b == ~0ull ? ~0ull : (b >> page_shift) | (hpage_nr - 1));
    truncate_inode_pages_range(s.m, a, b);
    s.trunc_lo[self].store(1);
    s.trunc_hi[self].store(0);
    s.truncates.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t h = r.below(kHuge) * hpage_nr;
    populate(s, r, h, hpage_nr);
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
}

void collapse_thread(shared_state &s, std::uint64_t seed) {
  rng r(seed);
  while (!s.stop.load(std::memory_order_relaxed)) {
    std::uint64_t h = r.below(kHuge) * hpage_nr;
    switch (collapse_file(s.m, h, r.chance(1, 2), 64)) {
      case collapse_result::collapsed: s.collapsed.fetch_add(1); break;
      case collapse_result::rolled_back: s.rolled_back.fetch_add(1); break;
      case collapse_result::failed: s.failed.fetch_add(1); break;
    }
    populate(s, r, h, hpage_nr);
  }
}

TEST(PageCacheConcurrency, TruncateAndCollapseRaceLocklessLookups) {
  shared_state s;
  s.m.on_store = [&s](std::uint64_t i, unsigned order, void *e) {
    s.log.emplace_back(i, order, e);
  };
  rng r(test_seed(2021));
  populate(s, r, 0, kPages);

  const auto duration = std::chrono::milliseconds(static_cast<long>(4000 * test_scale()));
  std::vector<std::thread> threads;
  threads.emplace_back(lookup_thread, std::ref(s), r.next());
  threads.emplace_back(lookup_thread, std::ref(s), r.next());
  threads.emplace_back(truncate_thread, std::ref(s), 0, r.next());
  threads.emplace_back(truncate_thread, std::ref(s), 1, r.next());
  threads.emplace_back(collapse_thread, std::ref(s), r.next());
  std::this_thread::sleep_for(duration);
  s.stop.store(true);
  for (auto &t : threads) t.join();

  std::printf(
      "lookups %llu (locked hits %llu), truncates %llu, collapses %llu committed, "
      "%llu rolled back, %llu failed; %zu stores replayed\n",
      static_cast<unsigned long long>(s.lookups.load()),
      static_cast<unsigned long long>(s.locked_hits.load()),
      static_cast<unsigned long long>(s.truncates.load()),
      static_cast<unsigned long long>(s.collapsed.load()),
      static_cast<unsigned long long>(s.rolled_back.load()),
      static_cast<unsigned long long>(s.failed.load()), s.log.size());
  EXPECT_EQ(s.violations.load(), 0u);
  EXPECT_EQ(s.pool.double_frees(), 0u);
  EXPECT_GT(s.locked_hits.load(), 0u);
  EXPECT_GT(s.collapsed.load() + s.rolled_back.load() + s.failed.load(), 0u);
  ASSERT_TRUE(s.m.i_pages.validate()) << s.m.i_pages.validate().message;

  // The final contents are the sequential replay of the recorded stores.
  xa_model model;
  for (auto &[i, order, e] : s.log) model.store(i, order, e);
  EXPECT_EQ(xa_snapshot(s.m.i_pages), model.snapshot());

  // Every folio in use is in the cache, consistent and held by it alone.
  std::size_t cached = 0;
  std::uint64_t pages = 0;
  for (auto [i, e] : s.m.i_pages.entries()) {
    if (maple::is_value_entry(e)) continue;
    auto *f = static_cast<folio *>(e);
    ++cached;
    pages += f->nr_pages();
    EXPECT_EQ(f->mapping.load(), &s.m);
    EXPECT_EQ(f->index.load(), i);
    EXPECT_EQ(s.m.i_pages.get_order(i), f->order.load());
    EXPECT_EQ(f->refcount.load(), 1);
    EXPECT_FALSE(f->locked.load());
  }
  EXPECT_EQ(s.pool.in_use(), cached);
  EXPECT_EQ(s.m.nrpages.load(), pages);
  truncate_inode_pages_range(s.m, 0, ~0ull);
  EXPECT_TRUE(s.m.i_pages.empty());
  EXPECT_EQ(s.pool.in_use(), 0u);
  maple::rcu::barrier();
}

}  // namespace
}  // namespace maple_test
