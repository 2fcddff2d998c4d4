// tests/xarray/xarray_concurrency_test.cpp - lockless readers beside one writer.
// Every entry the writer stores encodes the aligned range it covers, so a
// reader can check that whatever it loads or finds at an index was stored
// over that index (no torn state, no entry seen at the wrong place), while
// the writer stores entries of orders 0-12, erases and splits, making the
// tree grow, shrink and retire whole subtrees. Runs about 2 s (times
// MAPLE_TEST_SCALE). Every violation is counted and the first 20 are
// reported with the read that saw it, the index, the entry decoded and the
// writer's operation at the time (a hint: the culprit may be an earlier one).
//
// It once failed about once in ten runs: a reader that read a sibling word
// and then the entry's first slot could return a smaller entry stored there
// after an erase or split in between (fixed by xa_node::seq, see
// xa_impl::read_sibling; deterministic cases in xarray_test.cpp,
// XArrayLocklessRace), and xa.find() could then resume its search before
// the start index.
#include "test_env.h"

#include <maple/entry.h>
#include <maple/rcu.h>
#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace maple_test {
namespace {

constexpr std::uint64_t kSpan = std::uint64_t{1} << 16;

// first (up to 2^40) and order packed into a value entry.
void *encode(std::uint64_t first, unsigned order) {
  return maple::make_value_entry((first << 6) | order);
}
bool covers(void *e, std::uint64_t i) {
  if (!maple::is_value_entry(e)) return false;
  std::uint64_t v = maple::value_of_entry(e);
  std::uint64_t first = v >> 6, order = v & 63;
  return i >= first && i - first < (std::uint64_t{1} << order);
}

// The writer's current operation, published in one word (kind, order and
// index) before it starts, so that a reader reporting a violation can say
// what the writer was doing. Read after the fact, it is a hint, not proof.
enum class wop : unsigned { none, store, store_whole, erase, split, split_piece, thin };
const char *wop_name(wop k) {
  static const char *const names[] = {"none",  "store_order",       "store_order(whole)", "erase",
                                      "split", "split piece store", "thin (erase x64)"};
  return names[static_cast<unsigned>(k)];
}
struct writer_record {
  std::atomic<std::uint64_t> op{0};  // index (48 bits) | order << 48 | kind << 56
  std::atomic<std::uint64_t> count{0};
  void set(wop k, std::uint64_t index, unsigned order) {
    op.store(index | std::uint64_t{order} << 48 | std::uint64_t{static_cast<unsigned>(k)} << 56,
             std::memory_order_release);
    count.fetch_add(1, std::memory_order_relaxed);
  }
};

// One entry a reader saw at an index it does not cover.
struct violation {
  const char *read;  // which read saw it
  std::uint64_t index, from;
  void *entry;
  std::uint64_t writer_op, writer_ops;
};

std::string describe(const violation &v) {
  char buf[320];
  std::string what;
  if (!v.entry) {
    what = "nullptr";
  } else if (maple::is_value_entry(v.entry)) {
    std::uint64_t x = maple::value_of_entry(v.entry);
    char d[96];
    std::snprintf(d, sizeof d, "value %#llx = encode(first %#llx, order %u)",
                  static_cast<unsigned long long>(x), static_cast<unsigned long long>(x >> 6),
                  static_cast<unsigned>(x & 63));
    what = d;
  } else {
    char d[64];
    std::snprintf(d, sizeof d, "non-value word %p%s", v.entry,
                  maple::xa_is_internal(v.entry) ? " (internal)" : "");
    what = d;
  }
  const auto kind = static_cast<wop>(v.writer_op >> 56);
  std::snprintf(buf, sizeof buf,
                "%s from %#llx: index %#llx%s holds %s; writer op #%llu: %s index %#llx order %u",
                v.read, static_cast<unsigned long long>(v.from),
                static_cast<unsigned long long>(v.index),
                v.index < v.from ? " (before the start)" : "", what.c_str(),
                static_cast<unsigned long long>(v.writer_ops), wop_name(kind),
                static_cast<unsigned long long>(v.writer_op & ((std::uint64_t{1} << 48) - 1)),
                static_cast<unsigned>((v.writer_op >> 48) & 0xff));
  return buf;
}

TEST(XArrayConcurrency, ReadersSeeOnlyEntriesStoredOverTheirIndex) {
  maple::xarray xa;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0}, reads{0};
  writer_record last;
  constexpr std::size_t kDetailed = 20;
  std::mutex seen_lock;
  std::vector<violation> seen;
  auto report = [&](const char *read, std::uint64_t from, std::uint64_t index, void *entry) {
    violation v{read,
                index,
                from,
                entry,
                last.op.load(std::memory_order_acquire),
                last.count.load(std::memory_order_relaxed)};
    bad.fetch_add(1);
    std::lock_guard g(seen_lock);
    if (seen.size() < kDetailed) seen.push_back(v);
  };
  auto reader = [&](std::uint64_t seed) {
    rng r(seed);
    while (!stop.load(std::memory_order_relaxed)) {
      std::uint64_t i = r.below(kSpan) + (r.chance(1, 8) ? (std::uint64_t{1} << 40) : 0);
      // load: nullptr or an entry stored over i.
      void *e = xa.load(i);
      if (e && !covers(e, i)) report("xa.load", i, i, e);
      // find: the entry holding i (j stays i) or the first entry after i,
      // with j moved to its first index; so j >= i and the entry covers j.
      std::uint64_t j = i;
      void *f = xa.find(j, i + 4096);
      if (f && (j < i || !covers(f, j))) report("xa.find", i, j, f);
      {
        maple::rcu::read_guard g;  // a cursor walk in one read section
        maple::xa_state xas(xa, i);
        int n = 0;
        for (void *x = xas.find(i + 1000); x && n < 32; x = xas.find(i + 1000), ++n) {
          if (xas.retry(x)) continue;
          // The first hit lies at or after i; later ones cover their index.
          if (!covers(x, xas.index()) || (n == 0 && xas.index() < i))
            report("xa_state::find", i, xas.index(), x);
        }
      }
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) readers.emplace_back(reader, 77 + t);

  rng r(test_seed(4242));
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<long>(2000 * test_scale()));
  std::uint64_t writes = 0;
  while (std::chrono::steady_clock::now() < until) {
    std::uint64_t i = r.below(kSpan) + (r.chance(1, 16) ? (std::uint64_t{1} << 40) : 0);
    unsigned order = r.chance(2, 3) ? 0 : static_cast<unsigned>(r.between(1, 12));
    std::uint64_t first = i & ~((std::uint64_t{1} << order) - 1);
    switch (r.below(10)) {
      case 0:
      case 1:
      case 2: {
        // A store inside a larger entry replaces it whole, keeping its
        // order: encode what the range will really be.
        unsigned have = xa.get_order(i);
        std::uint64_t hf = i & ~((std::uint64_t{1} << have) - 1);
        if (xa.load(i) && have > order) {
          last.set(wop::store_whole, hf, have);
          ASSERT_FALSE(xa.store_order(hf, have, encode(hf, have)));
        } else {
          last.set(wop::store, first, order);
          ASSERT_FALSE(xa.store_order(first, order, encode(first, order)));
        }
        break;
      }
      case 3:
      case 4:
      case 5:
        last.set(wop::erase, i, 0);
        xa.erase(i);
        break;
      case 6: {
        unsigned have = xa.get_order(i);
        if (have == 0 || !xa.load(i)) break;
        unsigned to = have > 6 ? have - 6 : 0;
        std::uint64_t hf = i & ~((std::uint64_t{1} << have) - 1);
        // Split into pieces that each still encode their own range: split
        // with a placeholder, then rewrite each piece (readers may see the
        // placeholder covering the whole old range, which is still right).
        last.set(wop::split, hf, have);
        maple::xa_state xas(xa, hf, to);
        xas.split_alloc(encode(hf, have), have);
        {
          std::lock_guard g(xa);
          xas.split(encode(hf, have), have);
        }
        ASSERT_FALSE(xas.error());
        for (std::uint64_t p = hf; p < hf + (std::uint64_t{1} << have);
             p += std::uint64_t{1} << to) {
          last.set(wop::split_piece, p, to);
          ASSERT_FALSE(xa.store_order(p, to, encode(p, to)));
        }
        break;
      }
      default:
        last.set(wop::thin, first, 6);
        for (std::uint64_t k = 0; k < 64; ++k) xa.erase(first + k);  // thins a leaf out
    }
    ++writes;
  }
  stop.store(true);
  for (auto &t : readers) t.join();
  std::printf(
      "%llu writes, %llu read rounds, %llu violations\n", static_cast<unsigned long long>(writes),
      static_cast<unsigned long long>(reads.load()), static_cast<unsigned long long>(bad.load()));
  for (const violation &v : seen) ADD_FAILURE() << describe(v);
  EXPECT_EQ(bad.load(), 0u) << "violations (the first " << seen.size() << " are listed above)";
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
  EXPECT_GT(reads.load(), 0u);
  xa.clear();
  maple::rcu::barrier();
}

}  // namespace
}  // namespace maple_test
