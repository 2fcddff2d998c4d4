// tests/xarray/xarray_fault_test.cpp - fault injection: every write is run with
// its k-th allocation failing, for k = 0, 1, ... until it succeeds; each
// failure must report no_memory and leave the array exactly as it was
// (contents, marks, orders, node count, invariants), and nothing may leak.
#include "test_env.h"
#include "xa_test_support.h"

#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace maple_test {
namespace {

using maple::errc;
using maple::xa_mark;
using maple::xarray;

using setup_fn = std::function<void(xarray &)>;
using write_fn = std::function<std::error_code(xarray &)>;

/// Runs `write` on arrays built by `setup`, failing allocation k for every k
/// until the write succeeds; returns how many allocation points it had.
std::size_t sweep(const std::string &name, maple::xa_flags flags, const setup_fn &setup,
                  const write_fn &write) {
  for (std::size_t k = 0;; ++k) {
    counting_resource res;
    {
      xarray xa(flags, &res);
      setup(xa);
      auto before = xa_snapshot(xa);
      auto st = xa.stats();
      res.fail_after(k);
      std::error_code ec = write(xa);
      res.never_fail();
      if (!ec) {
        EXPECT_TRUE(xa.validate()) << name << ": " << xa.validate().message;
        xa.clear();
        xa_quiesce();
        return k;
      }
      EXPECT_EQ(ec, errc::no_memory) << name << " k=" << k;
      EXPECT_EQ(res.failed, 1u) << name << " k=" << k;
      EXPECT_TRUE(xa.validate()) << name << " k=" << k << ": " << xa.validate().message;
      EXPECT_EQ(xa_snapshot(xa), before) << name << " k=" << k;
      EXPECT_EQ(xa.stats().nodes, st.nodes) << name << " k=" << k;
      EXPECT_EQ(xa.stats().entries, st.entries) << name << " k=" << k;
      EXPECT_EQ(xa.stats().height, st.height) << name << " k=" << k;
      if (k > 200) {
        ADD_FAILURE() << name << ": never succeeds";
        return k;
      }
    }
    xa_quiesce();
    EXPECT_EQ(res.live(), 0) << name << " k=" << k;
  }
}

void sparse(xarray &xa) {
  for (std::uint64_t i = 1; i < 5000; i += 97) ASSERT_FALSE(xa.store(i, val(i)));
  ASSERT_FALSE(xa.set_mark(98, xa_mark::mark1));
  ASSERT_FALSE(xa.store_order(8192, 9, val(8192)));
  ASSERT_FALSE(xa.set_mark(8192, xa_mark::mark0));
}
void head_only(xarray &xa) { ASSERT_FALSE(xa.store(0, val(0))); }
void empty(xarray &) {}

TEST(XArrayFaults, EveryAllocationOfEveryWrite) {
  const auto none = maple::xa_flags::none;
  struct {
    const char *name;
    setup_fn setup;
    write_fn write;
    std::size_t points;  // allocations the write makes (new levels + new path nodes)
  } cases[] = {
      {"store far into an empty array", empty,
       [](xarray &xa) { return xa.store(1ull << 50, val(1)); }, 9},
      {"store at the last index", sparse, [](xarray &xa) { return xa.store(~0ull, val(1)); }, 18},
      {"store beside a head entry", head_only,
       [](xarray &xa) { return xa.store(1ull << 20, val(2)); }, 7},
      {"store into a sparse array", sparse, [](xarray &xa) { return xa.store(3000000, val(3)); },
       4},
      {"store inside an existing leaf", sparse, [](xarray &xa) { return xa.store(2, val(3)); }, 0},
      {"order-9 store", sparse, [](xarray &xa) { return xa.store_order(1 << 20, 9, val(4)); }, 3},
      {"order-9 store over small entries", sparse,
       [](xarray &xa) { return xa.store_order(0, 9, val(4)); }, 0},
      {"order-30 store", head_only,
       [](xarray &xa) { return xa.store_order(1ull << 30, 30, val(5)); }, 6},
      {"order-64 store", sparse, [](xarray &xa) { return xa.store_order(0, 64, val(6)); }, 8},
      {"insert", sparse, [](xarray &xa) { return xa.insert(1ull << 40, val(7)); }, 10},
      {"multi-index insert", sparse, [](xarray &xa) { return xa.insert(1 << 16, val(7), 4); }, 2},
      {"reserve", sparse, [](xarray &xa) { return xa.reserve(1ull << 33); }, 8},
      {"cmpxchg", sparse, [](xarray &xa) { return xa.cmpxchg(1ull << 33, nullptr, val(8)); }, 8},
      {"split 12 -> 0",
       [](xarray &xa) {
         sparse(xa);
         ASSERT_FALSE(xa.store_order(1 << 20, 12, val(9)));
         ASSERT_FALSE(xa.set_mark(1 << 20, xa_mark::mark2));
       },
       [](xarray &xa) {
         maple::xa_state xas(xa, 1 << 20, 0);
         std::lock_guard g(xa);
         xas.split(val(10), 12);
         return xas.error();
       },
       65},
      {"split 9 -> 0", sparse,
       [](xarray &xa) {
         maple::xa_state xas(xa, 8192, 0);
         std::lock_guard g(xa);
         xas.split(val(10), 9);
         return xas.error();
       },
       8},
  };
  for (auto &c : cases) EXPECT_EQ(sweep(c.name, none, c.setup, c.write), c.points) << c.name;
}

TEST(XArrayFaults, AllocatingArrays) {
  auto fill = [](xarray &xa) {
    std::uint64_t id = 0;
    for (int k = 0; k < 64; ++k) ASSERT_FALSE(xa.alloc(val(k), maple::xa_limit_32b, id));
  };
  // The 65th ID needs a new top and a new leaf.
  EXPECT_EQ(sweep("alloc", maple::xa_flags::alloc, fill,
                  [](xarray &xa) {
                    std::uint64_t id = 0;
                    auto ec = xa.alloc(val(1), maple::xa_limit_32b, id);
                    if (!ec) {
                      EXPECT_EQ(id, 64u);
                    }
                    return ec;
                  }),
            2u);
  EXPECT_EQ(sweep("alloc_cyclic", maple::xa_flags::alloc, fill,
                  [](xarray &xa) {
                    std::uint64_t id = 0, next = 1000;
                    return xa.alloc_cyclic(val(1), maple::xa_limit_32b, next, id);
                  }),
            2u);
}

TEST(XArrayFaults, ErasesNeverAllocate) {
  counting_resource res;
  {
    xarray xa(&res);
    sparse(xa);
    res.fail_after(0);
    for (std::uint64_t i = 1; i < 5000; i += 97) EXPECT_EQ(xa.erase(i), val(i));
    EXPECT_EQ(xa.erase(8300), val(8192));
    xa.release(5);
    EXPECT_TRUE(xa.empty());
    res.never_fail();
  }
  xa_quiesce();
  EXPECT_EQ(res.live(), 0);
}

}  // namespace
}  // namespace maple_test
