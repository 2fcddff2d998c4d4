// tests/support/test_env.h - reproducibility knobs shared by the randomized tests.
//
//   MAPLE_TEST_SEED=<n>   fixes the seed of every randomized test (default:
//                         a per-test constant, so runs are reproducible);
//   MAPLE_TEST_SCALE=<x>  multiplies operation counts (default 1; e.g. 0.05
//                         under sanitizers, 10 for a long soak).
#pragma once

#include <maple/entry.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace maple_test {

/// What erased() returns for an erase that failed: a word no test stores.
inline void *erase_failed() noexcept { return reinterpret_cast<void *>(std::uintptr_t{0xe4a5e0}); }

/// The entry erase(args..., &old) removed from a raw tree or write cursor
/// `w` (nullptr: nothing there), or erase_failed() when it returned an
/// error.
template <class W, class... A>
void *erased(W &w, A... args) {
  void *old = nullptr;
  if (w.erase(args..., &old)) return erase_failed();
  return old;
}

/// The seed to use: MAPLE_TEST_SEED if set, else `fallback`.
inline std::uint64_t test_seed(std::uint64_t fallback) {
  if (const char *s = std::getenv("MAPLE_TEST_SEED"); s && *s) return std::strtoull(s, nullptr, 0);
  return fallback;
}

/// MAPLE_TEST_SCALE (default 1.0; values <= 0 are ignored).
inline double test_scale() {
  if (const char *s = std::getenv("MAPLE_TEST_SCALE"); s && *s) {
    double v = std::strtod(s, nullptr);
    if (v > 0) return v;
  }
  return 1.0;
}

/// n scaled by MAPLE_TEST_SCALE, at least `floor`.
inline std::uint64_t scaled(std::uint64_t n, std::uint64_t floor = 1) {
  double v = static_cast<double>(n) * test_scale();
  auto r = static_cast<std::uint64_t>(v);
  return r < floor ? floor : r;
}

/// splitmix64: a small, fast, well-mixed generator whose sequence is the
/// same on every platform (unlike std:: distributions).
class rng {
 public:
  explicit rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0; slight modulo bias is irrelevant here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  /// Uniform in [lo, hi] (inclusive; handles the full 64-bit span).
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    std::uint64_t span = hi - lo;
    if (span == ~std::uint64_t{0}) return next();
    return lo + next() % (span + 1);
  }
  /// True with probability num/den.
  bool chance(std::uint64_t num, std::uint64_t den) { return below(den) < num; }

 private:
  std::uint64_t s_;
};

/// A distinct, storable entry word for a number (value entries are never
/// reserved and never nullptr).
inline void *val(std::uint64_t v) { return maple::make_value_entry(v & maple::max_value_entry); }

}  // namespace maple_test
