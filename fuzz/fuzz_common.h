// fuzz/fuzz_common.h - what the fuzz targets share: the input decoder, a
// node memory resource that counts nodes and fails on demand, the entry
// palette, checks that abort with a message, and an optional trace of the
// decoded operations (MAPLE_FUZZ_TRACE=1) written as C++ statements, ready to
// be pasted into a regression test.
//
// The targets build on the reference model of the test suite
// (tests/support/reference_model.h): every operation is applied to the tree and to
// the model, and the two are compared.
#pragma once

#include "geometries.h"
#include "reference_model.h"

#include <maple/cursor.h>
#include <maple/entry.h>
#include <maple/error.h>
#include <maple/raw_tree.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace maple_fuzz {

using maple::range_entry;
using maple_test::kMax;
using maple_test::reference_model;

// ---- failing -----------------------------------------------------------------------

/// Set by the target before it runs an input: prints the tree on failure.
inline const char *g_engine_name = "?";

[[noreturn]] inline void fail_at(const char *file, int line, const char *cond,
                                 const std::string &msg) {
  std::fprintf(stderr, "\n%s:%d: fuzz check failed on the %s engine: %s\n  %s\n", file, line,
               g_engine_name, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond, msg)                                             \
  do {                                                                    \
    if (!(cond)) ::maple_fuzz::fail_at(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

inline std::string hex(std::uint64_t v) { return maple_test::hex(v); }

inline std::string str(const range_entry &r) { return maple_test::describe(r); }
inline std::string str(const std::optional<range_entry> &r) { return maple_test::describe(r); }
inline std::string str(const void *p) { return hex(reinterpret_cast<std::uintptr_t>(p)); }
inline std::string str(std::error_code ec) { return ec ? ec.message() : std::string("ok"); }
/// Error codes equal, whatever the category of "no error".
inline bool same(std::error_code a, std::error_code b) { return (!a && !b) || a == b; }

// ---- tracing ------------------------------------------------------------------------

inline bool tracing() {
  static const bool on = [] {
    const char *s = std::getenv("MAPLE_FUZZ_TRACE");
    return s != nullptr && *s != '\0' && *s != '0';
  }();
  return on;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
inline void
trace(const char *fmt, ...) {
  if (!tracing()) return;
  std::va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

/// An entry word as C++ source for the trace.
inline std::string src(const void *e) {
  auto w = reinterpret_cast<std::uintptr_t>(e);
  if (w == 0) return "nullptr";
  if (maple::is_value_entry(e)) return "val(" + std::to_string(maple::value_of_entry(e)) + ")";
  return "word(" + hex(w) + ")";
}

// ---- the input ------------------------------------------------------------------------

/// Reads the fuzzer's bytes; past the end every read yields 0.
class input {
 public:
  input(const std::uint8_t *p, std::size_t n) : p_(p), n_(n) {}
  bool done() const { return i_ >= n_; }
  std::uint8_t byte() { return i_ < n_ ? p_[i_++] : 0; }
  /// LEB128: 7 bits per byte, at most 10 bytes.
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = v << 8 | byte();
    return v;
  }

 private:
  const std::uint8_t *p_;
  std::size_t n_;
  std::size_t i_ = 0;
};

inline std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) {
  return a > kMax - b ? kMax : a + b;
}
inline std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > kMax / b ? kMax : a * b;
}

/// An index: small ones (mod 4096) most of the time, so that ranges
/// collide; near the top of the index space; next to a stored range's
/// bounds; powers of two; sometimes any 64-bit value.
inline std::uint64_t decode_index(input &in, const reference_model &m) {
  std::uint8_t b = in.byte();
  switch (b & 7) {
    case 0:
    case 1:
    case 2: return in.varint() % 4096;
    case 3: return b >> 3;  // 0..31, one byte
    case 4: return kMax - in.varint() % 4096;
    case 5: {
      if (m.empty()) return in.varint() % 4096;
      std::uint64_t k = in.varint() % m.size();
      range_entry r = m.nth(static_cast<std::size_t>(k));
      switch ((b >> 3) & 3) {
        case 0: return r.first;
        case 1: return r.last;
        case 2: return r.first == 0 ? 0 : r.first - 1;
        default: return r.last == kMax ? kMax : r.last + 1;
      }
    }
    case 6: {  // 2^0, 2^4, ..., 2^60, or one less
      std::uint64_t p = std::uint64_t{1} << (((b >> 3) & 15) * 4);
      return (b & 0x80) ? p - 1 : p;
    }
    default: return in.u64();
  }
}

/// A range [first, last]; first > last rarely (an invalid range).
inline void decode_range(input &in, const reference_model &m, std::uint64_t &first,
                         std::uint64_t &last) {
  first = decode_index(in, m);
  std::uint8_t b = in.byte();
  switch (b & 7) {
    case 0: last = first; break;
    case 1:
    case 2: last = sat_add(first, b >> 3); break;  // up to 31 more
    case 3: last = sat_add(first, in.varint() % 4096); break;
    case 4: last = sat_add(first, in.varint()); break;
    case 5: last = kMax; break;
    case 6: last = decode_index(in, m); break;  // anything, may be < first
    default: {
      // Cover exactly up to a stored range's bound (spanning stores).
      last = decode_index(in, m);
      if (last < first) std::swap(first, last);
      break;
    }
  }
}

/// An entry word: mostly value entries (few distinct ones, so equal
/// neighbours occur), nullptr, pointer-like words, words with the low bits
/// 0b10 above 4096 (they look like node references in the root word; the
/// engine must expand them into a leaf), and rarely a reserved word.
inline void *decode_entry(input &in) {
  std::uint8_t b = in.byte();
  std::uintptr_t k = b >> 4;
  switch (b & 15) {
    case 0: return nullptr;
    case 1: return reinterpret_cast<void *>(std::uintptr_t{0x10000} + 8 * k);
    case 2: {
      static const std::uintptr_t odd[] = {0x1002,
                                           0x100e,
                                           0x1016,
                                           0x1006,
                                           0x20006,
                                           0xfffe,
                                           ~std::uintptr_t{1},
                                           ~std::uintptr_t{0xff} | 0x6,
                                           0x1000,
                                           0x1004,
                                           0x4000,
                                           ~std::uintptr_t{3},
                                           0x2006,
                                           0x100a,
                                           0x1ffe,
                                           0x3002};
      return reinterpret_cast<void *>(odd[k]);
    }
    case 3:
      if (k < 12) return maple::make_value_entry(k);
      return reinterpret_cast<void *>(std::uintptr_t{2} + 0x554 * (k - 12));  // reserved: < 4096
    case 4: return maple::make_value_entry(maple::max_value_entry - k);
    default: return maple::make_value_entry(k + 16 * ((b & 15) - 5));
  }
}

// ---- node memory ----------------------------------------------------------------------

/// Plain aligned new/delete (so AddressSanitizer sees every node: no slab
/// hides a use after free), counted, with injected failures: after
/// fail_after more allocations every allocation throws std::bad_alloc until
/// disarm(). forbid: any allocation is a bug (store_prealloc()).
class node_resource : public std::pmr::memory_resource {
 public:
  std::size_t live = 0;

  void arm(unsigned after) { fail_after_ = static_cast<long>(after); }
  void disarm() { fail_after_ = -1; }
  bool armed() const { return fail_after_ >= 0; }
  void forbid(bool on) { forbid_ = on; }

 private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    FUZZ_CHECK(!forbid_, "an allocation where none may happen (store_prealloc)");
    if (fail_after_ == 0) throw std::bad_alloc();
    if (fail_after_ > 0) --fail_after_;
    void *p = ::operator new(bytes, std::align_val_t(align));
    ++live;
    return p;
  }
  void do_deallocate(void *p, std::size_t bytes, std::size_t align) override {
    FUZZ_CHECK(live > 0, "more nodes freed than allocated");
    --live;
    (void)bytes;
    ::operator delete(p, std::align_val_t(align));
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }

  long fail_after_ = -1;
  bool forbid_ = false;
};

// ---- comparing a tree with the model -------------------------------------------------

using maple_test::nodeless_tree;  // tests/support/reference_model.h

// ---- known engine bugs ------------------------------------------------------------------
// Inputs that would only re-find a bug already reported are steered around it
// so that fuzzing goes on; build with -DMAPLE_FUZZ_KNOWN_BUGS=1 to walk into
// them (e.g. to check a fix). Each is listed in fuzz/README.md.
#ifndef MAPLE_FUZZ_KNOWN_BUGS
#define MAPLE_FUZZ_KNOWN_BUGS 0
#endif
inline constexpr bool kKnownBugs = MAPLE_FUZZ_KNOWN_BUGS != 0;

inline bool node_like(const void *e) { return (reinterpret_cast<std::uintptr_t>(e) & 3) == 2; }

/// Known bug 1 (lone-root exact fit): when the tree is only [0, 0] holding a
/// node-like word (kept in a leaf), storing an ordinary entry over exactly
/// [0, 0] leaves that leaf in place instead of moving the entry into the
/// root word: validate() reports "a lone [0,0] entry belongs in the root
/// word". Returns the entry to store instead (a node-like word).
inline void *dodge(const reference_model &m, std::uint64_t first, std::uint64_t last, void *e) {
  if (kKnownBugs || first != 0 || last != 0 || e == nullptr || node_like(e) || m.size() != 1)
    return e;
  range_entry r = m.nth(0);
  if (r.first != 0 || r.last != 0 || !node_like(r.entry)) return e;
  trace("// known bug 1 (lone-root exact fit): the entry becomes word(0x1002)");
  return reinterpret_cast<void *>(std::uintptr_t{0x1002});
}

/// validate(), full forward iteration against the model, empty(), height.
template <class Tree>
void check_tree(const Tree &t, const reference_model &m, const char *after) {
  maple::check_report rep = t.validate();
  FUZZ_CHECK(rep.ok, std::string("after ") + after + ": " + rep.message);
  auto mit = m.map().begin();
  std::size_t i = 0;
  for (range_entry r : t.ranges()) {
    FUZZ_CHECK(mit != m.map().end(), std::string("after ") + after + ": tree has extra range #" +
                                         std::to_string(i) + " " + str(r));
    range_entry e{mit->first, mit->second.last, mit->second.entry};
    FUZZ_CHECK(r == e, std::string("after ") + after + ": range #" + std::to_string(i) + ": tree " +
                           str(r) + " model " + str(e));
    ++mit;
    ++i;
  }
  FUZZ_CHECK(mit == m.map().end(), std::string("after ") + after + ": tree ends after " +
                                       std::to_string(i) + " ranges, model has " +
                                       std::to_string(m.size()));
  FUZZ_CHECK(t.empty() == m.empty(), std::string("after ") + after + ": empty() disagrees");
  FUZZ_CHECK((t.height() == 0) == nodeless_tree(m),
             std::string("after ") + after + ": height " + std::to_string(t.height()) +
                 " for a tree that is " + (nodeless_tree(m) ? "" : "not ") + "nodeless");
}

/// stats() against the model and the node count of the resource (`extra`:
/// nodes held outside the tree, e.g. a write cursor's reserve).
template <class Tree>
void check_stats(const Tree &t, const reference_model &m, const node_resource &mr,
                 std::size_t extra, const char *after) {
  maple::tree_stats s = t.stats();
  FUZZ_CHECK(s.ranges == m.size(), std::string("after ") + after + ": stats().ranges " +
                                       std::to_string(s.ranges) + ", model " +
                                       std::to_string(m.size()));
  FUZZ_CHECK(s.height == t.height(), std::string("after ") + after + ": stats().height");
  FUZZ_CHECK(s.nodes + extra == mr.live, std::string("after ") + after + ": stats().nodes " +
                                             std::to_string(s.nodes) + " + " +
                                             std::to_string(extra) + " held aside, but " +
                                             std::to_string(mr.live) + " nodes allocated");
}

// ---- writes checked against the model ------------------------------------------------
// The tree targets (fuzz_tree, fuzz_gap, fuzz_dup, fuzz_cursor's tree-level
// fill) decode and check their plain writes the same way; they live here so
// that a change to what a write must answer, or to how its arguments are
// decoded, reaches every target at once and the seed corpora keep one
// meaning. `injected()` tells, after the call, whether the input made an
// allocation fail (each target's resource says it in its own way): only then
// may a write answer no_memory, and it must have changed nothing, which the
// caller's check_tree() sees, since the model is left as it was.

/// What store(first, last, e) must answer (nullptr: erase the range).
inline std::error_code store_expect(std::uint64_t first, std::uint64_t last, const void *e) {
  return first > last || maple::is_reserved_entry(e)
             ? std::error_code(maple::errc::invalid_argument)
             : std::error_code();
}

/// What insert(first, last, e) must answer. Asked before the write: the
/// model applies the insert itself.
inline std::error_code insert_expect(const reference_model &m, std::uint64_t first,
                                     std::uint64_t last, const void *e) {
  if (first > last || e == nullptr || maple::is_reserved_entry(e))
    return maple::errc::invalid_argument;
  if (m.any_in(first, last)) return maple::errc::exists;
  return {};
}

/// A write's answer against the model's: a no_memory the input injected is
/// accepted (returns false, the model unchanged); otherwise the answers must
/// agree, and on success `apply` updates the model.
template <class F>
bool outcome(std::error_code got, std::error_code want, bool injected, const char *what, F apply) {
  if (got == maple::errc::no_memory && injected) return false;
  FUZZ_CHECK(got == want,
             std::string(what) + ": tree says '" + str(got) + "', model '" + str(want) + "'");
  if (!got) apply();
  return true;
}

/// store() of a decoded range and entry, or (erase) erase_range: a store of
/// nullptr. At max_ranges the tree stops growing (the entry becomes
/// nullptr). False on an injected no_memory.
template <class Tree, class Injected>
bool checked_store(Tree &t, reference_model &m, input &in, bool erase, std::size_t max_ranges,
                   Injected injected) {
  std::uint64_t first, last;
  decode_range(in, m, first, last);
  void *e = erase ? nullptr : decode_entry(in);
  if (!erase && m.size() >= max_ranges) e = nullptr;
  e = dodge(m, first, last, e);
  trace("t.store(%s, %s, %s);", hex(first).c_str(), hex(last).c_str(), src(e).c_str());
  std::error_code got = t.store(first, last, e);
  return outcome(got, store_expect(first, last, e), injected(), "store",
                 [&] { m.store(first, last, e); });
}

/// insert() of a decoded range and entry. (No dodge: the known bug needs a
/// write over an occupied [0, 0], which an insert refuses.) False on an
/// injected no_memory.
template <class Tree, class Injected>
bool checked_insert(Tree &t, reference_model &m, input &in, Injected injected) {
  std::uint64_t first, last;
  decode_range(in, m, first, last);
  void *e = decode_entry(in);
  trace("t.insert(%s, %s, %s);", hex(first).c_str(), hex(last).c_str(), src(e).c_str());
  std::error_code got = t.insert(first, last, e);
  return outcome(got, insert_expect(m, first, last, e), injected(), "insert",
                 [&] { m.store(first, last, e); });
}

/// erase() of a decoded index: the entry it returns against the model's.
/// False on an injected no_memory.
template <class Tree, class Injected>
bool checked_erase(Tree &t, reference_model &m, input &in, Injected injected) {
  std::uint64_t i = decode_index(in, m);
  trace("t.erase(%s);", hex(i).c_str());
  void *got = nullptr;
  std::error_code ec = t.erase(i, &got);
  if (ec == maple::errc::no_memory && injected()) return false;
  FUZZ_CHECK(!ec, "erase(" + hex(i) + "): " + str(ec));
  void *want = m.erase(i);
  FUZZ_CHECK(got == want, "erase(" + hex(i) + ") returned " + str(got) + ", model " + str(want));
  return true;
}

/// clear() of the tree and the model.
template <class Tree>
void clear_both(Tree &t, reference_model &m) {
  trace("t.clear();");
  t.clear();
  m.clear();
}

// ---- fill: many stores at once --------------------------------------------------------
// Every tree target grows deep trees fast with a fill; the targets differ
// only in the shapes they decode (kept as they were, so that their corpora
// mean the same), the stores and their checks are shared.

/// n stores [base + k*stride, base + k*stride + width - 1] (stride may be
/// smaller than width: overlapping stores), entries val(tag + k), for k
/// from 0 up, or down from n - 1 (reverse).
struct fill_plan {
  std::uint64_t base = 0, n = 0, stride = 0, width = 0, tag = 0;
  bool reverse = false;
};

/// A base index, a shape byte b (stride (b & 15) + 1, width ((b >> 4) & 7)
/// + 1, both scaled when b's top bit is set) and a count byte (1..128; 1 at
/// max_ranges: the tree stops growing). With any_shape, b == 0xff is
/// followed by two varints: any stride and width (page-sized VMA patterns).
/// The tag and the direction are the caller's to decode.
inline fill_plan decode_fill(input &in, const reference_model &m, bool any_shape,
                             std::uint64_t stride_scale, std::uint64_t width_scale,
                             std::size_t max_ranges) {
  fill_plan p;
  p.base = decode_index(in, m);
  std::uint8_t b = in.byte();
  p.n = in.byte() % 128 + 1;
  p.stride = (b & 15) + 1;
  p.width = ((b >> 4) & 7) + 1;
  if (any_shape && b == 0xff) {
    p.stride = in.varint() + 1;
    p.width = in.varint() + 1;
  } else if (b & 0x80) {
    p.stride *= stride_scale, p.width *= width_scale;
  }
  if (m.size() >= max_ranges) p.n = 1;
  return p;
}

/// The stores of a fill (none may fail: no failure is armed), into the tree
/// and the model.
template <class Tree>
void store_fill(Tree &t, reference_model &m, const fill_plan &p) {
  const auto ull = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  trace(
      "for (std::uint64_t i = 0; i < %llu; ++i) { std::uint64_t k = %s%s; "
      "t.store(%s + k * %llu, %s + k * %llu + %llu, val(%llu + k)); }",
      ull(p.n), p.reverse ? std::to_string(p.n - 1).c_str() : "", p.reverse ? " - i" : "i",
      hex(p.base).c_str(), ull(p.stride), hex(p.base).c_str(), ull(p.stride), ull(p.width - 1),
      ull(p.tag));
  for (std::uint64_t i = 0; i < p.n; ++i) {
    std::uint64_t k = p.reverse ? p.n - 1 - i : i;
    std::uint64_t f = sat_add(p.base, sat_mul(k, p.stride));
    std::uint64_t l = sat_add(f, p.width - 1);
    void *e = dodge(m, f, l, maple::make_value_entry(p.tag + k));
    std::error_code ec = t.store(f, l, e);
    FUZZ_CHECK(!ec, "fill: store(" + hex(f) + ", " + hex(l) + "): " + str(ec));
    m.store(f, l, e);
  }
}

// ---- running an input -------------------------------------------------------------------

/// The loop of the targets that drive one tree on a node_resource (fuzz_tree,
/// fuzz_gap): up to 4096 operations; an armed failure ends with the
/// operation that armed it; after a write (`wrote`, set by `op`) the tree
/// against the model; at the end its stats, and a clear() that frees every
/// node. `op` runs one operation and returns its name.
template <class Tree, class Op>
void run_ops(Tree &t, const reference_model &m, node_resource &mr, const input &in, bool &wrote,
             Op op) {
  trace("// ---- %s", g_engine_name);
  for (unsigned step = 0; !in.done() && step < 4096; ++step) {
    wrote = false;
    const char *what = op();
    if (mr.armed()) mr.disarm();
    if (wrote) check_tree(t, m, what);  // reads cannot change the tree
  }
  check_stats(t, m, mr, 0, "the last operation");
  t.clear();
  FUZZ_CHECK(mr.live == 0, "clear() left " + std::to_string(mr.live) + " nodes allocated");
}

/// One input on both engines, each with a fresh driver: the shipped 16-slot
/// raw_tree and basic_raw_tree<4>, whose tiny nodes make deep trees out of
/// a few ranges.
template <template <class> class Fuzzer>
void run_on_both_engines(const std::uint8_t *data, std::size_t size) {
  g_engine_name = "16-slot";
  Fuzzer<maple::raw_tree>(data, size).run();
  g_engine_name = "4-slot";
  Fuzzer<maple::basic_raw_tree<4>>(data, size).run();
}

}  // namespace maple_fuzz
