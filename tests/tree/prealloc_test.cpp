// tests/tree/prealloc_test.cpp - preallocation through a write cursor:
// preallocate(entry) reserves the nodes storing entry over [index, last]
// will take; store_prealloc(entry) then performs the store from that
// reserve, allocating nothing.
//
//   Bound        random and adversarial trees of heights 1..6 (4-slot
//                engine) and 1..5 (16-slot engine; 1..4 below scale 1 or in
//                unoptimised builds), every write kind (counted by
//                core/write_trace.h, and each required to occur): for every
//                store, used <= preallocated, where used is measured twice
//                (reserve before - reserve after, and tree nodes after - before
//                + nodes freed during the store), no allocation inside
//                store_prealloc (a counting memory resource under the tree),
//                and release() hands back exactly the rest. The tightness
//                (preallocated - used, mean and max, per write kind and per
//                height) is printed and recorded as test properties next to
//                the kernel's crude worst case 3h+1 (reference section 5.1).
//   Failure      a memory resource failing after k allocations: preallocate
//                returns no_memory, leaves the tree unchanged, leaks nothing,
//                puts the cursor in error; reset() recovers.
//   RAII         unused reserve returned by release(), by destruction, by a
//                second preallocate(); moves carry the reserve.
#include "cursor_types.h"
#include "reference_model.h"
#include "test_env.h"
#include "tree_harness.h"
#include "tree_types.h"

#include <alloc/node_cache.h>
#include <engine/write_trace.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <memory_resource>
#include <new>
#include <sstream>
#include <string>
#include <vector>

namespace maple_test {
namespace {

using cs = maple::cursor_state;
using maple::range_entry;
using wk = maple::detail::write_kind;
constexpr unsigned kKinds = static_cast<unsigned>(wk::count_);

/// Counts allocations and deallocations passed on to the default node
/// resource; optionally fails (std::bad_alloc) once `fail_at` allocations
/// have succeeded.
class counting_resource : public std::pmr::memory_resource {
 public:
  std::size_t allocs = 0, deallocs = 0, failed = 0;
  std::size_t fail_at = std::numeric_limits<std::size_t>::max();
  long live() const { return static_cast<long>(allocs) - static_cast<long>(deallocs); }
  void fail_after(std::size_t k) { fail_at = allocs + k; }
  void never_fail() { fail_at = std::numeric_limits<std::size_t>::max(); }

 private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    if (allocs >= fail_at) {
      ++failed;
      throw std::bad_alloc();
    }
    ++allocs;
    return up_->allocate(bytes, align);
  }
  void do_deallocate(void *p, std::size_t bytes, std::size_t align) override {
    ++deallocs;
    up_->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
  std::pmr::memory_resource *up_ = maple::detail::default_node_resource();
};

// ---- the bound ------------------------------------------------------------------------

/// Figures of a set of preallocated stores.
struct tightness {
  std::uint64_t stores = 0;
  std::uint64_t sum_pre = 0, sum_used = 0, sum_slack = 0, max_slack = 0, max_used = 0;
  std::uint64_t sum_kernel = 0, sum_kernel_slack = 0, max_kernel_slack = 0;
  void add(unsigned pre, unsigned used, unsigned h) {
    ++stores;
    sum_pre += pre;
    sum_used += used;
    sum_slack += pre - used;
    max_slack = std::max<std::uint64_t>(max_slack, pre - used);
    max_used = std::max<std::uint64_t>(max_used, used);
    std::uint64_t kernel = 3ull * h + 1;  // mas_prealloc_calc's spanning-store worst case
    sum_kernel += kernel;
    sum_kernel_slack += kernel - std::min<std::uint64_t>(kernel, used);
    max_kernel_slack = std::max(max_kernel_slack, kernel - std::min<std::uint64_t>(kernel, used));
  }
  double mean(std::uint64_t s) const { return stores ? static_cast<double>(s) / stores : 0.0; }
};

enum class recipe { random, full, thinned, adjacent };
const char *recipe_name(recipe r) {
  switch (r) {
    case recipe::random: return "random";
    case recipe::full: return "full";
    case recipe::thinned: return "thinned";
    case recipe::adjacent: return "adjacent";
  }
  return "?";
}

template <class Tree>
class bound_run {
 public:
  explicit bound_run(std::uint64_t seed) : r_(seed) {}

  std::array<tightness, kKinds> by_kind{};
  std::array<tightness, 12> by_height{};
  tightness all;
  std::uint64_t kernel_exceeded = 0;  // stores that took more than 3h+1 nodes

  /// Builds a tree of height h with the recipe (replacing the current one).
  void build(recipe rc, unsigned h) {
    t_.reset();
    t_ = std::make_unique<Tree>(&mr_);
    m_.clear();
    ASSERT_EQ(mr_.live(), 0) << "nodes leaked by the previous tree";
    switch (rc) {
      case recipe::random:
        // Gapped ranges at random places: about 70% node fill.
        while (t_->height() < h) {
          std::uint64_t f = r_.below(std::uint64_t{1} << 40) * 16;
          ASSERT_TRUE(plain_store(f, f + 1 + r_.below(8), val(++tag_)));
        }
        break;
      case recipe::full:
        // Appends: left-full nodes, so an insertion in the middle splits
        // every level up to the root.
        for (std::uint64_t i = 0; t_->height() < h; ++i)
          ASSERT_TRUE(plain_store(16 * i, 16 * i + 9, val(++tag_)));
        break;
      case recipe::adjacent:
        for (std::uint64_t i = 0; t_->height() < h; ++i)
          ASSERT_TRUE(plain_store(10 * i, 10 * i + 9, val(++tag_)));
        break;
      case recipe::thinned: {
        // Full, one level higher, then every other range erased: many
        // nodes near their minimum (rebalance / collapse territory).
        for (std::uint64_t i = 0; t_->height() < h + 1; ++i)
          ASSERT_TRUE(plain_store(16 * i, 16 * i + 9, val(++tag_)));
        std::vector<range_entry> rs = m_.ranges();
        for (std::size_t i = 0; i < rs.size() && t_->height() > h; i += 2)
          ASSERT_TRUE(plain_store(rs[i].first, rs[i].last, nullptr));
        // Height h may have been passed on the way down: top it up.
        for (std::uint64_t i = 0; t_->height() < h; ++i) {
          std::uint64_t f = (rs.back().last + 16) + 16 * i;
          ASSERT_TRUE(plain_store(f, f + 9, val(++tag_)));
        }
        break;
      }
    }
    ASSERT_TRUE(consistent(*t_, m_));
  }

  /// One store through preallocate + store_prealloc, measured and checked.
  void measured(std::uint64_t first, std::uint64_t last, void *e) {
    const unsigned h = t_->height();
    // stats() walks the whole tree: every store while the tree is small,
    // every 32nd on big ones.
    const bool deep = mr_.live() < 4000 || ops_ % 32 == 0;
    const std::size_t nodes_before = deep ? t_->stats().nodes : 0;
    unsigned pre = 0, used = 0;
    std::uint64_t counts[kKinds] = {};
    {
      wguard<Tree> w(*t_);
      auto c = w.cursor(first, last);
      const std::size_t a0 = mr_.allocs;
      ASSERT_FALSE(c.preallocate(e)) << what(first, last, e);
      pre = c.reserved();
      ASSERT_EQ(mr_.allocs - a0, pre) << "preallocate() allocated other than it reserved";
      reset_trace();
      const std::size_t a1 = mr_.allocs, d1 = mr_.deallocs;
      c.store_prealloc(e);
      ASSERT_EQ(mr_.allocs, a1) << "allocation inside store_prealloc(): " << what(first, last, e);
      for (unsigned k = 0; k < kKinds; ++k) counts[k] = trace(static_cast<wk>(k));
      const unsigned left = c.reserved();
      ASSERT_LE(left, pre);
      used = pre - left;
      const std::size_t freed = mr_.deallocs - d1;
      if (deep) {
        // Independent measure: every node the tree gained or replaced.
        const std::size_t nodes_after = t_->stats().nodes;
        ASSERT_EQ(nodes_after + freed, nodes_before + used)
            << "nodes " << nodes_before << " -> " << nodes_after << ", freed " << freed << ", used "
            << used << " of " << pre << ": " << what(first, last, e);
      }
      c.release();
      EXPECT_EQ(c.reserved(), 0u);
      ASSERT_EQ(mr_.deallocs - d1 - freed, left) << "release() returned other than the rest";
      EXPECT_EQ(c.state(), cs::paused);
    }
    m_.store(first, last, e);
    ASSERT_LE(used, pre);
    all.add(pre, used, h);
    by_height[std::min<unsigned>(h, 11)].add(pre, used, h);
    bool any = false;
    for (unsigned k = 0; k < kKinds; ++k) {
      if (counts[k]) {
        by_kind[k].add(pre, used, h);
        any = true;
      }
    }
    EXPECT_TRUE(any) << "no write kind counted for " << what(first, last, e);
    if (used > 3 * h + 1) ++kernel_exceeded;
    ++ops_;
    if (m_.size() < 2000 || ops_ % 64 == 0) {
      ASSERT_TRUE(valid(*t_)) << what(first, last, e);
    }
  }

  /// A mix of stores of every kind on the current tree; `n` of them.
  void mixed(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n && !::testing::Test::HasFatalFailure(); ++i) {
      if (m_.empty()) return;
      std::vector<range_entry> near = sample();
      const range_entry r = near[r_.below(near.size())];
      range_entry gap_after = m_.lookup(r.last == kMax ? r.last : r.last + 1);
      switch (i % 9) {
        case 0:  // exact fit
          measured(r.first, r.last, val(++tag_));
          break;
        case 1:  // shrink / grow inside its neighbourhood (slot or node store)
          if (gap_after.entry == nullptr && gap_after.first > r.last &&
              gap_after.last > gap_after.first) {
            measured(r.first,
                     r.last + 1 + r_.below(std::min<std::uint64_t>(gap_after.last - r.last - 1, 4)),
                     val(++tag_));
          } else if (r.last > r.first) {
            measured(r.first + 1, r.last, val(++tag_));
          } else {
            measured(r.first, r.last, nullptr);
          }
          break;
        case 2:  // a new range inside a gap: +2 slots, split candidate
          if (gap_after.entry == nullptr && gap_after.first > r.last &&
              gap_after.last - gap_after.first >= 2)
            measured(gap_after.first + 1, gap_after.first + 1, val(++tag_));
          else
            measured(r.first, r.first, val(++tag_));  // split r into 2
          break;
        case 3: {  // append after the last range (append / splits at the right edge)
          auto top = std::prev(m_.map().end());
          if (top->second.last < kMax - 100)
            measured(top->second.last + 2, top->second.last + 2 + r_.below(8), val(++tag_));
          break;
        }
        case 4:  // erase exactly one range (rebalance candidate)
          measured(r.first, r.last, nullptr);
          break;
        case 5:
        case 6: {  // spanning over w ranges, with or without an entry
          static const std::uint64_t widths[] = {2,  3,  4,  5,  7,   9,   12,
                                                 17, 25, 40, 64, 100, 200, 500};
          std::uint64_t w = widths[r_.below(sizeof widths / sizeof widths[0])];
          spanning(w, i % 9 == 5 ? val(++tag_) : nullptr);
          break;
        }
        case 7: {  // the head of one range and the tail of the next
          auto nx = m_.find_after(r.last);
          if (nx && r.last > r.first && nx->last > nx->first) {
            measured(r.first + 1, nx->last - 1, r_.chance(1, 2) ? val(++tag_) : nullptr);
          } else {
            measured(r.first, r.last, val(++tag_));
          }
          break;
        }
        case 8:  // push candidates: append to a leaf's neighbourhood again and again
          if (gap_after.entry == nullptr && gap_after.last - gap_after.first >= 4) {
            measured(gap_after.first + 1, gap_after.first + 1, val(++tag_));
            measured(gap_after.first + 3, gap_after.first + 3, val(++tag_));
          }
          break;
      }
    }
  }

  /// Appends (measured) until the tree grows a level: root splits. At most
  /// `cap` stores.
  void grow(std::uint64_t cap) {
    const unsigned h = t_->height();
    for (std::uint64_t i = 0; i < cap && t_->height() == h && !::testing::Test::HasFatalFailure();
         ++i) {
      std::uint64_t f = m_.empty() ? 0 : std::prev(m_.map().end())->second.last + 7;
      measured(f, f + 9, val(++tag_));
    }
  }

  /// A store over about w consecutive ranges starting at a random one.
  void spanning(std::uint64_t w, void *e) {
    if (m_.size() < 2) return;
    auto it = random_range();
    auto end = it;
    for (std::uint64_t k = 1; k < w && std::next(end) != m_.map().end(); ++k) ++end;
    std::uint64_t f = it->first, l = end->second.last;
    if (r_.chance(1, 3) && f > 0) --f;
    if (r_.chance(1, 3) && l < kMax) ++l;
    if (r_.chance(1, 4) && it->second.last > f) ++f;
    measured(f, l, e);
  }

  /// Wipes all but the two outer ends (root collapse), then [0, max].
  void destructive() {
    if (m_.size() > 4) {
      auto a = std::next(m_.map().begin()), b = std::prev(m_.map().end(), 2);
      measured(a->first, b->second.last, nullptr);
    }
    measured(0, kMax, val(++tag_));  // new root
    measured(0, kMax, nullptr);      // new root, empty tree
    // Trivial trees: store_root.
    measured(0, 0, val(++tag_));
    measured(0, 0, nullptr);
    measured(0, 0, val(++tag_));
    measured(5, 9, val(++tag_));
    ASSERT_TRUE(consistent(*t_, m_));
  }

  void finish() {
    if (t_) {
      ASSERT_TRUE(consistent(*t_, m_));
    }
    t_.reset();
    EXPECT_EQ(mr_.live(), 0) << "nodes leaked";
  }

  unsigned height() const { return t_->height(); }

 private:
  ::testing::AssertionResult plain_store(std::uint64_t f, std::uint64_t l, void *e) {
    if (auto ec = t_->store(f, l, e)) return ::testing::AssertionFailure() << ec.message();
    m_.store(f, l, e);
    return ::testing::AssertionSuccess();
  }
  /// Some stored ranges (all of them when few; else a random window).
  std::vector<range_entry> sample() {
    if (m_.size() <= 64) return m_.ranges();
    auto it = random_range();
    std::vector<range_entry> out;
    for (int j = 0; j < 64 && it != m_.map().end(); ++j, ++it)
      out.push_back({it->first, it->second.last, it->second.entry});
    return out;
  }
  /// A stored range at a random place of the key span (O(log n)).
  reference_model::map_type::const_iterator random_range() {
    std::uint64_t lo = m_.map().begin()->first, hi = std::prev(m_.map().end())->first;
    auto it = m_.map().lower_bound(r_.between(lo, hi));
    return it == m_.map().end() ? std::prev(it) : it;
  }
  std::string what(std::uint64_t f, std::uint64_t l, void *e) const {
    std::ostringstream os;
    os << "store [" << hex(f) << ", " << hex(l) << "] <- " << e << " on a tree of height "
       << t_->height() << ", " << m_.size() << " ranges";
    return os.str();
  }

  counting_resource mr_;  // outlives t_
  std::unique_ptr<Tree> t_;
  reference_model m_;
  rng r_;
  std::uint64_t tag_ = 0, ops_ = 0;
};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

void report(const char *engine, const std::string &label, const tightness &s) {
  std::cout << "  " << engine << " " << label << ": " << s.stores << " stores, used mean "
            << fmt(s.mean(s.sum_used)) << " max " << s.max_used << "; preallocated-used mean "
            << fmt(s.mean(s.sum_slack)) << " max " << s.max_slack << "; kernel 3h+1 mean "
            << fmt(s.mean(s.sum_kernel)) << ", 3h+1-used mean " << fmt(s.mean(s.sum_kernel_slack))
            << " max " << s.max_kernel_slack << "\n";
}

template <class Tree>
class Prealloc : public ::testing::Test {};
TYPED_TEST_SUITE(Prealloc, engine_types);

TYPED_TEST(Prealloc, BoundHoldsForEveryWriteKindAndHeight) {
  const bool small = TypeParam::slots == 4;
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  const bool optimised = true;
#else
  const bool optimised = false;
#endif
  const unsigned max_h = small ? 6 : (optimised && test_scale() >= 1 ? 5 : 4);
  const std::uint64_t per_tree = scaled(small ? 240 : 180, 30);
  const std::uint64_t seed = test_seed(9100 + TypeParam::slots);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (MAPLE_TEST_SEED)");
  bound_run<TypeParam> run(seed);
  std::array<bool, 8> reached{};
  for (unsigned h = 1; h <= max_h; ++h) {
    for (recipe rc : {recipe::random, recipe::full, recipe::thinned, recipe::adjacent}) {
      SCOPED_TRACE(std::string(recipe_name(rc)) + " tree of height " + std::to_string(h));
      // Mixed stores in three rounds on a fresh tree each (small trees do
      // not survive many spanning stores), then appends on a fresh tree
      // until it grows a level (root splits).
      for (int round = 0; round < 3; ++round) {
        run.build(rc, h);
        if (::testing::Test::HasFatalFailure()) return;
        reached[h] = reached[h] || run.height() == h;
        run.mixed(per_tree / 3);
        if (::testing::Test::HasFatalFailure()) return;
      }
      if (rc == recipe::full || rc == recipe::adjacent) {
        run.build(rc, h);
        if (::testing::Test::HasFatalFailure()) return;
        run.grow(scaled(small ? 3000 : 6000, 100));
        if (::testing::Test::HasFatalFailure()) return;
      }
      run.destructive();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  run.finish();
  for (unsigned h = 1; h <= max_h; ++h) EXPECT_TRUE(reached[h]) << "no tree of height " << h;

  // Every write kind ran through store_prealloc.
  const char *engine = small ? "4-slot" : "16-slot";
  std::cout << "[  bound   ] " << engine << ": preallocated vs used nodes, per write kind (a store"
            << " counts under every kind it performed)\n";
  for (unsigned k = 0; k < kKinds && maple::detail::write_trace_enabled; ++k) {
    const tightness &s = run.by_kind[k];
    const char *name = maple::detail::write_kind_name(static_cast<wk>(k));
    EXPECT_GT(s.stores, 0u) << "write kind " << name << " never ran through store_prealloc";
    report(engine, name, s);
    const std::string key = std::string(engine) + "." + name;
    ::testing::Test::RecordProperty(key + ".stores", std::to_string(s.stores));
    ::testing::Test::RecordProperty(key + ".slack_mean", fmt(s.mean(s.sum_slack)));
    ::testing::Test::RecordProperty(key + ".slack_max", std::to_string(s.max_slack));
    ::testing::Test::RecordProperty(key + ".used_max", std::to_string(s.max_used));
    ::testing::Test::RecordProperty(key + ".kernel_3h1_slack_mean",
                                    fmt(s.mean(s.sum_kernel_slack)));
  }
  std::cout << "[  bound   ] " << engine << ": per height (before the store)\n";
  for (unsigned h = 0; h < run.by_height.size(); ++h)
    if (run.by_height[h].stores) report(engine, "height " + std::to_string(h), run.by_height[h]);
  report(engine, "all", run.all);
  std::cout << "[  bound   ] " << engine
            << ": stores needing more than the kernel's 3h+1: " << run.kernel_exceeded << "\n";
  const std::string key = std::string(engine) + ".all";
  ::testing::Test::RecordProperty(key + ".stores", std::to_string(run.all.stores));
  ::testing::Test::RecordProperty(key + ".slack_mean", fmt(run.all.mean(run.all.sum_slack)));
  ::testing::Test::RecordProperty(key + ".slack_max", std::to_string(run.all.max_slack));
  ::testing::Test::RecordProperty(key + ".kernel_3h1_slack_mean",
                                  fmt(run.all.mean(run.all.sum_kernel_slack)));
  ::testing::Test::RecordProperty(key + ".kernel_3h1_exceeded",
                                  std::to_string(run.kernel_exceeded));
}

// ---- allocation failure -------------------------------------------------------------------

/// A tree whose next store over [f, l] needs several nodes: a full tree
/// (appends) and a spanning store across its middle, or an insertion that
/// splits every level.
template <class Tree>
struct failing_setup {
  counting_resource mr;
  Tree t{&mr};
  reference_model m;
  void build(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_FALSE(t.store(16 * i, 16 * i + 9, val(i)));
      m.store(16 * i, 16 * i + 9, val(i));
    }
  }
};

TYPED_TEST(Prealloc, FailingAllocatorLeavesEverythingAsItWas) {
  const std::uint64_t n = TypeParam::slots == 4 ? 600 : 6000;
  failing_setup<TypeParam> s;
  s.build(n);
  const std::pair<std::uint64_t, std::uint64_t> stores[] = {
      {16 * (n / 2) + 12, 16 * (n / 2) + 12},     // insert into a gap of a full tree: splits
      {16 * 3 + 5, 16 * (n - 5) + 2},             // spanning nearly everything
      {16 * (n / 3) + 1, 16 * (n / 3 + 40) + 1},  // spanning 40 ranges
  };
  for (auto [f, l] : stores) {
    SCOPED_TRACE("store [" + hex(f) + ", " + hex(l) + "]");
    // How many nodes does it take?
    unsigned need = 0;
    {
      wguard<TypeParam> w(s.t);
      auto c = w.cursor(f, l);
      ASSERT_FALSE(c.preallocate(val(7)));
      need = c.reserved();
    }  // destroyed: reserve returned
    ASSERT_GE(need, 2u) << "the scenario should need several nodes";
    EXPECT_EQ(s.mr.live(), static_cast<long>(s.t.stats().nodes));
    for (unsigned k = 0; k < need; ++k) {
      SCOPED_TRACE("allocation " + std::to_string(k) + " of " + std::to_string(need) + " fails");
      const long live = s.mr.live();
      {
        wguard<TypeParam> w(s.t);
        auto c = w.cursor(f, l);
        s.mr.fail_after(k);
        EXPECT_EQ(c.preallocate(val(7)), maple::errc::no_memory);
        s.mr.never_fail();
        EXPECT_EQ(c.state(), cs::error);
        EXPECT_EQ(c.error(), maple::errc::no_memory);
        EXPECT_EQ(c.reserved(), 0u);
        EXPECT_EQ(s.mr.live(), live) << "the partial reserve leaked";
        // reset() recovers; the cursor works again.
        c.reset();
        EXPECT_TRUE(pos_is(c, f, l, cs::start));
        EXPECT_FALSE(c.error());
        EXPECT_EQ(c.walk(), s.m.load(f));
        // A plain store() through the cursor fails the same way.
        c.set_range(f, l);
        s.mr.fail_after(k);
        EXPECT_EQ(c.store(val(8)), maple::errc::no_memory);
        s.mr.never_fail();
        EXPECT_EQ(c.state(), cs::error);
        EXPECT_EQ(s.mr.live(), live);
        c.reset();
      }
      EXPECT_TRUE(consistent(s.t, s.m)) << "the tree changed";
    }
  }
  // And erase() through a cursor: nothing erased on no_memory. Thin the
  // tree first so that some erases must rebalance (and allocate).
  std::vector<range_entry> rs = s.m.ranges();
  for (std::size_t i = 0; i < rs.size(); i += 2) {
    ASSERT_FALSE(s.t.store(rs[i].first, rs[i].last, nullptr));
    s.m.erase(rs[i].first);
  }
  unsigned failures = 0, tried = 0;
  {
    wguard<TypeParam> w(s.t);
    auto c = w.cursor(0);
    // Every remaining range in turn: leaves empty out, so some erase must
    // rebalance whatever the node geometry.
    for (std::size_t i = 1; i < rs.size() && failures < 5; i += 2) {
      ++tried;
      const long live = s.mr.live();
      c.set(rs[i].first + 1);
      s.mr.fail_after(0);
      void *e = val(9999);  // overwritten either way
      std::error_code ec = c.erase(&e);
      s.mr.never_fail();
      if (ec) {
        ++failures;
        EXPECT_EQ(ec, maple::errc::no_memory);
        EXPECT_EQ(c.state(), cs::error);
        EXPECT_EQ(e, nullptr);
        EXPECT_EQ(c.error(), maple::errc::no_memory);
        EXPECT_EQ(s.t.load(rs[i].first), rs[i].entry) << "erased despite no_memory";
        EXPECT_EQ(s.mr.live(), live);
        c.set(rs[i].first + 1);  // clears the error; now with memory
        ASSERT_FALSE(c.erase(&e));
      }
      EXPECT_EQ(e, rs[i].entry);
      s.m.erase(rs[i].first);
    }
  }
  std::cout << "[   info   ] erase() through a cursor hit no_memory in " << failures << " of "
            << tried << " erases (nothing erased each time)\n";
  EXPECT_GT(failures, 0u) << "no erase needed a node: the no_memory path went untested";
  EXPECT_TRUE(consistent(s.t, s.m));
}

// ---- RAII and the reserve ------------------------------------------------------------------

TYPED_TEST(Prealloc, ReserveIsReturned) {
  const std::uint64_t n = TypeParam::slots == 4 ? 300 : 3000;
  failing_setup<TypeParam> s;
  s.build(n);
  const long base = s.mr.live();
  const std::uint64_t f = 16 * 5 + 3, l = 16 * (n - 7) + 4;
  {
    wguard<TypeParam> w(s.t);
    unsigned need;
    {
      auto c = w.cursor(f, l);
      ASSERT_FALSE(c.preallocate(nullptr));
      need = c.reserved();
      EXPECT_GT(need, 0u);
      EXPECT_EQ(s.mr.live(), base + static_cast<long>(need));
    }  // destroyed without store_prealloc
    EXPECT_EQ(s.mr.live(), base);
    auto c = w.cursor(f, l);
    ASSERT_FALSE(c.preallocate(nullptr));
    c.release();
    EXPECT_EQ(c.reserved(), 0u);
    EXPECT_EQ(s.mr.live(), base);
    c.release();  // twice: harmless
    // A second preallocate() replaces the first reserve.
    ASSERT_FALSE(c.preallocate(nullptr));
    ASSERT_FALSE(c.preallocate(val(3)));
    EXPECT_EQ(s.mr.live(), base + static_cast<long>(c.reserved()));
    // Moves carry the reserve; the moved-from cursor holds none.
    const unsigned r = c.reserved();
    wcursor<TypeParam> d(std::move(c));
    EXPECT_EQ(d.reserved(), r);
    EXPECT_EQ(c.reserved(), 0u);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(s.mr.live(), base + static_cast<long>(r));
    d.store_prealloc(val(3));
    s.m.store(f, l, val(3));
  }
  EXPECT_EQ(s.mr.live(), static_cast<long>(s.t.stats().nodes))
      << "reserve or replaced nodes leaked";
  EXPECT_TRUE(consistent(s.t, s.m));
  // A store that needs no node: nothing reserved, store_prealloc works.
  {
    wguard<TypeParam> w(s.t);
    auto c = w.cursor(16 * 2, 16 * 2 + 9);  // exact fit
    ASSERT_FALSE(c.preallocate(val(99)));
    EXPECT_EQ(c.reserved(), 0u);
    const std::size_t a = s.mr.allocs;
    c.store_prealloc(val(99));
    EXPECT_EQ(s.mr.allocs, a);
    s.m.store(16 * 2, 16 * 2 + 9, val(99));
  }
  EXPECT_TRUE(consistent(s.t, s.m));
}

// preallocate() then store_prealloc() inside an iteration: the loop goes on
// after the written range, as with store().
TYPED_TEST(Prealloc, StorePreallocInsideAnIteration) {
  failing_setup<TypeParam> s;
  s.build(TypeParam::slots == 4 ? 300 : 2000);
  std::vector<range_entry> got;
  {
    wguard<TypeParam> w(s.t);
    auto c = w.cursor(0);
    std::uint64_t i = 0;
    for (void *e = c.find(); e; e = c.find()) {
      got.push_back(here(c, e));
      if (i++ % 3 == 0) {
        // Replace the found range with [first, last + 3] (into its gap).
        std::uint64_t f = c.index(), l = c.last() + 3;
        c.set_range(f, l);
        ASSERT_FALSE(c.preallocate(val(100000 + i)));
        c.store_prealloc(val(100000 + i));
        s.m.store(f, l, val(100000 + i));
      }
    }
  }
  EXPECT_EQ(got.size(), TypeParam::slots == 4 ? 300u : 2000u);
  EXPECT_TRUE(consistent(s.t, s.m));
}

}  // namespace
}  // namespace maple_test
