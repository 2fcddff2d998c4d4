// The per-node step of a descent: which slot holds an index, found as the
// number of leading pivots below it. Pivots ascend up to the data end and
// pivot[end] is the node's maximum (>= any index the walk carries there);
// the words after it are zeros or an allocation node's gaps, so the first
// pivot >= index is the slot without knowing the end (a full node has no
// pivot[end]: its count is then every pivot, P).
//
// Two forms: a scalar scan that stops at the first such pivot, and, on
// x86-64 CPUs with AVX2 (decided once at run time), a branch-free one that
// compares four pivots per instruction. The branch-free form costs the same
// at every slot; the scan's exit branch mispredicts about once per node.
#pragma once

#include <bit>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__SANITIZE_THREAD__)
#define MAPLE_PIVOT_AVX2 0  // TSan sees a vector load beside a writer as a race
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAPLE_PIVOT_AVX2 0
#endif
#endif
#ifndef MAPLE_PIVOT_AVX2
#define MAPLE_PIVOT_AVX2 1
#endif
#else
#define MAPLE_PIVOT_AVX2 0
#endif

#if MAPLE_PIVOT_AVX2
#include <immintrin.h>
#endif

namespace maple::detail {

/// Scalar form: pivots scanned up to the first one >= index.
template <unsigned P>
inline unsigned pivots_below_scan(const std::uint64_t *pivot, std::uint64_t index) noexcept {
  unsigned off = 0;
  while (off < P && __atomic_load_n(&pivot[off], __ATOMIC_RELAXED) < index) ++off;
  return off;
}

#if MAPLE_PIVOT_AVX2
// x86-only by design: compiled for x86-64 alone, chosen at run time, with
// the scalar forms above as the portable path.
/// Whether this CPU runs the AVX2 forms. Read by the walks' dispatch; false
/// until the library's static initialisers run (the scalar forms are
/// always right).
inline const bool cpu_has_avx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();

/// Bit i of the four: x[i] < key as unsigned numbers, key given with its
/// sign bit flipped (AVX2 compares signed: flipping the sign bit of both
/// sides gives the unsigned order).
[[gnu::target("avx2")]] inline unsigned lanes_below(__m256i x, __m256i key_flipped) noexcept {
  const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
  __m256i lt = _mm256_cmpgt_epi64(key_flipped, _mm256_xor_si256(x, sign));
  return static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(lt)));
}

/// key with its sign bit flipped, in every lane (lanes_below's key).
[[gnu::target("avx2")]] inline __m256i flipped_key(std::uint64_t key) noexcept {
  return _mm256_xor_si256(_mm256_set1_epi64x(static_cast<long long>(key)),
                          _mm256_set1_epi64x(INT64_MIN));
}

/// Bit i set: w[i] < key (i < N), four words per compare (the last load
/// overlaps the one before it, so nothing past w[N - 1] is read). Each
/// 8-byte aligned lane is read whole, as a scalar load would be (a writer
/// beside it in RCU mode changes single words).
template <unsigned N>
[[gnu::target("avx2")]] inline unsigned words_below_avx2(const std::uint64_t *w,
                                                         std::uint64_t key) noexcept {
  static_assert(N >= 4 && N <= 32, "one vector of words at least");
  const __m256i k = flipped_key(key);
  unsigned below = 0;
  for (unsigned i = 0; i < N; i += 4) {
    const unsigned at = i + 4 <= N ? i : N - 4;
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + at));
    below |= lanes_below(v, k) << at;
  }
  return below;
}

/// Bit i set: w[i] == 0 (i < N; N a multiple of 4).
template <unsigned N>
[[gnu::target("avx2")]] inline unsigned zero_words_avx2(const std::uint64_t *w) noexcept {
  static_assert(N % 4 == 0 && N <= 32);
  unsigned zero = 0;
  for (unsigned i = 0; i < N; i += 4) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + i));
    __m256i eq = _mm256_cmpeq_epi64(v, _mm256_setzero_si256());
    zero |= static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(eq))) << i;
  }
  return zero;
}

/// Bit i set: w[i + 1] - w[i] < key (i < N; reads w[0..N]).
template <unsigned N>
[[gnu::target("avx2")]] inline unsigned steps_below_avx2(const std::uint64_t *w,
                                                         std::uint64_t key) noexcept {
  static_assert(N >= 4 && N <= 32, "one vector of words at least");
  const __m256i k = flipped_key(key);
  unsigned below = 0;
  for (unsigned i = 0; i < N; i += 4) {
    const unsigned at = i + 4 <= N ? i : N - 4;
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + at));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + at + 1));
    below |= lanes_below(_mm256_sub_epi64(hi, lo), k) << at;
  }
  return below;
}

/// AVX2 form of pivots_below_scan: the trailing ones of the mask.
template <unsigned P>
[[gnu::target("avx2")]] inline unsigned pivots_below_avx2(const std::uint64_t *pivot,
                                                          std::uint64_t index) noexcept {
  return static_cast<unsigned>(std::countr_one(words_below_avx2<P>(pivot, index)));
}
#endif

}  // namespace maple::detail
