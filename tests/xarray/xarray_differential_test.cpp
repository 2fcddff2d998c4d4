// tests/xarray/xarray_differential_test.cpp - random operations (stores of every
// order, erases, inserts, cmpxchg, reserve/release, marks, splits) applied
// to an XArray and to a std::map model of aligned ranges; after every step
// the invariants hold and loads agree; every few steps the whole contents,
// orders, marks and searches agree.
#include "test_env.h"
#include "xa_test_support.h"

#include <maple/rcu.h>
#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace maple_test {
namespace {

using maple::xa_mark;
using maple::xarray;
constexpr std::uint64_t kMax = ~std::uint64_t{0};

/// Index distributions: dense small, clustered mid-range, sparse anywhere.
std::uint64_t pick_index(rng &r, int profile) {
  switch (profile == 3 ? static_cast<int>(r.below(3)) : profile) {
    case 0: return r.below(2048);
    case 1: return (std::uint64_t{1} << 40) + r.below(1 << 14);
    default: return r.chance(1, 8) ? kMax - r.below(4) : r.next() >> r.below(64);
  }
}

unsigned pick_order(rng &r) {
  if (r.chance(6, 10)) return 0;
  if (r.chance(1, 50)) return static_cast<unsigned>(r.between(13, 64));
  return static_cast<unsigned>(r.between(1, 12));
}

void compare_all(const xarray &xa, xa_model &model, rng &r, int profile, const char *where) {
  ASSERT_EQ(xa_snapshot(xa), model.snapshot()) << where;
  for (unsigned m = 0; m < maple::xa_max_marks; ++m) {
    std::vector<std::uint64_t> got, want;
    for (auto [i, e] : xa.marked_entries(static_cast<xa_mark>(m))) got.push_back(i);
    for (auto &[f, rg] : model.ranges)
      if (((rg.marks >> m) & 1) && !maple::xa_is_zero(rg.entry)) want.push_back(f);
    ASSERT_EQ(got, want) << where << " mark " << m;
    ASSERT_EQ(xa.marked(static_cast<xa_mark>(m)), [&] {
      for (auto &[f, rg] : model.ranges)
        if ((rg.marks >> m) & 1) return true;
      return false;
    }()) << where;
  }
  // The same walks through one cursor in one read section.
  for (int m = -1; m < static_cast<int>(maple::xa_max_marks); ++m) {
    std::vector<std::uint64_t> got, want;
    {
      maple::rcu::read_guard g;
      maple::xa_state xas(const_cast<xarray &>(xa), 0);
      auto step = [&] {
        return m < 0 ? xas.find(kMax) : xas.find_marked(kMax, static_cast<xa_mark>(m));
      };
      for (void *e = step(); e; e = step()) {
        if (xas.retry(e)) continue;
        got.push_back(xas.index());
      }
    }
    for (auto &[f, rg] : model.ranges)
      if ((m < 0 || ((rg.marks >> m) & 1)) && !maple::xa_is_zero(rg.entry)) want.push_back(f);
    ASSERT_EQ(got, want) << where << " cursor walk, mark " << m;
  }
  // Searches from random places.
  for (int k = 0; k < 8; ++k) {
    std::uint64_t from = pick_index(r, profile);
    std::uint64_t i = from;
    void *e = xa.find(i);
    auto it = model.ranges.lower_bound(from);
    auto h = model.holding(from);
    std::uint64_t want_i = 0;
    void *want = nullptr;
    if (h != model.ranges.end() && !maple::xa_is_zero(h->second.entry)) {
      want = h->second.entry;
      want_i = from;
    } else {
      for (; it != model.ranges.end(); ++it)
        if (!maple::xa_is_zero(it->second.entry)) {
          want = it->second.entry;
          want_i = it->first;
          break;
        }
    }
    ASSERT_EQ(e, want) << where << " find from " << from;
    if (e) {
      ASSERT_EQ(i, want_i) << where;
    }
  }
}

void run(std::uint64_t seed, int profile, std::uint64_t steps) {
  rng r(seed);
  xarray xa;
  xa_model model;
  std::uint64_t serial = 1;
  for (std::uint64_t step = 0; step < steps; ++step) {
    const std::uint64_t index = pick_index(r, profile);
    const unsigned op = static_cast<unsigned>(r.below(100));
    if (op < 35) {  // store (any order)
      unsigned order = pick_order(r);
      void *e = val(serial++);
      void *old = nullptr;
      ASSERT_FALSE(xa.store_order(index, order, e, &old));
      void *want_old = model.store(index, order, e);
      ASSERT_EQ(old, xa_model::visible(want_old)) << step;
    } else if (op < 55) {  // erase
      void *want = model.store(index, 0, nullptr);
      ASSERT_EQ(xa.erase(index), xa_model::visible(want)) << step;
    } else if (op < 62) {  // insert
      unsigned order = r.chance(1, 2) ? 0 : pick_order(r);
      void *e = val(serial++);
      bool busy = model.occupied(index, order);
      auto ec = xa.insert(index, e, order);
      ASSERT_EQ(ec == maple::errc::busy, busy) << step;
      if (!busy) {
        ASSERT_FALSE(ec);
        model.store(index, order, e);
      }
    } else if (op < 67) {  // cmpxchg
      void *cur_model = model.raw(index);
      void *expected = r.chance(1, 2) ? xa_model::visible(cur_model) : val(serial);
      void *desired = r.chance(1, 5) ? nullptr : val(serial++);
      void *cur = nullptr;
      ASSERT_FALSE(xa.cmpxchg(index, expected, desired, &cur));
      ASSERT_EQ(cur, xa_model::visible(cur_model)) << step;
      bool match = cur_model == expected || (!expected && maple::xa_is_zero(cur_model));
      if (match && cur_model != desired) model.store(index, 0, desired);
    } else if (op < 72) {  // reserve / release
      if (r.chance(1, 2)) {
        ASSERT_FALSE(xa.reserve(index));
        if (!model.raw(index)) model.store(index, 0, maple::xa_zero_entry());
      } else {
        xa.release(index);
        if (maple::xa_is_zero(model.raw(index))) model.store(index, 0, nullptr);
      }
    } else if (op < 88) {  // marks
      auto m = static_cast<unsigned>(r.below(3));
      bool on = r.chance(2, 3);
      if (on)
        ASSERT_FALSE(xa.set_mark(index, static_cast<xa_mark>(m)));
      else
        xa.clear_mark(index, static_cast<xa_mark>(m));
      model.set_mark(index, m, on);
    } else if (op < 95) {  // split the entry holding index
      unsigned old_order = xa.get_order(index);
      if (old_order == 0) continue;
      // At most 4096 new entries (the checks walk them all); sometimes an
      // unsupported three-level split, which must be refused.
      unsigned lo = old_order > 12 ? old_order - 12 : 0;
      unsigned new_order = static_cast<unsigned>(r.between(lo, old_order - 1));
      const unsigned old_shift = old_order - old_order % 6;
      if (old_shift >= 18 && r.chance(1, 4)) new_order = old_shift - 18;
      // Supported: the new entries at most two levels below the old one.
      const bool valid = (old_order - old_order % 6) - (new_order - new_order % 6) <= 12;
      void *e = val(serial++);
      maple::xa_state xas(xa, index, new_order);
      xas.split_alloc(e, old_order);
      if (!valid) {
        ASSERT_EQ(xas.error(), maple::errc::invalid_argument) << step;
        xas.set_order(index, new_order);  // split() must refuse it too
      }
      {
        std::lock_guard g(xa);
        xas.split(e, old_order);
      }
      if (valid) {
        ASSERT_FALSE(xas.error()) << step;
        ASSERT_TRUE(model.split(index, old_order, new_order, e)) << step;
      } else {
        ASSERT_EQ(xas.error(), maple::errc::invalid_argument) << step;
      }
    } else {  // loads, orders and marks at random places
      for (int k = 0; k < 4; ++k) {
        std::uint64_t i = k == 0 ? index : pick_index(r, profile);
        ASSERT_EQ(xa.load(i), model.load(i)) << step << " at " << i;
        ASSERT_EQ(xa.get_order(i), model.raw(i) ? model.get_order(i) : 0u) << step;
        for (unsigned m = 0; m < 3; ++m)
          ASSERT_EQ(xa.get_mark(i, static_cast<xa_mark>(m)), model.get_mark(i, m)) << step;
      }
    }
    ASSERT_EQ(xa.load(index), model.load(index)) << step;
    if (steps < 5000 || step % 16 == 0) {
      auto rep = xa.validate();
      ASSERT_TRUE(rep) << "step " << step << ": " << rep.message;
    }
    if (step % 64 == 0) {
      compare_all(xa, model, r, profile, "periodic");
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  compare_all(xa, model, r, profile, "final");
}

class XArrayDifferential : public ::testing::TestWithParam<int> {};

TEST_P(XArrayDifferential, RandomOperations) {
  const int profile = GetParam();
  for (std::uint64_t k = 0; k < 4; ++k) {
    SCOPED_TRACE(k);
    run(test_seed(1000 + 17 * static_cast<std::uint64_t>(profile)) + k, profile, scaled(6000, 200));
    if (HasFatalFailure()) return;
  }
}

std::string profile_name(const ::testing::TestParamInfo<int> &p) {
  static const char *const kNames[] = {"Dense", "Clustered", "Sparse", "Mixed"};
  return kNames[p.param];
}

INSTANTIATE_TEST_SUITE_P(Profiles, XArrayDifferential, ::testing::Values(0, 1, 2, 3), profile_name);

}  // namespace
}  // namespace maple_test
