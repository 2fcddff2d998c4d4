// tests/engine/fault_sweep_test.cpp - out of memory at every allocation of every
// public write operation.
//
// For each tree shape and each operation (store, insert, erase, erase_range,
// cursor store / erase, preallocate + store_prealloc, bulk_load, dup with and
// without a transform, alloc_range / rrange / cyclic), on both engines: fail
// the 1st, 2nd, ... k-th allocation (maple::failing_resource) until the
// operation succeeds. After each failure the tree is exactly as it was (the
// same bytes in the same nodes; same contents as the model; valid) and owns no
// more memory than before; the successful run matches the model. The
// resource sits on new_delete_resource, so LeakSanitizer (asan stage) and
// valgrind also see any lost node. Each test prints how many failure points
// it covered.
//
// Also regression 14 (reference section 10): a retried erase must not erase
// more than the range it was asked for, even when another write happened
// between the failure and the retry.
#include "reference_model.h"
#include "test_env.h"
#include "tree_types.h"

#include <engine/engine.h>
#include <engine/walk.h>
#include "tree/tree_access.h"

#include <maple/maple.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace maple_test {
namespace {

template <class Tree>
class FaultSweep : public ::testing::Test {};
TYPED_TEST_SUITE(FaultSweep, engine_types);

/// Tree shapes: empty, root entry, one leaf, two or three levels, a deep
/// random tree with a range reaching max_index.
template <class Tree>
void build(Tree &t, reference_model &m, int shape) {
  auto put = [&](std::uint64_t f, std::uint64_t l, void *e) {
    ASSERT_FALSE(t.store(f, l, e));
    m.store(f, l, e);
  };
  switch (shape) {
    case 0: break;
    case 1: put(0, 0, val(7)); break;
    case 2:
      for (std::uint64_t i = 1; i <= 3; ++i) put(i * 10, i * 10 + 4, val(i));
      break;
    case 3:
      for (std::uint64_t i = 1; i <= 120; ++i) put(i * 10, i * 10 + 4, val(i));
      break;
    default: {
      rng r(test_seed(77));
      for (std::uint64_t i = 1; i <= 400; ++i) {
        std::uint64_t f = r.below(1 << 16), l = f + r.below(40);
        put(f, l, r.chance(1, 8) ? nullptr : val(i));
      }
      put(kMax - 100, kMax, val(999999));
      break;
    }
  }
}
constexpr int kShapes = 5;
const char *const kShapeNames[kShapes] = {"empty", "root entry", "one leaf", "two or three levels",
                                          "deep random"};

/// Every word of every node, in depth-first order, and the root word: equal
/// images mean the tree is exactly as it was (same nodes at the same
/// addresses with the same contents). Much cheaper than comparing dumps.
template <class Tree>
std::string image_of(const Tree &t) {
  constexpr unsigned S = Tree::slots;
  using E = maple::detail::engine<S>;
  using node_t = maple::detail::node<S>;
  std::string out;
  const maple::detail::word root = E::root(maple::detail::tree_access::core(t));
  out.append(reinterpret_cast<const char *>(&root), sizeof root);
  auto walk = [&out](auto &self, maple::detail::word ref) -> void {
    const node_t *n = node_t::from_ref(ref);
    // The node's words, not the alignment padding of small geometries
    // (never written: valgrind would flag comparing it).
    out.append(reinterpret_cast<const char *>(n),
               sizeof n->parent + sizeof n->pivot + sizeof n->slot);
    if (node_t::ref_is_leaf(ref)) return;
    const unsigned e = maple::detail::walker<S>::internal_end(n);
    for (unsigned i = 0; i <= e; ++i) self(self, n->slot[i]);
  };
  if (maple::detail::is_node_word(root)) walk(walk, root);
  return out;
}

/// One write operation. It gets the tree (whose nodes come from `mr`) and
/// the model of what the tree must hold if it succeeds (to update); it
/// returns its error and reports side effects that went wrong in `problem`
/// (e.g. a failed dup's destination not empty). When it returns, it holds
/// no node of its own (destinations and cursors are gone).
template <class Tree>
using op_fn = std::function<std::error_code(Tree &t, maple::failing_resource &mr,
                                            reference_model &want, std::string &problem)>;

template <class Tree>
struct named_op {
  std::string name;
  op_fn<Tree> run;
};

/// Index positions in the model's contents to aim at.
struct aims {
  std::uint64_t lo = 5, mid = 50, hi = 500, gap = 7, span_first = 3, span_last = 600;
};

aims aims_of(const reference_model &m) {
  aims a;
  if (m.empty()) return a;
  auto r0 = m.nth(0), rm = m.nth(m.size() / 2), rl = m.nth(m.size() - 1);
  a.lo = r0.first;
  a.mid = rm.first;
  a.hi = rl.first;
  a.span_first = r0.first + (r0.last > r0.first ? 1 : 0);
  a.span_last = rm.last + 1;
  // An empty index: the first one after the middle range.
  a.gap = rm.last + 1;
  while (a.gap != 0 && m.lookup(a.gap).entry) a.gap = m.lookup(a.gap).last + 1;
  return a;
}

template <class Tree>
std::vector<named_op<Tree>> operations(const aims &a) {
  using ec_t = std::error_code;
  std::vector<named_op<Tree>> ops;
  auto store = [](std::uint64_t f, std::uint64_t l, void *e) {
    return [=](Tree &t, maple::failing_resource &, reference_model &w, std::string &) -> ec_t {
      ec_t ec = t.store(f, l, e);
      if (!ec) w.store(f, l, e);
      return ec;
    };
  };
  ops.push_back({"store over one range", store(a.mid + 1, a.mid + 2, val(1 << 20))});
  ops.push_back({"store spanning", store(a.span_first, a.span_last, val(1 << 21))});
  ops.push_back({"store in a gap", store(a.gap, a.gap, val(1 << 22))});
  ops.push_back({"store to max_index", store(a.hi + 3, kMax, val(1 << 23))});
  ops.push_back({"erase_range spanning", store(a.span_first, a.span_last, nullptr)});
  ops.push_back({"store at 0", store(0, 0, val(1 << 24))});
  ops.push_back(
      {"insert",
       [=](Tree &t, maple::failing_resource &, reference_model &w, std::string &) -> ec_t {
         ec_t ec = t.insert(a.gap, a.gap, val(1 << 25));
         if (!ec) w.insert(a.gap, a.gap, val(1 << 25));
         return ec;
       }});
  for (std::uint64_t at : {a.lo, a.mid, a.hi}) {
    ops.push_back(
        {"erase " + std::to_string(at),
         [=](Tree &t, maple::failing_resource &, reference_model &w, std::string &problem) -> ec_t {
           ec_t ec;
           void *got = nullptr;
           ec = t.erase(at, &got);
           if (!ec && got != w.erase(at)) problem = "erase returned the wrong entry";
           if (ec && got) problem = "a failed erase returned an entry";
           return ec;
         }});
  }
  ops.push_back(
      {"cursor store",
       [=](Tree &t, maple::failing_resource &, reference_model &w, std::string &) -> ec_t {
         maple::basic_write_guard<Tree::slots> g(t);
         auto c = g.cursor(a.span_first, a.span_last);
         ec_t ec = c.store(val(1 << 26));
         if (!ec) w.store(a.span_first, a.span_last, val(1 << 26));
         return ec;
       }});
  ops.push_back(
      {"cursor erase",
       [=](Tree &t, maple::failing_resource &, reference_model &w, std::string &problem) -> ec_t {
         maple::basic_write_guard<Tree::slots> g(t);
         auto c = g.cursor(a.mid);
         void *got = nullptr;
         ec_t ec = c.erase(&got);
         if (!ec && got != w.erase(a.mid)) problem = "cursor erase: wrong entry";
         return ec;
       }});
  ops.push_back(
      {"preallocate + store_prealloc",
       [=](Tree &t, maple::failing_resource &, reference_model &w, std::string &problem) -> ec_t {
         maple::basic_write_guard<Tree::slots> g(t);
         auto c = g.cursor(a.span_first + 1, a.span_last + 7);
         ec_t ec = c.preallocate(val(1 << 27));
         if (ec) {
           if (c.reserved() != 0) problem = "a failed preallocate holds nodes";
           return ec;
         }
         c.store_prealloc(val(1 << 27));
         w.store(a.span_first + 1, a.span_last + 7, val(1 << 27));
         return ec;
       }});
  ops.push_back(
      {"bulk_load of the contents",
       [](Tree &t, maple::failing_resource &mr, reference_model &w, std::string &problem) -> ec_t {
         std::vector<maple::range_entry> in = w.ranges();
         Tree dst(&mr);
         ec_t ec = dst.bulk_load(in);
         if (ec && !dst.empty()) problem = "a failed bulk_load left entries";
         if (!ec && !consistent(dst, w)) problem = "bulk_load copy differs";
         (void)t;
         return ec;
       }});
  ops.push_back(
      {"dup",
       [](Tree &t, maple::failing_resource &mr, reference_model &w, std::string &problem) -> ec_t {
         Tree dst(&mr);
         ec_t ec = t.dup(dst);
         if (ec && (!dst.empty() || !dst.validate().ok))
           problem = "a failed dup left the destination non-empty or invalid";
         if (!ec && !consistent(dst, w)) problem = "dup copy differs";
         return ec;
       }});
  ops.push_back(
      {"dup dropping every other entry",
       [](Tree &t, maple::failing_resource &mr, reference_model &w, std::string &problem) -> ec_t {
         Tree dst(&mr);
         auto keep = [](void *e) { return maple::value_of_entry(e) % 2 == 1; };
         ec_t ec = t.dup(dst, [&](void *e) -> void * { return keep(e) ? e : nullptr; });
         if (ec && (!dst.empty() || !dst.validate().ok))
           problem = "a failed dup left the destination non-empty or invalid";
         if (!ec) {
           reference_model kept;
           for (const maple::range_entry &r : w.ranges())
             if (keep(r.entry)) kept.store(r.first, r.last, r.entry);
           if (!consistent(dst, kept)) problem = "transformed dup differs";
         }
         return ec;
       }});
  auto alloc = [](int kind) {
    return [kind](Tree &t, maple::failing_resource &, reference_model &w,
                  std::string &problem) -> ec_t {
      std::uint64_t start = 12345, next = 0;
      bool wrapped = false;
      ec_t ec = kind == 0   ? t.alloc_range(val(1 << 28), 3, 0, kMax, start)
                : kind == 1 ? t.alloc_rrange(val(1 << 28), 3, 0, kMax - 200, start)
                            : t.alloc_cyclic(val(1 << 28), 1, kMax, next, start, wrapped);
      if (ec && start != 12345) problem = "a failed alloc_range reported a start";
      if (!ec) w.store(start, start + (kind == 2 ? 0 : 2), val(1 << 28));
      return ec;
    };
  };
  ops.push_back({"alloc_range", alloc(0)});
  ops.push_back({"alloc_rrange", alloc(1)});
  ops.push_back({"alloc_cyclic", alloc(2)});
  return ops;
}

/// Failure points covered by one sweep, and the operations that needed no
/// allocation at all on that shape.
struct sweep_result {
  std::size_t points = 0;
  std::size_t ops_allocating = 0, ops = 0;
};

template <class Tree>
::testing::AssertionResult sweep(int shape, sweep_result &res) {
  reference_model proto;
  {
    Tree probe;
    build(probe, proto, shape);
  }
  const aims a = aims_of(proto);
  for (const named_op<Tree> &op : operations<Tree>(a)) {
    maple::failing_resource mr;
    Tree t(&mr);
    reference_model m;
    build(t, m, shape);
    const std::string before = image_of(t);
    const std::size_t live = mr.outstanding();
    ++res.ops;
    for (std::size_t k = 1;; ++k) {
      reference_model want = m;
      std::string problem;
      const std::size_t fails = mr.failures();
      mr.fail_nth(k);
      std::error_code ec = op.run(t, mr, want, problem);
      mr.never_fail();
      const bool injected = mr.failures() != fails;
      auto fail = [&](const std::string &what) {
        return ::testing::AssertionFailure() << op.name << " on shape '" << kShapeNames[shape]
                                             << "', allocation " << k << " failing: " << what;
      };
      if (!problem.empty()) return fail(problem);
      if (injected != (ec == maple::errc::no_memory))
        return fail(injected ? "the failure was swallowed (result: " + ec.message() + ")"
                             : "no_memory without an injected failure");
      if (!injected) {  // the operation got all it asked for
        if (ec) return fail("error " + ec.message());
        if (auto r = consistent(t, want); !r) return fail(r.message());
        if (mr.outstanding() != t.stats().nodes) return fail("node count != memory held");
        if (k > 1) ++res.ops_allocating;
        break;
      }
      ++res.points;
      if (image_of(t) != before) return fail("the tree changed");
      if (auto r = consistent(t, m); !r) return fail(r.message());
      if (mr.outstanding() != live)
        return fail("memory held went from " + std::to_string(live) + " to " +
                    std::to_string(mr.outstanding()) + " blocks");
      if (k > 100000) return fail("never succeeded");
    }
  }
  return ::testing::AssertionSuccess();
}

TYPED_TEST(FaultSweep, EveryWriteFailsCleanlyAtEveryAllocation) {
  sweep_result total;
  for (int shape = 0; shape < kShapes; ++shape) {
    sweep_result r;
    ASSERT_TRUE(sweep<TypeParam>(shape, r));
    std::cout << "  shape '" << kShapeNames[shape] << "': " << r.points << " failure points, "
              << r.ops_allocating << " of " << r.ops << " operations allocate\n";
    total.points += r.points;
    total.ops += r.ops;
    total.ops_allocating += r.ops_allocating;
  }
  std::cout << "  total (" << TypeParam::slots << "-slot engine): " << total.points
            << " failure points over " << total.ops << " (operation, shape) pairs\n";
  EXPECT_GT(total.points, 100u);
  this->RecordProperty("failure_points", static_cast<int>(total.points));
}

TYPED_TEST(FaultSweep, SeededRandomFailuresNeverCorrupt) {
  // Random writes with 10% of allocations failing: every failure leaves the
  // tree as the model says, and every node is returned at the end.
  maple::failing_resource mr;
  {
    TypeParam t(&mr);
    reference_model m;
    rng r(test_seed(2024));
    mr.fail_randomly(0.1, r.next());
    std::size_t refused = 0;
    const std::uint64_t n = scaled(3000, 300);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t f = r.below(5000), l = f + r.below(r.chance(1, 10) ? 500 : 20);
      void *e = r.chance(1, 4) ? nullptr : val(i + 1);
      std::error_code ec = t.store(f, l, e);
      if (ec) {
        ASSERT_EQ(ec, maple::errc::no_memory);
        ++refused;
      } else {
        m.store(f, l, e);
      }
      if (i % 64 == 0) {
        ASSERT_TRUE(consistent(t, m)) << "write " << i;
      }
    }
    mr.never_fail();
    ASSERT_TRUE(consistent(t, m));
    EXPECT_GT(refused, 0u);
    EXPECT_EQ(mr.outstanding(), t.stats().nodes);
  }
  EXPECT_EQ(mr.outstanding(), 0u);
}

// ---- regression 14: a retried erase must not widen what it erases ------------------

TYPED_TEST(FaultSweep, RetriedEraseDoesNotEraseANeighbourStoredMeanwhile) {
  // The kernel's erase of [a, b] grew to [a, c] while absorbing the empty
  // range after it; the allocation failed, the lock was dropped, another
  // writer stored into (b, c], and the retry erased [a, c]. Here each
  // erase call recomputes its range from the tree as it is; check that for
  // every entry whose erase can fail, on both the raw and the cursor API.
  maple::failing_resource mr;
  std::size_t checked = 0;
  for (std::uint64_t i = 1; i <= 200; ++i) {
    for (int api = 0; api < 2; ++api) {
      TypeParam t(&mr);
      reference_model m;
      // Ranges [10j, 10j+4] with empty ranges (10j+4, 10j+10) between them.
      for (std::uint64_t j = 1; j <= 200; ++j) {
        ASSERT_FALSE(t.store(10 * j, 10 * j + 4, val(j)));
        m.store(10 * j, 10 * j + 4, val(j));
      }
      const std::uint64_t a = 10 * i;
      mr.fail_after(0);
      std::error_code ec;
      void *got = nullptr;
      if (api == 0) {
        ec = t.erase(a, &got);
      } else {
        maple::basic_write_guard<TypeParam::slots> g(t);
        auto c = g.cursor(a);
        ec = c.erase(&got);
      }
      mr.never_fail();
      if (!ec) continue;  // that erase needed no node
      ASSERT_EQ(ec, maple::errc::no_memory);
      ASSERT_EQ(got, nullptr);
      ASSERT_TRUE(consistent(t, m));
      // Meanwhile another writer fills the empty range after the entry.
      ASSERT_FALSE(t.store(a + 5, a + 9, val(9999)));
      m.store(a + 5, a + 9, val(9999));
      // The retry erases [a, a + 4] only.
      if (api == 0) {
        ec = t.erase(a, &got);
      } else {
        maple::basic_write_guard<TypeParam::slots> g(t);
        auto c = g.cursor(a);
        ec = c.erase(&got);
      }
      ASSERT_FALSE(ec);
      ASSERT_EQ(got, val(i));
      m.erase(a);
      ASSERT_EQ(t.load(a + 5), val(9999));
      ASSERT_TRUE(consistent(t, m));
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
  std::cout << "  " << checked << " failed-then-retried erases checked\n";
}

}  // namespace
}  // namespace maple_test