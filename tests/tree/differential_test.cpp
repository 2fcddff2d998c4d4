// tests/tree/differential_test.cpp - randomized differential testing of both
// engines against the reference model.
//
// Each test runs a seeded stream of mixed operations (store, nullptr store,
// insert, erase, load, lookup, find, find_after, find_rev, bounded forward
// and backward iteration) over one key set:
//   dense     small index space 0..2100: heavy overlap, trimming, splitting;
//   sparse    random 64-bit indices, edges 0/max, boundaries of stored ranges;
//   vma       page-aligned ranges of 1-64 pages with 0-16 page gaps from 4 GiB;
//   spanning  stores that consume 1..64 existing ranges (and nullptr ones).
// Every read is compared with the model; validate() runs after every op
// while the tree holds < 2000 ranges, and with a full comparison every 1000
// ops. A failure names the seed and op index; rerun with
// MAPLE_TEST_SEED=<seed> --gtest_filter=<test> to reproduce.
// Op counts scale with MAPLE_TEST_SCALE (about 10^6 ops in all at scale 1).
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_types.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <optional>
#include <ranges>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace maple_test {
namespace {

using maple::range_entry;

enum class keyset { dense, sparse, vma, spanning };

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kVmaBase = std::uint64_t{4} << 30;
constexpr std::uint64_t kDenseTop = 2100;
constexpr std::uint64_t kSpanSpace = 4000000;
constexpr std::uint64_t kVmaTarget = 3000;     // VMA set: keep about this many ranges
constexpr std::uint64_t kSparseTarget = 3000;  // sparse set: wide wipes above this

inline std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) {
  return b > kMax - a ? kMax : a + b;
}
inline std::uint64_t sat_sub(std::uint64_t a, std::uint64_t b) { return b > a ? 0 : a - b; }

template <class Tree>
class differential {
 public:
  differential(keyset ks, std::uint64_t seed) : ks_(ks), seed_(seed), r_(seed) {}

  /// Runs `ops` operations; stops at the first divergence (test failure).
  void run(std::uint64_t ops) {
    reset_trace();
    prefill();
    if (::testing::Test::HasFailure()) return;
    for (std::uint64_t i = 0; i < ops; ++i) {
      op_ = i;
      ::testing::AssertionResult res = step();
      if (res && (h_.m.size() < 2000 || i % 1000 == 999)) res = valid(h_.t);
      if (res && (i % 1000 == 999 || h_.m.size() < 48)) res = same_contents(h_.t, h_.m);
      if (res && i % 20000 == 19999) res = same_contents_backward(h_.t, h_.m);
      if (!res) {
        ADD_FAILURE() << "seed " << seed_ << ", op #" << i << " (" << describe_op() << "), tree of "
                      << h_.m.size() << " ranges, height " << h_.t.height() << ": " << res.message()
                      << "\nreproduce: MAPLE_TEST_SEED=" << seed_ << " --gtest_filter="
                      << ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()
                      << "." << ::testing::UnitTest::GetInstance()->current_test_info()->name();
        return;
      }
    }
    if (auto res = h_.check_deep(); !res) {
      ADD_FAILURE() << "seed " << seed_ << ", final check: " << res.message();
      return;
    }
    std::cout << "[   info   ] " << ops << " ops, final " << h_.m.size() << " ranges, height "
              << h_.t.height() << "; write kinds: " << trace_summary() << "\n";
  }

 private:
  // ---- key generation --------------------------------------------------------------

  /// A range of the model near a random index (nullopt if the model is empty).
  std::optional<range_entry> some_range() {
    if (h_.m.empty()) return std::nullopt;
    std::uint64_t x = raw_index();
    auto f = h_.m.find(x);
    if (!f) f = h_.m.find_rev(x);
    return f;
  }

  std::uint64_t raw_index() {
    switch (ks_) {
      case keyset::dense: return r_.between(0, kDenseTop);
      case keyset::sparse: return r_.next();
      case keyset::vma: return kVmaBase + r_.between(0, vma_top_ - kVmaBase + 16 * kPage);
      case keyset::spanning: return r_.between(0, kSpanSpace);
    }
    return 0;
  }

  std::uint64_t pick_index() {
    std::uint64_t u = r_.below(100);
    if (u < 3) return 0;
    if (u < 6) return kMax - r_.below(2);
    if (u < 50) {
      if (auto rr = some_range()) {
        std::uint64_t e = r_.chance(1, 2) ? rr->first : rr->last;
        switch (r_.below(5)) {
          case 0: return sat_sub(e, 1);
          case 1: return sat_add(e, 1);
          default: return e;
        }
      }
    }
    std::uint64_t x = raw_index();
    if (ks_ == keyset::vma && r_.chance(9, 10)) x &= ~(kPage - 1);
    return x;
  }

  std::uint64_t pick_len() {
    std::uint64_t u = r_.below(1000);
    switch (ks_) {
      case keyset::dense:
        if (u < 750) return r_.below(11);
        if (u < 980) return r_.below(201);
        return r_.below(3001);
      case keyset::sparse: {
        // Mostly moderate lengths; wide ones (consuming a good part of the
        // tree) more often when the tree is big.
        std::uint64_t wide = h_.m.size() > kSparseTarget ? 60 : 1;
        if (u < wide) return r_.next() >> r_.between(0, 24);
        if (u < 300) return r_.below(4);
        return r_.next() >> r_.between(24, 63);
      }
      case keyset::vma: {
        std::uint64_t pages = r_.between(1, 64);
        if (u < 30) pages = r_.between(64, 2048);
        return pages * kPage - 1;
      }
      case keyset::spanning: return r_.below(100);
    }
    return 0;
  }

  /// A store range for the current key set.
  std::pair<std::uint64_t, std::uint64_t> pick_range() {
    if (ks_ == keyset::spanning && r_.chance(4, 5)) {
      if (auto sr = spanning_range()) return *sr;
    }
    std::uint64_t f = pick_index();
    if (ks_ == keyset::vma && r_.chance(19, 20)) f &= ~(kPage - 1);
    std::uint64_t l = sat_add(f, pick_len());
    if (r_.chance(1, h_.m.size() < 500 ? 200 : 5000)) l = kMax;
    return {f, l};
  }

  /// A range from (around) one stored range to (around) the w-th next one,
  /// w in 1..64.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> spanning_range() {
    auto start = some_range();
    if (!start) return std::nullopt;
    std::uint64_t w = r_.between(1, 64);
    auto it = h_.m.map().find(start->first);
    auto end = it;
    for (std::uint64_t k = 1; k < w && std::next(end) != h_.m.map().end(); ++k) ++end;
    std::uint64_t f = it->first, l = end->second.last;
    switch (r_.below(4)) {
      case 0: f = sat_sub(f, 1 + r_.below(3)); break;       // from the gap before
      case 1: f = std::min(f + 1, it->second.last); break;  // trims the first
      default: break;
    }
    switch (r_.below(4)) {
      case 0: l = sat_add(l, 1 + r_.below(3)); break;
      case 1: l = std::max(sat_sub(l, 1), end->first); break;
      default: break;
    }
    if (f > l) std::swap(f, l);
    last_width_ = w;
    return std::make_pair(f, l);
  }

  void *pick_entry() {
    ++tag_;
    if (r_.chance(1, 2)) return val(tag_);
    return reinterpret_cast<void *>(0x10000 + 8 * (tag_ & 0xffffff));  // aligned "pointer"
  }

  // ---- one operation -----------------------------------------------------------------

  ::testing::AssertionResult step() {
    std::uint64_t u = r_.below(100);
    if (ks_ == keyset::vma && h_.m.size() < kVmaTarget && u < 15) return vma_append();
    if (ks_ == keyset::spanning && h_.m.size() < 1500 && u < 40) return refill();
    if (u < 30) return do_store(pick_entry());
    if (u < 40) return do_store(nullptr);
    if (u < 50) return do_insert();
    if (u < 58) return do_erase();
    if (u < 66) return do_load();
    if (u < 74) return do_lookup();
    if (u < 82) return do_find();
    if (u < 90) return do_find_rev();
    if (u < 95) return do_find_after();
    return do_iterate();
  }

  ::testing::AssertionResult do_store(void *e) {
    auto [f, l] = pick_range();
    note("store", f, l, e);
    return h_.store(f, l, e);
  }

  ::testing::AssertionResult do_insert() {
    std::uint64_t f, l;
    range_entry gap = h_.m.lookup(pick_index());
    if (gap.entry == nullptr && r_.chance(2, 3)) {
      // Inside a known empty range: succeeds.
      f = r_.between(gap.first, gap.last);
      l = r_.between(f, std::min(gap.last, sat_add(f, pick_len())));
    } else {
      std::tie(f, l) = pick_range();
    }
    void *e = pick_entry();
    note("insert", f, l, e);
    return h_.insert(f, l, e);
  }

  ::testing::AssertionResult do_erase() {
    std::uint64_t x = pick_index();
    if (r_.chance(2, 3))
      if (auto rr = some_range()) x = r_.between(rr->first, rr->last);
    note("erase", x, x, nullptr);
    return h_.erase(x);
  }

  ::testing::AssertionResult do_load() {
    std::uint64_t x = pick_index();
    note("load", x, x, nullptr);
    void *got = h_.t.load(x), *want = h_.m.load(x);
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "load(" << hex(x) << "): tree " << got << " model " << want;
  }

  ::testing::AssertionResult do_lookup() {
    std::uint64_t x = pick_index();
    note("lookup", x, x, nullptr);
    range_entry got = h_.t.lookup(x), want = h_.m.lookup(x);
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "lookup(" << hex(x) << "): tree " << describe(got) << " model " << describe(want);
  }

  std::uint64_t pick_limit(std::uint64_t x, bool up) {
    std::uint64_t u = r_.below(10);
    if (u < 4) return up ? kMax : 0;
    std::uint64_t d = u < 8 ? pick_len() : r_.next();
    return up ? sat_add(x, d) : sat_sub(x, d);
  }

  ::testing::AssertionResult do_find() {
    std::uint64_t x = pick_index(), mx = pick_limit(x, true);
    note("find", x, mx, nullptr);
    auto got = h_.t.find(x, mx);
    auto want = h_.m.find(x, mx);
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "find(" << hex(x) << ", " << hex(mx) << "): tree "
                                         << describe(got) << " model " << describe(want);
  }

  ::testing::AssertionResult do_find_after() {
    std::uint64_t x = pick_index(), mx = pick_limit(x, true);
    note("find_after", x, mx, nullptr);
    auto got = h_.t.find_after(x, mx);
    auto want = h_.m.find_after(x, mx);
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "find_after(" << hex(x) << ", " << hex(mx) << "): tree "
                                         << describe(got) << " model " << describe(want);
  }

  ::testing::AssertionResult do_find_rev() {
    std::uint64_t x = pick_index(), mn = pick_limit(x, false);
    note("find_rev", x, mn, nullptr);
    auto got = h_.t.find_rev(x, mn);
    auto want = h_.m.find_rev(x, mn);
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "find_rev(" << hex(x) << ", " << hex(mn) << "): tree "
                                         << describe(got) << " model " << describe(want);
  }

  ::testing::AssertionResult do_iterate() {
    // [lo, hi] covering at most ~100 stored ranges (whole tree when small).
    std::uint64_t lo = pick_index(), hi = kMax;
    if (h_.m.size() > 100 || r_.chance(1, 2)) {
      auto it = h_.m.map().lower_bound(lo);
      std::uint64_t k = r_.below(100);
      for (std::uint64_t j = 0; j < k && it != h_.m.map().end(); ++j) ++it;
      if (it != h_.m.map().end()) {
        hi = it->second.last;
        if (r_.chance(1, 2)) hi = r_.chance(1, 2) ? it->first : sat_sub(it->first, 1);
      }
      if (hi < lo) hi = lo;
    }
    note("iterate", lo, hi, nullptr);
    std::vector<range_entry> want = h_.m.ranges(lo, hi), got;
    if (r_.chance(1, 2)) {
      for (range_entry e : h_.t.ranges(lo, hi)) {
        got.push_back(e);
        if (got.size() > want.size() + 1) break;
      }
    } else {
      auto v = h_.t.ranges(lo, hi);
      for (auto it = v.end(); it != v.begin();) {
        --it;
        got.push_back(*it);
        if (got.size() > want.size() + 1) break;
      }
      std::reverse(got.begin(), got.end());
    }
    if (got == want) return ::testing::AssertionSuccess();
    auto fail = ::testing::AssertionFailure();
    fail << "ranges(" << hex(lo) << ", " << hex(hi) << "): tree yields " << got.size() << ", model "
         << want.size();
    for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
      if (i < got.size() && i < want.size() && got[i] == want[i]) continue;
      fail << "; first difference at #" << i << ": tree "
           << (i < got.size() ? describe(got[i]) : std::string("(end)")) << " model "
           << (i < want.size() ? describe(want[i]) : std::string("(end)"));
      break;
    }
    return fail;
  }

  // ---- key-set specific growth -----------------------------------------------------------

  ::testing::AssertionResult vma_append() {
    vma_top_ += r_.below(17) * kPage;
    std::uint64_t f = vma_top_;
    vma_top_ += r_.between(1, 64) * kPage;
    note("vma append", f, vma_top_ - 1, nullptr);
    return h_.store(f, vma_top_ - 1, pick_entry());
  }

  ::testing::AssertionResult refill() {
    // A small range in a random empty spot of the spanning space.
    range_entry gap = h_.m.lookup(r_.between(0, kSpanSpace));
    if (gap.entry != nullptr) return ::testing::AssertionSuccess();
    std::uint64_t f = r_.between(gap.first, std::min(gap.last, kSpanSpace));
    std::uint64_t l = std::min(gap.last, f + r_.below(100));
    note("refill", f, l, nullptr);
    return h_.insert(f, l, pick_entry());
  }

  void prefill() {
    switch (ks_) {
      case keyset::dense:
        for (std::uint64_t i = 0; i < 300; ++i)
          ASSERT_TRUE(h_.store(7 * i, 7 * i + 3, pick_entry()));
        break;
      case keyset::sparse:
        for (std::uint64_t i = 0; i < 1000; ++i) {
          std::uint64_t f = r_.next();
          ASSERT_TRUE(h_.store(f, sat_add(f, r_.next() >> 40), pick_entry()));
        }
        break;
      case keyset::vma:
        vma_top_ = kVmaBase;
        for (std::uint64_t i = 0; i < kVmaTarget; ++i) ASSERT_TRUE(vma_append());
        break;
      case keyset::spanning:
        for (std::uint64_t f = 0; f < kSpanSpace && h_.m.size() < 3000;) {
          std::uint64_t l = f + r_.below(100);
          ASSERT_TRUE(h_.store(f, l, pick_entry()));
          f = l + 1 + r_.below(3) * r_.below(60);
        }
        break;
    }
    ASSERT_TRUE(h_.check());
  }

  /// Remembers the current op; formatted only when it fails.
  void note(const char *what, std::uint64_t a, std::uint64_t b, void *e) {
    op_name_ = what;
    op_a_ = a;
    op_b_ = b;
    op_e_ = e;
  }

  std::string describe_op() const {
    std::ostringstream os;
    os << op_name_ << ' ' << hex(op_a_) << ' ' << hex(op_b_);
    if (op_e_) os << ' ' << op_e_;
    if (ks_ == keyset::spanning && std::string_view(op_name_) == "store")
      os << " (w<=" << last_width_ << ")";
    return os.str();
  }

  keyset ks_;
  std::uint64_t seed_;
  rng r_;
  harness<Tree> h_;
  std::uint64_t op_ = 0, tag_ = 0, last_width_ = 0;
  std::uint64_t vma_top_ = kVmaBase;
  const char *op_name_ = "";
  std::uint64_t op_a_ = 0, op_b_ = 0;
  void *op_e_ = nullptr;
};

template <class Tree>
class Differential : public ::testing::Test {
 protected:
  /// Per-engine op counts: the 4-slot engine is slower per op (deeper), so
  /// it runs somewhat fewer ops of each kind; both together exceed 10^6.
  static std::uint64_t ops(std::uint64_t n16) {
    return scaled(Tree::slots == 4 ? n16 * 4 / 5 : n16, 200);
  }
  void run(keyset ks, std::uint64_t default_seed, std::uint64_t n16) {
    std::uint64_t seed = test_seed(default_seed + Tree::slots);
    SCOPED_TRACE("seed " + std::to_string(seed) + " (MAPLE_TEST_SEED)");
    differential<Tree> d(ks, seed);
    d.run(ops(n16));
  }
};
TYPED_TEST_SUITE(Differential, engine_types);

TYPED_TEST(Differential, Dense) { this->run(keyset::dense, 1001, 160000); }
TYPED_TEST(Differential, Sparse) { this->run(keyset::sparse, 2002, 120000); }
TYPED_TEST(Differential, VmaLike) { this->run(keyset::vma, 3003, 150000); }
TYPED_TEST(Differential, SpanningStores) { this->run(keyset::spanning, 4004, 150000); }
TYPED_TEST(Differential, DenseSecondSeed) { this->run(keyset::dense, 5005, 60000); }

}  // namespace
}  // namespace maple_test
