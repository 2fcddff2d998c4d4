// tests/support/tree_harness.h - a tree and its reference model driven in lockstep.
//
// Every write goes to both; every helper returns an AssertionResult so that
// tests write ASSERT_TRUE(h.store(...)) and stop at the first divergence.
#pragma once

#include "reference_model.h"
#include "test_env.h"

#include <engine/write_trace.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <system_error>

namespace maple_test {

using maple::detail::write_kind;

inline const char *kind_name(write_kind k) { return maple::detail::write_kind_name(k); }

// The write-kind counters exist only with MAPLE_TEST_HOOKS (core/write_trace.h);
// without them every count reads 0 and tests that need them skip.
#ifdef MAPLE_TEST_HOOKS
inline void reset_trace() { maple::detail::thread_write_trace().reset(); }
inline std::uint64_t trace(write_kind k) { return maple::detail::thread_write_trace()[k]; }
#else
inline void reset_trace() {}
inline std::uint64_t trace(write_kind) { return 0; }
#endif
inline constexpr const char *kNoTraceHooks =
    "write-kind counters not compiled (configure with -DMAPLE_TEST_HOOKS=ON)";

/// All non-zero counters, for failure messages.
inline std::string trace_summary() {
  std::string s;
  for (unsigned i = 0; i < static_cast<unsigned>(write_kind::count_); ++i) {
    auto k = static_cast<write_kind>(i);
    if (trace(k) == 0) continue;
    if (!s.empty()) s += ' ';
    s += kind_name(k);
    s += '=';
    s += std::to_string(trace(k));
  }
  return s.empty() ? "(no write kinds counted)" : s;
}

template <class Tree>
class harness {
 public:
  Tree t;
  reference_model m;

  ::testing::AssertionResult store(std::uint64_t first, std::uint64_t last, void *e) {
    std::error_code ec = t.store(first, last, e);
    if (ec)
      return ::testing::AssertionFailure() << "store(" << hex(first) << ", " << hex(last) << ", "
                                           << e << ") failed: " << ec.message();
    m.store(first, last, e);
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult insert(std::uint64_t first, std::uint64_t last, void *e) {
    std::error_code want = m.insert(first, last, e);
    std::error_code got = t.insert(first, last, e);
    if (got != want)
      return ::testing::AssertionFailure()
             << "insert(" << hex(first) << ", " << hex(last) << ", " << e << "): tree says '"
             << got.message() << "', model says '" << want.message() << "'";
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult erase(std::uint64_t index) {
    void *want = m.erase(index);
    void *got = maple_test::erased(t, index);
    if (got != want)
      return ::testing::AssertionFailure()
             << "erase(" << hex(index) << ") returned " << got << ", model " << want;
    return ::testing::AssertionSuccess();
  }

  /// validate() and full forward comparison.
  ::testing::AssertionResult check() const { return consistent(t, m); }

  /// check() plus backward iteration and lookups at every range edge.
  ::testing::AssertionResult check_deep() const {
    if (auto r = consistent(t, m); !r) return r;
    if (auto r = same_contents_backward(t, m); !r) return r;
    for (const auto &[first, v] : m.map()) {
      for (std::uint64_t i : {first, v.last}) {
        maple::range_entry a = t.lookup(i), b = m.lookup(i);
        if (!(a == b))
          return ::testing::AssertionFailure()
                 << "lookup(" << hex(i) << "): tree " << describe(a) << " model " << describe(b);
      }
      if (first > 0) {
        maple::range_entry a = t.lookup(first - 1), b = m.lookup(first - 1);
        if (!(a == b))
          return ::testing::AssertionFailure() << "lookup(" << hex(first - 1) << "): tree "
                                               << describe(a) << " model " << describe(b);
      }
    }
    return ::testing::AssertionSuccess();
  }

  /// Stores n ranges [base + i*stride, base + i*stride + width - 1] -> val(tag + i).
  ::testing::AssertionResult fill(std::uint64_t n, std::uint64_t stride, std::uint64_t width,
                                  std::uint64_t base = 0, std::uint64_t tag = 1) {
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t f = base + i * stride;
      if (auto r = store(f, f + width - 1, val(tag + i)); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }
};

}  // namespace maple_test
