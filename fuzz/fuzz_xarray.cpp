// fuzz/fuzz_xarray.cpp - libFuzzer target for maple::xarray and its
// advanced API (maple::xa_state).
//
// The first byte picks the array's flags (none, alloc, alloc1); the rest is
// a sequence of operations, each an op byte and its arguments: store and
// store_order (orders 0..64, sometimes invalid), erase, insert, cmpxchg,
// reserve / release, set_mark / clear_mark, loads, orders and marks at
// chosen indices, find / find_after (with and without a mark), extract,
// iteration over a window, alloc / alloc_cyclic, an xa_state search loop
// (find / find_marked, with pause()), xa_state next / prev steps, split,
// an xa_state store with the nomem() retry loop and marks set through the
// state, writes whose k-th allocation fails (maple::failing_resource), and
// destroy. Every answer is checked against the reference model of the
// XArray tests (tests/support/xa_test_support.h: a std::map of aligned ranges with
// marks); after every write (every 8th once the array holds more than 128
// ranges) validate() holds, and the whole contents (entries, orders, marks),
// marked searches and marked() agree with the model. A failed write (no_memory) changes nothing:
// contents, node count, height. After the array is destroyed, no node is left allocated but those
// waiting for their grace period (exactly none after an RCU barrier, checked
// every 64 inputs).
//
// MAPLE_FUZZ_TRACE=1 prints each operation as a C++ statement.
#include "fuzz_common.h"
#include "xa_test_support.h"

#include <maple/failing_resource.h>
#include <maple/rcu.h>
#include <maple/xa_state.h>
#include <maple/xarray.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace maple_fuzz {
namespace {

using maple::xa_mark;
using maple::xarray;
using maple_test::xa_model;
using maple_test::xa_row;

/// The model stops growing here (the checks after every write are O(n)).
constexpr std::size_t kMaxRanges = 1000;
/// At most this many entries from one split (validate() of a wide split is slow).
constexpr std::size_t kMaxSplit = 512;

xa_mark mark_of(unsigned m) { return static_cast<xa_mark>(m); }

// (Strings appended piece by piece: GCC 12 at -O3 warns falsely about
// "literal" + std::string, -Wrestrict.)
std::string row_str(const xa_row &r) {
  std::string s = "[";
  s += hex(std::get<0>(r));
  s += " order ";
  s += std::to_string(std::get<1>(r));
  s += "] ";
  s += src(std::get<2>(r));
  s += " marks ";
  s += std::to_string(std::get<3>(r));
  return s;
}

/// One item of a search: where it was found and the entry.
using item = std::pair<std::uint64_t, void *>;

std::string items_str(const std::vector<item> &v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 8; ++i) {
    s += '(';
    s += hex(v[i].first);
    s += ", ";
    s += src(v[i].second);
    s += ") ";
  }
  if (v.size() > 8) {
    s += "... (";
    s += std::to_string(v.size());
    s += ')';
  }
  return s.empty() ? std::string("(none)") : s;
}

maple::xa_flags flags_of(std::uint8_t b) {
  switch (b % 4) {
    case 1: return maple::xa_flags::alloc;
    case 2: return maple::xa_flags::alloc1;
    default: return maple::xa_flags::none;
  }
}

class xa_fuzzer {
 public:
  /// `mr` outlives the fuzzer: the array's retired nodes are freed after it.
  xa_fuzzer(const std::uint8_t *data, std::size_t size, maple::failing_resource &mr)
      : in_(data, size), flags_(flags_of(in_.byte())), mr_(mr), xa_(flags_, &mr_) {}

  void run() {
    trace("maple::xarray xa(maple::xa_flags(%u), &mr);", static_cast<unsigned>(flags_));
    for (unsigned step = 0; !in_.done() && step < 2048; ++step) {
      wrote_ = false;
      failures_before_ = mr_.failures();
      const char *what = op();
      mr_.never_fail();
      // Every write is checked while the array is small; past that, every
      // 8th (the whole check is O(n log n) and validate() is not cheap).
      if (wrote_ && (m_.ranges.size() <= 128 || ++writes_ % 8 == 0)) check_all(what);
    }
    check_all("the last operation");
  }

  /// After the array is gone, every node it allocated is freed or waits
  /// for its grace period: the resource holds no more blocks than the RCU
  /// layer has pending (only this array defers frees in this process). A
  /// barrier per input would cost a grace period (~10 ms with liburcu), so
  /// the exact check (barrier, then nothing left) runs every 64 inputs.
  static void check_no_leak(const maple::failing_resource &mr, bool exact) {
    std::size_t pending = maple::rcu::stats().pending;  // read first: it only falls
    std::size_t held = mr.outstanding();
    FUZZ_CHECK(held <= pending, "the destroyed array left " + std::to_string(held) +
                                    " nodes allocated, only " + std::to_string(pending) +
                                    " wait for a grace period");
    if (!exact) return;
    maple::rcu::barrier();
    FUZZ_CHECK(mr.outstanding() == 0, "after an RCU barrier " + std::to_string(mr.outstanding()) +
                                          " nodes are still allocated");
  }

 private:
  bool alloc_array() const { return xa_.is_alloc(); }
  /// Marks a caller may use (mark0 of an allocating array tracks free slots).
  bool usable_mark(unsigned m) const { return !(alloc_array() && m == 0); }

  // ---- decoding --------------------------------------------------------

  /// An index: small (collisions), near a multi-index boundary, near the
  /// top, next to a stored range's bounds, powers of two, anything.
  std::uint64_t index() {
    std::uint8_t b = in_.byte();
    switch (b & 7) {
      case 0:
      case 1: return in_.varint() % 4096;
      case 2: return b >> 3;  // 0..31
      case 3: return kMax - in_.varint() % 256;
      case 4: {
        if (m_.ranges.empty()) return in_.varint() % 4096;
        auto it = m_.ranges.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(in_.varint() % m_.ranges.size()));
        switch ((b >> 3) & 3) {
          case 0: return it->first;
          case 1: return it->second.last;
          case 2: return it->first - 1;         // wraps at 0: the top
          default: return it->second.last + 1;  // wraps at the top: 0
        }
      }
      case 5: {  // 2^k, or 2^k - 1, k = 0..63
        std::uint64_t p = std::uint64_t{1} << ((b >> 3) & 63);
        return in_.byte() & 1 ? p - 1 : p;
      }
      case 6: return (std::uint64_t{1} << 40) + in_.varint() % (1 << 14);  // a far cluster
      default: return in_.u64();
    }
  }

  /// An order: mostly 0, then 1..12, rarely 13..64 and once in a while an
  /// invalid one (> 64).
  unsigned order() {
    std::uint8_t b = in_.byte();
    if (b < 128) return 0;
    if (b < 224) return b % 12 + 1;
    if (b < 254) return in_.byte() % 52 + 13;
    return b == 254 ? 64 : 65;
  }

  void *entry() { return decode_entry(in_); }

  // ---- the model's answers -----------------------------------------------

  /// What a search from `from` (<= max) finds: the entry holding `from`
  /// (reported at `from`, or at its first index for a marked search from a
  /// sibling slot), then
  /// every entry starting in (from, max]; reserved indices skipped; with
  /// mark >= 0 only entries carrying it. `after`: find_after's rules (only
  /// entries starting in (from, max]).
  std::vector<item> expect_search(std::uint64_t from, std::uint64_t max, int mark, bool after,
                                  std::size_t limit) {
    std::vector<item> out;
    if (after ? from >= max : from > max) return out;
    auto ok = [&](const xa_model::range &r) {
      return !maple::xa_is_zero(r.entry) && (mark < 0 || ((r.marks >> mark) & 1));
    };
    auto it = m_.ranges.upper_bound(from);
    if (!after) {
      auto h = m_.holding(from);
      if (h != m_.ranges.end() && ok(h->second)) {
        // A marked search moves to the entry's first index only from one of
        // its sibling slots (the kernel's xas_find_marked), not from inside
        // its first slot (which covers 2^shift indices).
        unsigned o = xa_model::order_of(h->first, h->second), sh = o >= 60 ? 60 : o - o % 6;
        bool first_slot = (from >> sh) == (h->first >> sh);
        out.emplace_back(mark < 0 || first_slot ? from : h->first, h->second.entry);
      }
    }
    for (; it != m_.ranges.end() && it->first <= max && out.size() < limit; ++it)
      if (ok(it->second)) out.emplace_back(it->first, it->second.entry);
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  /// The lowest free index of [min, max] (alloc1: never 0), if any.
  bool model_find_free(std::uint64_t min, std::uint64_t max, std::uint64_t &id) {
    if (flags_ == maple::xa_flags::alloc1 && min == 0) min = 1;
    if (min > max) return false;
    std::uint64_t cand = min;
    for (;;) {
      auto h = m_.holding(cand);
      if (h == m_.ranges.end()) {
        id = cand;
        return true;
      }
      if (h->second.last >= max) return false;
      cand = h->second.last + 1;
    }
  }

  // ---- checks -------------------------------------------------------------

  void check_all(const char *after) {
    const std::string where = std::string("after ") + after;
    maple::check_report rep = xa_.validate();
    FUZZ_CHECK(rep.ok, where + ": validate(): " + rep.message);
    std::vector<xa_row> got = maple_test::xa_snapshot(xa_), want = m_.snapshot();
    for (std::size_t i = 0; i < got.size() || i < want.size(); ++i) {
      FUZZ_CHECK(i < got.size(), where + ": the array ends after " + std::to_string(i) +
                                     " entries; the model has " + row_str(want[i]));
      FUZZ_CHECK(i < want.size(), where + ": the array has an extra entry " + row_str(got[i]));
      FUZZ_CHECK(got[i] == want[i], where + ": entry #" + std::to_string(i) + ": array " +
                                        row_str(got[i]) + ", model " + row_str(want[i]));
    }
    FUZZ_CHECK(xa_.empty() == m_.ranges.empty(), where + ": empty() disagrees");
    for (unsigned m = 0; m < maple::xa_max_marks; ++m) {
      bool any = false;
      for (auto &[f, r] : m_.ranges) any = any || ((r.marks >> m) & 1);
      FUZZ_CHECK(xa_.marked(mark_of(m)) == (any && usable_mark(m)),
                 where + ": marked(mark" + std::to_string(m) + ") disagrees");
      if (!usable_mark(m)) continue;
      std::vector<item> g;
      for (auto [i, e] : xa_.marked_entries(mark_of(m))) {
        g.emplace_back(i, e);
        FUZZ_CHECK(g.size() <= m_.ranges.size(), where + ": marked iteration runs on");
      }
      std::vector<item> w = expect_search(0, kMax, static_cast<int>(m), false, ~std::size_t{0});
      FUZZ_CHECK(g == w, where + ": marked_entries(mark" + std::to_string(m) +
                             "): " + items_str(g) + ", model " + items_str(w));
    }
  }

  /// A write's error: no_memory only if an allocation failed (the array
  /// must then be unchanged: compare with `before`).
  bool failed_for_memory(std::error_code ec) const {
    return ec == maple::errc::no_memory && mr_.failures() != failures_before_;
  }

  // ---- operations -----------------------------------------------------------

  const char *op() {
    std::uint8_t b = in_.byte();
    switch (b % 21) {
      case 0:
      case 1: return op_store(false);
      case 2:
      case 3: return op_store(true);
      case 4: return op_erase();
      case 5: return op_insert();
      case 6: return op_cmpxchg();
      case 7: return op_reserve();
      case 8:
      case 9: return op_mark();
      case 10: return op_reads();
      case 11: return op_find();
      case 12: return op_extract_iterate();
      case 13: return op_alloc();
      case 14: return op_state_walk();
      case 15: return op_state_step();
      case 16: return op_split();
      case 17: return op_state_store();
      case 18: return op_fail();
      case 19: return (b & 0x80) ? op_destroy() : op_store(true);
      default: return op_reads();
    }
  }

  /// store() / store_order(): nullptr erases (allocating arrays: reserves).
  const char *op_store(bool multi) {
    wrote_ = true;
    std::uint64_t i = index();
    unsigned o = multi ? order() : 0;
    void *e = entry();
    if (m_.ranges.size() >= kMaxRanges) e = nullptr;
    trace("xa.store_order(%s, %u, %s, &old);", hex(i).c_str(), o, src(e).c_str());
    void *old = reinterpret_cast<void *>(std::uintptr_t{1});  // not written on error
    std::error_code ec = multi ? xa_.store_order(i, o, e, &old) : xa_.store(i, e, &old);
    if (maple::xa_is_internal(e) || o > 64) {
      FUZZ_CHECK(ec == maple::errc::invalid_argument,
                 "store of " + src(e) + " order " + std::to_string(o) + ": '" + str(ec) + "'");
      return "a refused store";
    }
    if (failed_for_memory(ec)) return "a failed store";
    FUZZ_CHECK(!ec, "store_order(" + hex(i) + ", " + std::to_string(o) + "): " + str(ec));
    if (!e && alloc_array()) e = maple::xa_zero_entry();
    void *want = xa_model::visible(m_.store(i, o, e));
    FUZZ_CHECK(old == want, "store_order(" + hex(i) + ", " + std::to_string(o) + ") old " +
                                src(old) + ", model " + src(want));
    return "store";
  }

  const char *op_erase() {
    wrote_ = true;
    std::uint64_t i = index();
    trace("xa.erase(%s);", hex(i).c_str());
    void *got = xa_.erase(i);
    void *want = xa_model::visible(m_.store(i, 0, nullptr));
    FUZZ_CHECK(got == want, "erase(" + hex(i) + ") = " + src(got) + ", model " + src(want));
    return "erase";
  }

  const char *op_insert() {
    wrote_ = true;
    std::uint64_t i = index();
    unsigned o = in_.byte() & 1 ? order() : 0;
    void *e = entry();
    trace("xa.insert(%s, %s, %u);", hex(i).c_str(), src(e).c_str(), o);
    std::error_code ec = xa_.insert(i, e, o);
    if (maple::xa_is_internal(e) || o > 64) {
      FUZZ_CHECK(ec == maple::errc::invalid_argument, "insert of " + src(e) + ": " + str(ec));
      return "a refused insert";
    }
    if (failed_for_memory(ec)) return "a failed insert";
    bool busy = m_.occupied(i, o);
    FUZZ_CHECK(same(ec, busy ? std::error_code(maple::errc::busy) : std::error_code()),
               "insert(" + hex(i) + ", order " + std::to_string(o) + "): '" + str(ec) +
                   "', model " + (busy ? "busy" : "free"));
    if (!busy) m_.store(i, o, e ? e : maple::xa_zero_entry());
    return "insert";
  }

  const char *op_cmpxchg() {
    wrote_ = true;
    std::uint64_t i = index();
    void *cur_model = m_.raw(i);
    std::uint8_t b = in_.byte();
    void *expected = (b & 3) == 0 ? xa_model::visible(cur_model) : (b & 3) == 1 ? nullptr : entry();
    void *desired = entry();
    trace("xa.cmpxchg(%s, %s, %s, &cur);", hex(i).c_str(), src(expected).c_str(),
          src(desired).c_str());
    void *cur = reinterpret_cast<void *>(std::uintptr_t{1});
    std::error_code ec = xa_.cmpxchg(i, expected, desired, &cur);
    if (maple::xa_is_internal(expected) || maple::xa_is_internal(desired)) {
      FUZZ_CHECK(ec == maple::errc::invalid_argument, "cmpxchg of an internal word: " + str(ec));
      return "a refused cmpxchg";
    }
    if (failed_for_memory(ec)) return "a failed cmpxchg";
    FUZZ_CHECK(!ec, "cmpxchg(" + hex(i) + "): " + str(ec));
    FUZZ_CHECK(cur == xa_model::visible(cur_model),
               "cmpxchg(" + hex(i) + ") found " + src(cur) + ", model " + src(cur_model));
    if (!desired && alloc_array()) desired = maple::xa_zero_entry();
    bool match = cur_model == expected || (!expected && maple::xa_is_zero(cur_model));
    if (match && cur_model != desired) m_.store(i, 0, desired);
    return "cmpxchg";
  }

  const char *op_reserve() {
    wrote_ = true;
    std::uint64_t i = index();
    if (in_.byte() & 1) {
      trace("xa.release(%s);", hex(i).c_str());
      xa_.release(i);
      if (maple::xa_is_zero(m_.raw(i))) m_.store(i, 0, nullptr);
      return "release";
    }
    trace("xa.reserve(%s);", hex(i).c_str());
    std::error_code ec = xa_.reserve(i);
    if (failed_for_memory(ec)) return "a failed reserve";
    FUZZ_CHECK(!ec, "reserve(" + hex(i) + "): " + str(ec));
    if (!m_.raw(i)) m_.store(i, 0, maple::xa_zero_entry());
    return "reserve";
  }

  const char *op_mark() {
    wrote_ = true;
    std::uint64_t i = index();
    std::uint8_t b = in_.byte();
    unsigned m = b % 3;
    if (b & 4) {
      trace("xa.clear_mark(%s, mark%u);", hex(i).c_str(), m);
      xa_.clear_mark(i, mark_of(m));
      if (usable_mark(m)) m_.set_mark(i, m, false);
      return "clear_mark";
    }
    trace("xa.set_mark(%s, mark%u);", hex(i).c_str(), m);
    std::error_code ec = xa_.set_mark(i, mark_of(m));
    FUZZ_CHECK(same(ec, usable_mark(m) ? std::error_code() : maple::errc::invalid_argument),
               "set_mark(" + hex(i) + ", mark" + std::to_string(m) + "): " + str(ec));
    if (usable_mark(m)) m_.set_mark(i, m, true);
    return "set_mark";
  }

  const char *op_reads() {
    unsigned n = in_.byte() % 8 + 1;
    for (unsigned k = 0; k < n; ++k) {
      std::uint64_t i = index();
      void *got = xa_.load(i), *want = m_.load(i);
      FUZZ_CHECK(got == want, "load(" + hex(i) + ") = " + src(got) + ", model " + src(want));
      unsigned o = xa_.get_order(i), wo = m_.raw(i) ? m_.get_order(i) : 0;
      FUZZ_CHECK(o == wo, "get_order(" + hex(i) + ") = " + std::to_string(o) + ", model " +
                              std::to_string(wo));
      for (unsigned m = 0; m < maple::xa_max_marks; ++m) {
        bool g = xa_.get_mark(i, mark_of(m)), w = usable_mark(m) && m_.get_mark(i, m);
        FUZZ_CHECK(g == w, "get_mark(" + hex(i) + ", mark" + std::to_string(m) +
                               ") = " + std::to_string(g) + ", model " + std::to_string(w));
      }
    }
    return "reads";
  }

  /// A window [from, max]: max mostly >= from.
  void window(std::uint64_t &from, std::uint64_t &max) {
    std::uint8_t b = in_.byte();
    from = (b & 1) ? 0 : index();
    switch ((b >> 1) & 3) {
      case 0: max = kMax; break;
      case 1: max = sat_add(from, in_.varint()); break;
      case 2: max = index(); break;  // may be < from
      default: max = from; break;
    }
  }

  /// -1 (no mark) or a mark a caller may search for.
  int search_mark() {
    std::uint8_t b = in_.byte();
    if (b & 1) return -1;
    unsigned m = (b >> 1) % 3;
    return usable_mark(m) ? static_cast<int>(m) : -1;
  }

  const char *op_find() {
    std::uint64_t from, max;
    window(from, max);
    int mark = search_mark();
    bool after = in_.byte() & 1;
    std::uint64_t i = from;
    void *got;
    if (mark < 0)
      got = after ? xa_.find_after(i, max) : xa_.find(i, max);
    else
      got = after ? xa_.find_after(i, max, mark_of(static_cast<unsigned>(mark)))
                  : xa_.find(i, max, mark_of(static_cast<unsigned>(mark)));
    std::vector<item> w = expect_search(from, max, mark, after, 1);
    const std::string call = std::string(after ? "find_after(" : "find(") + hex(from) + ", " +
                             hex(max) + ", mark " + std::to_string(mark) + ")";
    trace("// %s -> %s at %s", call.c_str(), src(got).c_str(), hex(i).c_str());
    if (w.empty()) {
      FUZZ_CHECK(got == nullptr && i == from,
                 call + " = " + src(got) + " at " + hex(i) + ", model: none");
    } else {
      FUZZ_CHECK(got == w[0].second && i == w[0].first,
                 call + " = " + src(got) + " at " + hex(i) + ", model " + items_str(w));
    }
    return "find";
  }

  const char *op_extract_iterate() {
    std::uint64_t from, max;
    window(from, max);
    int mark = search_mark();
    std::uint8_t b = in_.byte();
    std::vector<item> got;
    if (b & 1) {
      std::size_t n = b >> 1;  // 0..127
      std::vector<void *> dst(n, nullptr);
      std::size_t k = mark < 0 ? xa_.extract(dst, from, max)
                               : xa_.extract(dst, from, max, mark_of(static_cast<unsigned>(mark)));
      std::vector<item> w = expect_search(from, max, mark, false, n);
      FUZZ_CHECK(k == w.size(), "extract(" + std::to_string(n) + ", " + hex(from) + ", " +
                                    hex(max) + ", mark " + std::to_string(mark) +
                                    ") = " + std::to_string(k) + ", model " + items_str(w));
      for (std::size_t j = 0; j < k; ++j)
        FUZZ_CHECK(dst[j] == w[j].second, "extract #" + std::to_string(j) + ": " + src(dst[j]) +
                                              ", model " + items_str(w));
      return "extract";
    }
    auto r = mark < 0 ? xa_.entries(from, max)
                      : xa_.marked_entries(mark_of(static_cast<unsigned>(mark)), from, max);
    for (auto [i, e] : r) {
      got.emplace_back(i, e);
      FUZZ_CHECK(got.size() <= m_.ranges.size(), "iteration runs on");
    }
    std::vector<item> w = expect_search(from, max, mark, false, ~std::size_t{0});
    FUZZ_CHECK(got == w, "iteration over [" + hex(from) + ", " + hex(max) + "] mark " +
                             std::to_string(mark) + ": " + items_str(got) + ", model " +
                             items_str(w));
    return "iterate";
  }

  const char *op_alloc() {
    wrote_ = true;
    std::uint8_t b = in_.byte();
    maple::xa_limit lim;
    switch ((b >> 1) & 3) {
      case 0: lim = maple::xa_limit_32b; break;
      case 1:
        lim.min = index();
        lim.max = sat_add(lim.min, in_.varint() % 64);
        break;
      case 2: lim = {index(), index()}; break;  // may be empty
      default: lim = {0, kMax}; break;
    }
    void *e = (b & 8) ? nullptr : entry();
    if (m_.ranges.size() >= kMaxRanges) lim = {1, 0};  // busy
    std::uint64_t id = 12345;
    if (b & 1) {  // alloc_cyclic
      if (b & 16) next_ = index();
      std::uint64_t next = next_;
      bool wrapped = false;
      trace("xa.alloc_cyclic(%s, {%s, %s}, next = %s, id, &wrapped);", src(e).c_str(),
            hex(lim.min).c_str(), hex(lim.max).c_str(), hex(next).c_str());
      std::error_code ec = xa_.alloc_cyclic(e, lim, next, id, &wrapped);
      // The model: from next, else from the bottom of the limit.
      std::error_code want;
      std::uint64_t wid = 0;
      bool wrap = false;
      if (!alloc_array() || maple::xa_is_internal(e)) {
        want = maple::errc::invalid_argument;
      } else {
        maple::xa_limit first = lim;
        if (next_ > first.min) first.min = next_;
        bool found = model_find_free(first.min, first.max, wid);
        if (!found && first.min > lim.min) {
          found = model_find_free(lim.min, lim.max, wid);
          wrap = true;
        }
        if (!found) want = maple::errc::busy;
      }
      if (failed_for_memory(ec)) {
        FUZZ_CHECK(next == next_, "a failed alloc_cyclic moved next");
        return "a failed alloc_cyclic";
      }
      FUZZ_CHECK(same(ec, want), "alloc_cyclic: '" + str(ec) + "', model '" + str(want) + "'");
      if (ec) {
        FUZZ_CHECK(next == next_, "a refused alloc_cyclic moved next");
        return "a refused alloc_cyclic";
      }
      if (cyclic_wrapped_) wrap = true, cyclic_wrapped_ = false;
      FUZZ_CHECK(id == wid && wrapped == wrap && next == wid + 1,
                 "alloc_cyclic: id " + hex(id) + " wrapped " + std::to_string(wrapped) + " next " +
                     hex(next) + "; model id " + hex(wid) + " wrapped " + std::to_string(wrap));
      next_ = wid + 1;
      if (next_ == 0) cyclic_wrapped_ = true;
      m_.store(wid, 0, e ? e : maple::xa_zero_entry());
      return "alloc_cyclic";
    }
    trace("xa.alloc(%s, {%s, %s}, id);", src(e).c_str(), hex(lim.min).c_str(),
          hex(lim.max).c_str());
    std::error_code ec = xa_.alloc(e, lim, id);
    std::error_code want;
    std::uint64_t wid = 0;
    if (!alloc_array() || maple::xa_is_internal(e))
      want = maple::errc::invalid_argument;
    else if (!model_find_free(lim.min, lim.max, wid))
      want = maple::errc::busy;
    if (failed_for_memory(ec)) return "a failed alloc";
    FUZZ_CHECK(same(ec, want), "alloc in [" + hex(lim.min) + ", " + hex(lim.max) + "]: '" +
                                   str(ec) + "', model '" + str(want) + "'");
    if (ec) return "a refused alloc";
    FUZZ_CHECK(id == wid, "alloc: id " + hex(id) + ", model " + hex(wid));
    m_.store(wid, 0, e ? e : maple::xa_zero_entry());
    return "alloc";
  }

  /// An xa_state search loop in a read section: find / find_marked up to
  /// max, pause() between some steps; reserved entries skipped by retry().
  const char *op_state_walk() {
    std::uint64_t from, max;
    window(from, max);
    int mark = search_mark();
    std::uint64_t pauses = in_.varint();
    std::vector<item> got;
    {
      maple::rcu::read_guard g;
      maple::xa_state xas(xa_, from);
      for (unsigned k = 0; got.size() <= m_.ranges.size(); ++k) {
        void *e =
            mark < 0 ? xas.find(max) : xas.find_marked(max, mark_of(static_cast<unsigned>(mark)));
        if (!e) break;
        if (xas.retry(e)) continue;
        got.emplace_back(xas.index(), e);
        if ((pauses >> (k % 64)) & 1) xas.pause();
      }
    }
    std::vector<item> w = expect_search(from, max, mark, false, ~std::size_t{0});
    trace("// xa_state walk over [%s, %s], mark %d: %zu entries", hex(from).c_str(),
          hex(max).c_str(), mark, got.size());
    FUZZ_CHECK(got == w, "xa_state walk over [" + hex(from) + ", " + hex(max) + "] mark " +
                             std::to_string(mark) + ": " + items_str(got) + ", model " +
                             items_str(w));
    return "xa_state walk";
  }

  /// xa_state next() / prev() from an index: the index moves by one
  /// (wrapping), and each word is the entry there (raw: reserved entries as
  /// the zero word), or a sibling word inside a multi-index entry.
  const char *op_state_step() {
    std::uint64_t i = index();
    std::uint8_t b = in_.byte();
    std::uint64_t dirs = in_.varint();
    unsigned n = b % 64 + 1;
    trace("// xa_state at %s: %u steps, directions %s", hex(i).c_str(), n, hex(dirs).c_str());
    std::lock_guard g(xa_);
    maple::xa_state xas(xa_, i);
    for (unsigned k = 0; k < n; ++k) {
      bool fwd = (dirs >> (k % 64)) & 1;
      void *w = fwd ? xas.next() : xas.prev();
      if (k > 0) i = fwd ? i + 1 : i - 1;  // the first call loads the index
      FUZZ_CHECK(xas.index() == i, "xa_state " + std::string(fwd ? "next" : "prev") + " step " +
                                       std::to_string(k) + ": index " + hex(xas.index()) +
                                       ", expected " + hex(i));
      void *r = m_.raw(i);
      if (maple::xa_is_sibling(w)) {
        auto h = m_.holding(i);
        FUZZ_CHECK(h != m_.ranges.end() && h->first != i &&
                       xa_model::order_of(h->first, h->second) % 6 != 0,
                   "xa_state step to " + hex(i) + ": a sibling word where the model has " + src(r));
      } else {
        FUZZ_CHECK(w == r, "xa_state " + std::string(fwd ? "next" : "prev") + " to " + hex(i) +
                               " = " + src(w) + ", model " + src(r));
      }
    }
    return "xa_state steps";
  }

  /// split(): the entry of order `old` holding index into entries of a
  /// smaller order, each `e`, keeping the marks.
  const char *op_split() {
    wrote_ = true;
    std::uint64_t i = index();
    std::uint8_t b = in_.byte();
    unsigned old_order = xa_.get_order(i);
    if (b & 1) old_order = order() % 65;  // maybe not the entry's order
    if (old_order == 0) return "no split";
    unsigned lo = old_order > 12 ? old_order - 12 : 0;
    unsigned new_order = lo + (b >> 1) % (old_order - lo);
    const unsigned old_shift = old_order - old_order % 6;
    if (old_shift >= 18 && (b & 0x80)) new_order = old_shift - 18;  // three levels: refused
    if (in_.byte() == 0xff) new_order = old_order;                  // not smaller: refused
    const bool levels_ok = new_order < old_order && old_shift - (new_order - new_order % 6) <= 12;
    void *e = maple::make_value_entry(in_.byte());
    std::size_t pieces = std::size_t{1} << (old_order - std::min(old_order, new_order));
    if (levels_ok && (pieces > kMaxSplit || m_.ranges.size() + pieces > kMaxRanges + kMaxSplit))
      return "no split";
    trace("{ maple::xa_state xas(xa, %s, %u); xas.split_alloc(%s, %u); xas.split(%s, %u); }",
          hex(i).c_str(), new_order, src(e).c_str(), old_order, src(e).c_str(), old_order);
    maple::xa_state xas(xa_, i, new_order);
    xas.split_alloc(e, old_order);
    if (xas.error() == maple::errc::invalid_argument) {
      FUZZ_CHECK(!levels_ok, "split_alloc refused a supported split " + std::to_string(old_order) +
                                 " -> " + std::to_string(new_order));
      xas.set_order(i, new_order);  // split() must refuse it too
    }
    if (xas.error() == maple::errc::no_memory) {
      FUZZ_CHECK(mr_.failures() != failures_before_, "split_alloc: no_memory without a failure");
      return "a failed split_alloc";
    }
    {
      std::lock_guard g(xa_);
      xas.split(e, old_order);
    }
    std::error_code ec = xas.error();
    if (failed_for_memory(ec)) return "a failed split";
    xa_model trial = m_;
    bool model_ok = levels_ok && trial.split(i, old_order, new_order, e);
    FUZZ_CHECK(same(ec, model_ok ? std::error_code() : maple::errc::invalid_argument),
               "split " + std::to_string(old_order) + " -> " + std::to_string(new_order) + " at " +
                   hex(i) + ": '" + str(ec) + "', model " + (model_ok ? "ok" : "refused"));
    if (model_ok) m_ = std::move(trial);
    return "split";
  }

  /// An xa_state store of any order with the nomem() retry loop (the
  /// first attempt may be made to fail), then marks through the state.
  const char *op_state_store() {
    wrote_ = true;
    std::uint64_t i = index();
    unsigned o = order() % 65;
    std::uint8_t b = in_.byte();
    void *e = entry();
    if (maple::xa_is_internal(e) || m_.ranges.size() >= kMaxRanges) e = nullptr;
    if (b & 1) mr_.fail_nth(in_.byte() % 4 + 1);
    trace(
        "{ maple::xa_state xas(xa, %s, %u); do { std::lock_guard g(xa); xas.store(%s); } "
        "while (xas.nomem()); }",
        hex(i).c_str(), o, src(e).c_str());
    maple::xa_state xas(xa_, i, o);
    void *old;
    unsigned tries = 0;
    do {
      std::lock_guard g(xa_);
      old = xas.store(e);
      FUZZ_CHECK(++tries <= 3, "xa_state store: nomem() keeps asking for a retry");
    } while (xas.nomem());
    mr_.never_fail();
    FUZZ_CHECK(!xas.error(), "xa_state store: " + str(xas.error()));
    void *want = m_.store(i, o, e);
    if (!maple::xa_is_internal(old) || maple::xa_is_zero(old))
      FUZZ_CHECK(old == want, "xa_state store at " + hex(i) + " order " + std::to_string(o) +
                                  " returned " + src(old) + ", model " + src(want));
    if (e && (b & 2)) {
      unsigned m = (b >> 2) % 3;
      bool on = b & 0x20;
      if (usable_mark(m)) {
        std::lock_guard g(xa_);
        if (on)
          xas.set_mark(mark_of(m));
        else
          xas.clear_mark(mark_of(m));
        m_.set_mark(xas.index(), m, on);
        FUZZ_CHECK(xas.get_mark(mark_of(m)) == on, "xa_state get_mark after set/clear");
      } else if (!alloc_array() && (b & 0x40)) {
        std::lock_guard g(xa_);
        xas.init_marks();
        for (unsigned k = 0; k < maple::xa_max_marks; ++k) m_.set_mark(xas.index(), k, false);
      }
    }
    return "xa_state store";
  }

  /// The next write's k-th allocation fails (once, or from then on): on
  /// no_memory the array is exactly as it was.
  const char *op_fail() {
    std::uint8_t b = in_.byte();
    unsigned k = (b >> 1) % 12 + 1;
    if (b & 1)
      mr_.fail_after(k - 1);
    else
      mr_.fail_nth(k);
    trace("// the next write's allocation #%u%s fails", k, (b & 1) ? " and later ones" : "");
    std::vector<xa_row> before = maple_test::xa_snapshot(xa_);
    maple::xa_stats st = xa_.stats();
    const char *what;
    switch (in_.byte() % 7) {
      case 0: what = op_store(false); break;
      case 1: what = op_insert(); break;
      case 2: what = op_reserve(); break;
      case 3: what = op_cmpxchg(); break;
      case 4: what = op_alloc(); break;
      case 5: what = op_split(); break;
      default: what = op_store(true); break;
    }
    mr_.never_fail();
    if (mr_.failures() != failures_before_ && std::string(what).rfind("a failed", 0) == 0) {
      FUZZ_CHECK(maple_test::xa_snapshot(xa_) == before, std::string(what) + " changed the array");
      maple::xa_stats now = xa_.stats();
      FUZZ_CHECK(now.nodes == st.nodes && now.height == st.height && now.entries == st.entries,
                 std::string(what) + " changed the shape: nodes " + std::to_string(st.nodes) +
                     " -> " + std::to_string(now.nodes) + ", height " + std::to_string(st.height) +
                     " -> " + std::to_string(now.height));
    }
    return what;
  }

  const char *op_destroy() {
    wrote_ = true;
    trace("xa.clear();");
    xa_.clear();
    m_.ranges.clear();
    return "destroy";
  }

  input in_;
  maple::xa_flags flags_;
  maple::failing_resource &mr_;
  xarray xa_;
  xa_model m_;
  std::uint64_t next_ = 0;       // alloc_cyclic's next, kept between calls
  bool cyclic_wrapped_ = false;  // the model of the array's own flag
  std::size_t failures_before_ = 0;
  std::size_t writes_ = 0;  // writes since the array grew past 128 ranges
  bool wrote_ = false;
};

}  // namespace
}  // namespace maple_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  using namespace maple_fuzz;
  g_engine_name = "xarray";
  // One resource for the whole process, never destroyed: deferred frees of
  // an input's nodes may run during the next input.
  static auto *mr = new maple::failing_resource;
  static std::size_t runs = 0;
  mr->never_fail();
  xa_fuzzer(data, size, *mr).run();
  xa_fuzzer::check_no_leak(*mr, ++runs % 64 == 0);
  return 0;
}
