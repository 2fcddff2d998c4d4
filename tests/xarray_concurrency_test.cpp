// tests/xarray_concurrency_test.cpp - lockless readers beside one writer.
// Every entry the writer stores encodes the aligned range it covers, so a
// reader can check that whatever it loads or finds at an index was stored
// over that index (no torn state, no entry seen at the wrong place), while
// the writer stores entries of orders 0-12, erases and splits, making the
// tree grow, shrink and retire whole subtrees. Runs about 2 s (times
// MAPLE_TEST_SCALE).
#include "test_env.h"

#include <maple/entry.h>
#include <maple/rcu.h>
#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
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

TEST(XArrayConcurrency, ReadersSeeOnlyEntriesStoredOverTheirIndex) {
  maple::xarray xa;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0}, reads{0};
  auto reader = [&](std::uint64_t seed) {
    rng r(seed);
    while (!stop.load(std::memory_order_relaxed)) {
      std::uint64_t i = r.below(kSpan) + (r.chance(1, 8) ? (std::uint64_t{1} << 40) : 0);
      void *e = xa.load(i);
      if (e && !covers(e, i)) bad.fetch_add(1);
      std::uint64_t j = i;
      void *f = xa.find(j, i + 4096);
      if (f && (j < i || !covers(f, j))) bad.fetch_add(1);
      {
        maple::rcu::read_guard g;  // a cursor walk in one read section
        maple::xa_state xas(xa, i);
        int n = 0;
        for (void *x = xas.find(i + 1000); x && n < 32; x = xas.find(i + 1000), ++n) {
          if (xas.retry(x)) continue;
          if (!covers(x, xas.index())) bad.fetch_add(1);
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
        if (xa.load(i) && have > order)
          ASSERT_FALSE(xa.store_order(hf, have, encode(hf, have)));
        else
          ASSERT_FALSE(xa.store_order(first, order, encode(first, order)));
        break;
      }
      case 3:
      case 4:
      case 5: xa.erase(i); break;
      case 6: {
        unsigned have = xa.get_order(i);
        if (have == 0 || !xa.load(i)) break;
        unsigned to = have > 6 ? have - 6 : 0;
        std::uint64_t hf = i & ~((std::uint64_t{1} << have) - 1);
        // Split into pieces that each still encode their own range: split
        // with a placeholder, then rewrite each piece (readers may see the
        // placeholder covering the whole old range, which is still right).
        maple::xa_state xas(xa, hf, to);
        xas.split_alloc(encode(hf, have), have);
        {
          std::lock_guard g(xa);
          xas.split(encode(hf, have), have);
        }
        ASSERT_FALSE(xas.error());
        for (std::uint64_t p = hf; p < hf + (std::uint64_t{1} << have); p += std::uint64_t{1} << to)
          ASSERT_FALSE(xa.store_order(p, to, encode(p, to)));
        break;
      }
      default:
        for (std::uint64_t k = 0; k < 64; ++k) xa.erase(first + k);  // thins a leaf out
    }
    ++writes;
  }
  stop.store(true);
  for (auto &t : readers) t.join();
  std::printf("%llu writes, %llu read rounds\n", static_cast<unsigned long long>(writes),
              static_cast<unsigned long long>(reads.load()));
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_TRUE(xa.validate()) << xa.validate().message;
  EXPECT_GT(reads.load(), 0u);
  xa.destroy();
  maple::rcu::barrier();
}

}  // namespace
}  // namespace maple_test
