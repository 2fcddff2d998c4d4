// tests/tree/dup_test.cpp - duplication (raw_tree::dup, tree<T>::dup), teardown,
// and the failing resource used by the fault-injection tests.
//
// A copy must be node-for-node identical to its source (same dump with the
// addresses masked: the kernel's compare_tree), hold the same ranges, and
// be independent of it afterwards. A failure at any allocation of the copy,
// or in the transform, leaves the destination empty, valid and owning no
// memory (reference section 6).
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include <maple/maple.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace maple_test {
namespace {

template <class Tree>
class Dup : public ::testing::Test {};
TYPED_TEST_SUITE(Dup, engine_types);

/// The dump with every address masked: equal for node-for-node copies.
template <class Tree>
std::string structure(const Tree &t) {
  std::ostringstream os;
  t.dump(os, maple::dump_format::dec);
  static const std::regex addr("0x[0-9a-f]+");
  return std::regex_replace(os.str(), addr, "@");
}

/// Shapes: empty, root entry, one leaf, a few levels, a deep tree with gaps
/// and a range reaching max_index.
template <class Tree>
void build(Tree &t, reference_model &m, int shape, std::uint64_t seed = 1) {
  auto put = [&](std::uint64_t f, std::uint64_t l, void *e) {
    ASSERT_FALSE(t.store(f, l, e));
    m.store(f, l, e);
  };
  switch (shape) {
    case 0: break;
    case 1: put(0, 0, val(7)); break;
    case 2:
      for (std::uint64_t i = 0; i < 3; ++i) put(i * 10, i * 10 + 4, val(i + 1));
      break;
    case 3:
      for (std::uint64_t i = 0; i < 200; ++i) put(i * 10, i * 10 + 4, val(i + 1));
      break;
    default: {
      rng r(seed);
      for (std::uint64_t i = 0; i < 1500; ++i) {
        std::uint64_t f = r.below(1 << 20), l = f + r.below(64);
        put(f, l, r.chance(1, 8) ? nullptr : val(i + 1));
      }
      put(kMax - 100, kMax, val(99));
      break;
    }
  }
}
constexpr int kShapes = 5;

TYPED_TEST(Dup, CopiesNodeForNode) {
  for (int shape = 0; shape < kShapes; ++shape) {
    SCOPED_TRACE("shape " + std::to_string(shape));
    TypeParam src, dst;
    reference_model m;
    build(src, m, shape);
    ASSERT_FALSE(src.dup(dst));
    EXPECT_TRUE(consistent(dst, m));
    EXPECT_TRUE(consistent(src, m));
    EXPECT_EQ(structure(dst), structure(src));
    EXPECT_EQ(dst.height(), src.height());
    EXPECT_EQ(dst.stats().nodes, src.stats().nodes);
  }
}

TYPED_TEST(Dup, CopyIsIndependentOfItsSource) {
  TypeParam src, dst;
  reference_model m;
  build(src, m, 4);
  reference_model m2 = m;
  ASSERT_FALSE(maple::dup(src, dst));
  rng r(5);
  for (int i = 0; i < 2000; ++i) {
    std::uint64_t f = r.below(1 << 20), l = f + r.below(300);
    ASSERT_FALSE(src.store(f, l, i % 3 ? val(1000 + i) : nullptr));
    m.store(f, l, i % 3 ? val(1000 + i) : nullptr);
    ASSERT_FALSE(dst.store(l, l + 5, val(5000 + i)));
    m2.store(l, l + 5, val(5000 + i));
  }
  EXPECT_TRUE(consistent(src, m));
  EXPECT_TRUE(consistent(dst, m2));
  src.clear();
  EXPECT_TRUE(consistent(dst, m2));
}

TYPED_TEST(Dup, RefusesANonEmptyDestinationOrItself) {
  TypeParam src, dst;
  reference_model m, md;
  build(src, m, 3);
  build(dst, md, 2);
  EXPECT_EQ(src.dup(dst), maple::errc::invalid_argument);
  EXPECT_TRUE(consistent(dst, md));
  EXPECT_EQ(src.dup(src), maple::errc::invalid_argument);
  EXPECT_TRUE(consistent(src, m));
  EXPECT_EQ(src.flags(), dst.flags());
}

TYPED_TEST(Dup, UsesTheDestinationsResource) {
  maple::failing_resource a, b;
  {
    TypeParam src(&a), dst(&b);
    reference_model m;
    build(src, m, 4);
    const std::size_t before = a.outstanding();
    ASSERT_FALSE(src.dup(dst));
    EXPECT_EQ(a.outstanding(), before);
    EXPECT_EQ(b.outstanding(), src.stats().nodes);
    EXPECT_TRUE(consistent(dst, m));
  }
  EXPECT_EQ(a.outstanding(), 0u);
  EXPECT_EQ(b.outstanding(), 0u);
}

TYPED_TEST(Dup, FailureAtEveryAllocationLeavesTheDestinationEmpty) {
  for (int shape = 1; shape < kShapes; ++shape) {
    SCOPED_TRACE("shape " + std::to_string(shape));
    maple::failing_resource mr;
    TypeParam src;
    reference_model m;
    build(src, m, shape);
    const std::size_t nodes = src.stats().nodes;
    std::size_t k = 1;
    for (;; ++k) {
      TypeParam dst(&mr);
      mr.fail_nth(k);
      std::error_code ec = src.dup(dst);
      mr.never_fail();
      if (!ec) break;
      ASSERT_EQ(ec, maple::errc::no_memory) << "k " << k;
      ASSERT_TRUE(dst.empty());
      ASSERT_TRUE(dst.validate().ok);
      ASSERT_EQ(mr.outstanding(), 0u) << "k " << k;
    }
    EXPECT_EQ(k, nodes + 1);  // every node of the copy was a failure point
    EXPECT_TRUE(consistent(src, m));
  }
}

TYPED_TEST(Dup, TransformReplacesAndDropsEntries) {
  for (int shape = 0; shape < kShapes; ++shape) {
    SCOPED_TRACE("shape " + std::to_string(shape));
    TypeParam src, dst;
    reference_model m;
    build(src, m, shape);
    // Fork: every third VMA is not copied (VM_DONTCOPY), the others become
    // the child's copies (here: value + 1000000).
    reference_model want;
    std::size_t calls = 0;
    for (const auto &[first, v] : m.map()) {
      std::uint64_t x = maple::value_of_entry(v.entry);
      if (x % 3 != 0) want.store(first, v.last, val(x + 1000000));
    }
    ASSERT_FALSE(src.dup(dst, [&](void *e) -> void * {
      ++calls;
      std::uint64_t x = maple::value_of_entry(e);
      return x % 3 == 0 ? nullptr : val(x + 1000000);
    }));
    EXPECT_EQ(calls, m.size());
    EXPECT_TRUE(consistent(dst, want));
    EXPECT_TRUE(consistent(src, m));
  }
}

TYPED_TEST(Dup, TransformFailuresLeaveTheDestinationEmpty) {
  maple::failing_resource mr;
  TypeParam src;
  reference_model m;
  build(src, m, 4);
  {
    TypeParam dst(&mr);
    EXPECT_EQ(src.dup(dst, [](void *) -> void * { return reinterpret_cast<void *>(2); }),
              maple::errc::invalid_argument);  // a reserved entry
    EXPECT_TRUE(dst.empty());
    EXPECT_EQ(mr.outstanding(), 0u);
    int n = 0;
    EXPECT_THROW((void)src.dup(dst,
                               [&](void *e) -> void * {
                                 if (++n == 500) throw std::runtime_error("transform");
                                 return e;
                               }),
                 std::runtime_error);
    EXPECT_TRUE(dst.empty());
    EXPECT_EQ(mr.outstanding(), 0u);
    EXPECT_TRUE(dst.validate().ok);
    ASSERT_FALSE(src.dup(dst));  // still usable
    EXPECT_TRUE(consistent(dst, m));
  }
  // Drops need erases, which allocate: fail each of those allocations too.
  TypeParam small;
  reference_model ms;
  build(small, ms, 3);
  std::size_t k = small.stats().nodes + 1;
  for (;; ++k) {
    TypeParam dst(&mr);
    mr.fail_nth(k);
    std::error_code ec = small.dup(
        dst, [](void *e) -> void * { return maple::value_of_entry(e) % 2 ? e : nullptr; });
    mr.never_fail();
    if (!ec) break;
    ASSERT_EQ(ec, maple::errc::no_memory);
    ASSERT_TRUE(dst.empty());
    ASSERT_EQ(mr.outstanding(), 0u) << "k " << k;
  }
  EXPECT_GT(k, small.stats().nodes + 1);
}

TYPED_TEST(Dup, RootEntryWithTransform) {
  TypeParam src, a, b, c;
  ASSERT_FALSE(src.store(0, 0, val(4)));
  ASSERT_FALSE(src.dup(a, [](void *) -> void * { return val(5); }));
  EXPECT_EQ(a.load(0), val(5));
  ASSERT_FALSE(src.dup(b, [](void *) -> void * { return nullptr; }));
  EXPECT_TRUE(b.empty());
  // A pointer whose low bits look like a node reference must leave the root
  // word (it is stored in a leaf).
  auto *odd = reinterpret_cast<void *>(std::uintptr_t{0x10006});
  ASSERT_FALSE(src.dup(c, [&](void *) -> void * { return odd; }));
  EXPECT_EQ(c.load(0), odd);
  EXPECT_EQ(c.load(1), nullptr);
  EXPECT_TRUE(c.validate().ok);
}

// Found by fuzz_dup (fuzz/regressions/fuzz_dup/dup-transform-lone-zero-leaf):
// the reverse of the above. A lone [0, 0] entry that looks like a node
// reference lives in a root leaf; a transform that maps it to an ordinary
// entry must move it into the root word (the copy failed validate() with
// "a lone [0,0] entry belongs in the root word" and kept a useless node).
TYPED_TEST(Dup, TransformMovesALoneZeroEntryOutOfItsLeaf) {
  maple::failing_resource mr;
  auto *odd = reinterpret_cast<void *>(std::uintptr_t{0x1002});
  TypeParam src;
  ASSERT_FALSE(src.insert(0, 0, odd));
  ASSERT_EQ(src.height(), 1u);
  {
    TypeParam dst(&mr);
    ASSERT_FALSE(src.dup(dst, [](void *) -> void * { return val(2); }));
    EXPECT_TRUE(dst.validate().ok) << dst.validate().message;
    EXPECT_EQ(dst.load(0), val(2));
    EXPECT_EQ(dst.load(1), nullptr);
    EXPECT_EQ(dst.height(), 0u);
    EXPECT_EQ(mr.outstanding(), 0u);
  }
  // With a second range dropped by the transform (the erase collapses it).
  ASSERT_FALSE(src.store(5, 9, val(9)));
  TypeParam dst2(&mr);
  ASSERT_FALSE(src.dup(dst2, [&](void *e) -> void * { return e == odd ? val(3) : nullptr; }));
  EXPECT_TRUE(dst2.validate().ok) << dst2.validate().message;
  EXPECT_EQ(dst2.load(0), val(3));
  EXPECT_EQ(dst2.height(), 0u);
  EXPECT_TRUE(src.validate().ok);
}

TYPED_TEST(Dup, ClearReturnsEveryNode) {
  maple::failing_resource mr;
  TypeParam t(&mr);
  reference_model m;
  build(t, m, 4);
  EXPECT_EQ(mr.outstanding(), t.stats().nodes);
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(mr.outstanding(), 0u);
  EXPECT_TRUE(t.validate().ok);
}

// ---- the typed facade ----------------------------------------------------------

struct alignas(8) vma {
  std::uint64_t start, end;
  bool dontcopy;
};

TEST(TypedDup, ForkCopiesEachVmaOrDropsIt) {
  std::vector<vma> parent(100), child(100);
  maple::tree<vma *> mm, child_mm;
  for (std::size_t i = 0; i < parent.size(); ++i) {
    parent[i] = {i * 0x10000, i * 0x10000 + 0x7fff, i % 10 == 3};
    ASSERT_FALSE(mm.store(parent[i].start, parent[i].end, &parent[i]));
  }
  ASSERT_FALSE(mm.dup(child_mm, [&](vma *v) -> vma * {
    if (v->dontcopy) return nullptr;
    vma *c = &child[static_cast<std::size_t>(v - parent.data())];
    *c = *v;
    return c;
  }));
  std::size_t n = 0;
  for (auto [first, last, v] : child_mm) {
    EXPECT_TRUE(v >= child.data() && v < child.data() + child.size());
    EXPECT_EQ(first, v->start);
    EXPECT_EQ(last, v->end);
    EXPECT_FALSE(v->dontcopy);
    ++n;
  }
  EXPECT_EQ(n, 90u);
  EXPECT_TRUE(child_mm.validate().ok);
}

TEST(TypedDup, IntegerValues) {
  maple::tree<std::uint64_t> t, exact, doubled, bad;
  for (std::uint64_t i = 0; i < 1000; ++i) ASSERT_FALSE(t.store(i * 3, i * 3 + 1, i));
  ASSERT_FALSE(t.dup(exact));
  EXPECT_EQ(exact.load(300), std::optional<std::uint64_t>(100));
  ASSERT_FALSE(t.dup(doubled, [](std::uint64_t v) -> std::optional<std::uint64_t> {
    if (v % 2) return std::nullopt;
    return v * 2;
  }));
  EXPECT_EQ(doubled.load(300), std::optional<std::uint64_t>(200));
  EXPECT_EQ(doubled.load(303), std::nullopt);
  EXPECT_TRUE(doubled.validate().ok);
  // A value too large for a value entry cannot be stored.
  EXPECT_EQ(t.dup(bad, [](std::uint64_t) -> std::optional<std::uint64_t> { return ~0ull; }),
            maple::errc::invalid_argument);
  EXPECT_TRUE(bad.empty());
}

// ---- the failing resource ------------------------------------------------------

TEST(FailingResource, Modes) {
  maple::failing_resource mr;
  auto attempt = [&] {
    try {
      void *p = mr.allocate(256, 256);
      mr.deallocate(p, 256, 256);
      return true;
    } catch (const std::bad_alloc &) {
      return false;
    }
  };
  mr.fail_nth(3);
  EXPECT_TRUE(attempt());
  EXPECT_TRUE(attempt());
  EXPECT_FALSE(attempt());
  EXPECT_TRUE(attempt());  // only the 3rd
  mr.fail_after(2);
  EXPECT_TRUE(attempt());
  EXPECT_TRUE(attempt());
  EXPECT_FALSE(attempt());
  EXPECT_FALSE(attempt());
  mr.never_fail();
  EXPECT_TRUE(attempt());
  EXPECT_EQ(mr.failures(), 3u);
  EXPECT_EQ(mr.allocations(), 6u);
  EXPECT_EQ(mr.outstanding(), 0u);
  // Seeded: the same pattern for the same seed, about p of the attempts.
  std::vector<bool> a, b;
  mr.fail_randomly(0.25, 9);
  for (int i = 0; i < 4000; ++i) a.push_back(attempt());
  mr.fail_randomly(0.25, 9);
  for (int i = 0; i < 4000; ++i) b.push_back(attempt());
  EXPECT_EQ(a, b);
  auto fails = static_cast<double>(std::count(a.begin(), a.end(), false));
  EXPECT_NEAR(fails / 4000.0, 0.25, 0.03);
  mr.fail_randomly(0.0, 1);
  EXPECT_TRUE(attempt());
  mr.fail_randomly(1.0, 1);
  EXPECT_FALSE(attempt());
}

}  // namespace
}  // namespace maple_test