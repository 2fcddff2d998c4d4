// fuzz/fuzz_gap.cpp - libFuzzer target for the free-range API: empty_area /
// empty_area_rev (tree and cursor), alloc_range / alloc_rrange and
// alloc_cyclic, interleaved with stores, erases and fills that shape the
// gaps, on maple::raw_tree (16 slots) and basic_raw_tree<4>.
//
// Every answer is checked against the brute-force oracle of the test suite
// (tests/support/gap_model.h: the model's maximal empty ranges, clipped to the
// window), which shares no code with the engine; every allocation must store
// exactly the window the oracle names; a failed allocation (injected
// no_memory, busy, invalid arguments) must leave the tree and alloc_cyclic's
// state unchanged. After every write the tree is validated and compared with
// the reference model.
//
// MAPLE_FUZZ_TRACE=1 prints each operation as a C++ statement.
#include "fuzz_common.h"
#include "gap_model.h"

#include <maple/cursor.h>
#include <maple/raw_tree.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace maple_fuzz {
namespace {

using maple_test::brute_empty_area;
using maple_test::cyclic_model;
using maple_test::gap_answer;

/// Trees stop growing here (the checks after every write are O(n)).
constexpr std::size_t kMaxRanges = 500;

inline std::string answer(const gap_answer &a) { return maple_test::describe(a); }

template <class Tree>
class gap_fuzzer {
 public:
  gap_fuzzer(const std::uint8_t *data, std::size_t size) : in_(data, size) {}

  void run() {
    run_ops(t_, m_, mr_, in_, wrote_, [this] { return op(); });
  }

 private:
  std::uint64_t index() { return decode_index(in_, m_); }

  const char *op() {
    std::uint8_t b = in_.byte();
    switch (b % 16) {
      case 0:
      case 1: return op_store(false);
      case 2: return op_store(true);
      case 3: return op_erase();
      case 4: return op_fill();
      case 5:
      case 6: return op_search(false);
      case 7: return op_search(true);
      case 8: return op_alloc(false);
      case 9: return op_alloc(true);
      case 10: return op_cyclic();
      case 11: return op_cursor_search();
      case 12: return op_fail();
      case 13: return op_clear();
      case 14: return op_alloc(b & 0x10);
      default: return op_search(b & 0x10);
    }
  }

  /// A search window: the whole index space, or decoded bounds (max < min
  /// now and then: invalid).
  void window(std::uint64_t &min, std::uint64_t &max) {
    std::uint8_t b = in_.byte();
    switch (b & 3) {
      case 0: min = 0, max = kMax; break;
      case 1: min = index(), max = kMax; break;
      case 2: min = index(), max = sat_add(min, in_.varint()); break;
      default: min = index(), max = index(); break;
    }
  }

  /// A size for window [min, max]: small, medium, exactly the window, one
  /// more than the window, a power of two, huge, 0 or anything.
  std::uint64_t size_for(std::uint64_t min, std::uint64_t max) {
    std::uint8_t b = in_.byte();
    switch (b & 7) {
      case 0:
      case 1: return (b >> 3) + 1;
      case 2: return in_.varint() % 4096 + 1;
      case 3: return max - min + 1;  // 0 for [0, max]: invalid
      case 4: return max - min + 2;
      case 5: return std::uint64_t{1} << ((b >> 3) % 64);
      case 6: return kMax - (b >> 3);
      default: return (b >> 3) == 0 ? 0 : in_.u64();
    }
  }

  static bool entry_invalid(void *e) { return e == nullptr || maple::is_reserved_entry(e); }

  /// Whether the write just made ran into an injected allocation failure.
  auto injected() {
    return [this] { return mr_.armed(); };
  }

  const char *op_store(bool erase) {
    wrote_ = true;
    return checked_store(t_, m_, in_, erase, kMaxRanges, injected()) ? "store"
                                                                     : "store (no memory)";
  }

  const char *op_erase() {
    wrote_ = true;
    return checked_erase(t_, m_, in_, injected()) ? "erase" : "erase (no memory)";
  }

  /// Deep trees with regular gaps (width < stride) or none; page-like
  /// spacing (scaled 64 and 16) when the shape byte's top bit is set;
  /// entries val(k).
  const char *op_fill() {
    wrote_ = true;
    store_fill(t_, m_, decode_fill(in_, m_, false, 64, 16, kMaxRanges));
    return "fill";
  }

  const char *op_search(bool reverse) {
    std::uint64_t min, max;
    window(min, max);
    std::uint64_t size = size_for(min, max);
    gap_answer want = brute_empty_area(m_, min, max, size, reverse);
    trace("// %s(%s, %s, %s) -> %s", reverse ? "empty_area_rev" : "empty_area", hex(min).c_str(),
          hex(max).c_str(), hex(size).c_str(), answer(want).c_str());
    std::uint64_t s = 0x5a5a5a5a;
    std::error_code ec =
        reverse ? t_.empty_area_rev(min, max, size, s) : t_.empty_area(min, max, size, s);
    gap_answer got{ec, ec ? 0 : s};
    FUZZ_CHECK(got == want, std::string(reverse ? "empty_area_rev(" : "empty_area(") + hex(min) +
                                ", " + hex(max) + ", " + hex(size) + "): tree " + answer(got) +
                                ", oracle " + answer(want));
    if (ec) FUZZ_CHECK(s == 0x5a5a5a5a, "a failed search wrote its result");
    return reverse ? "empty_area_rev" : "empty_area";
  }

  /// alloc_range / alloc_rrange: the answer of the oracle, stored there.
  const char *op_alloc(bool reverse) {
    wrote_ = true;
    std::uint64_t min, max;
    window(min, max);
    std::uint64_t size = size_for(min, max);
    void *e = decode_entry(in_);            // nullptr, reserved: invalid_argument
    if (m_.size() >= kMaxRanges) size = 0;  // invalid: the tree stops growing
    gap_answer want =
        entry_invalid(e) ? maple_test::invalid() : brute_empty_area(m_, min, max, size, reverse);
    trace("// %s(%s, %s, %s, %s) -> %s", reverse ? "alloc_rrange" : "alloc_range", src(e).c_str(),
          hex(size).c_str(), hex(min).c_str(), hex(max).c_str(), answer(want).c_str());
    std::uint64_t s = 0x5a5a5a5a;
    std::error_code ec =
        reverse ? t_.alloc_rrange(e, size, min, max, s) : t_.alloc_range(e, size, min, max, s);
    if (ec == maple::errc::no_memory && mr_.armed()) {
      FUZZ_CHECK(!want.ec, "no_memory where the oracle says " + answer(want));
      return "alloc (no memory)";
    }
    gap_answer got{ec, ec ? 0 : s};
    FUZZ_CHECK(got == want, std::string(reverse ? "alloc_rrange(" : "alloc_range(") + hex(size) +
                                ", " + hex(min) + ", " + hex(max) + "): tree " + answer(got) +
                                ", oracle " + answer(want));
    if (!ec) m_.store(s, s + (size - 1), e);
    return reverse ? "alloc_rrange" : "alloc_range";
  }

  /// alloc_cyclic against the model of the oracle; next and the wrap flag
  /// persist across calls (and across clear()), as in the tree.
  const char *op_cyclic() {
    wrote_ = true;
    std::uint64_t min, max;
    std::uint8_t b = in_.byte();
    if (b & 1) {
      min = 0, max = kMax;
    } else {
      min = index();
      max = (b & 2) ? sat_add(min, in_.byte()) : index();
    }
    if (b & 4) next_ = index();                // the caller may set next anywhere
    void *e = decode_entry(in_);               // nullptr, reserved: invalid_argument
    if (m_.size() >= kMaxRanges) e = nullptr;  // invalid: the tree stops growing
    std::uint64_t want_next = next_;
    bool want_wrapped = false;
    cyclic_model want_model = cyclic_;
    gap_answer want = entry_invalid(e) ? maple_test::invalid()
                                       : want_model.alloc(m_, min, max, want_next, want_wrapped);
    trace("// alloc_cyclic(%s, %s, %s, next %s) -> %s%s", src(e).c_str(), hex(min).c_str(),
          hex(max).c_str(), hex(next_).c_str(), answer(want).c_str(),
          !want.ec && want_wrapped ? " (wrapped)" : "");
    std::uint64_t next = next_, s = 0x5a5a5a5a;
    bool wrapped = false;
    std::error_code ec = t_.alloc_cyclic(e, min, max, next, s, wrapped);
    if (ec == maple::errc::no_memory && mr_.armed()) {
      FUZZ_CHECK(!want.ec, "no_memory where the oracle says " + answer(want));
      FUZZ_CHECK(next == next_, "alloc_cyclic changed next on no_memory");
      return "alloc_cyclic (no memory)";
    }
    gap_answer got{ec, ec ? 0 : s};
    FUZZ_CHECK(got == want, "alloc_cyclic(" + hex(min) + ", " + hex(max) + ", next " + hex(next_) +
                                "): tree " + answer(got) + ", oracle " + answer(want));
    if (ec) {
      FUZZ_CHECK(next == next_, "a failed alloc_cyclic changed next");
      return "alloc_cyclic";
    }
    FUZZ_CHECK(next == want_next, "alloc_cyclic: next " + hex(next) + ", oracle " + hex(want_next));
    FUZZ_CHECK(wrapped == want_wrapped, std::string("alloc_cyclic: wrapped ") +
                                            (wrapped ? "true" : "false") + ", oracle " +
                                            (want_wrapped ? "true" : "false"));
    cyclic_ = want_model;
    next_ = next;
    m_.store(s, s, e);
    return "alloc_cyclic";
  }

  /// A cursor's empty_area / empty_area_rev: the window in state start,
  /// then a read continuing from it, or (write cursor) a store filling it.
  const char *op_cursor_search() {
    std::uint8_t b = in_.byte();
    bool reverse = b & 1, write = b & 2;
    std::uint64_t min, max;
    window(min, max);
    std::uint64_t size = size_for(min, max);
    gap_answer want = brute_empty_area(m_, min, max, size, reverse);
    std::uint64_t at = index();  // where the cursor stood before
    std::uint8_t then = in_.byte();
    void *e = decode_entry(in_);
    trace("// cursor at %s: %s(%s, %s, %s) -> %s", hex(at).c_str(),
          reverse ? "empty_area_rev" : "empty_area", hex(min).c_str(), hex(max).c_str(),
          hex(size).c_str(), answer(want).c_str());
    const std::string q = std::string(reverse ? "cursor empty_area_rev(" : "cursor empty_area(") +
                          hex(min) + ", " + hex(max) + ", " + hex(size) + ")";
    auto check_window = [&](const maple::basic_cursor<Tree::slots> &c, std::error_code ec) {
      gap_answer got{ec, ec ? 0 : c.index()};
      FUZZ_CHECK(got == want, q + ": cursor " + answer(got) + ", oracle " + answer(want));
      if (ec) {
        FUZZ_CHECK(c.state() == maple::cursor_state::error && c.error() == ec,
                   q + ": a failed search must leave the cursor in state error");
        return false;
      }
      FUZZ_CHECK(c.last() == c.index() + (size - 1) && c.state() == maple::cursor_state::start,
                 q + ": the cursor is at [" + hex(c.index()) + ", " + hex(c.last()) + "] " +
                     maple::to_string(c.state()));
      return true;
    };
    if (!write) {
      maple::basic_read_guard<Tree::slots> g(t_);
      auto c = g.cursor(at);
      if (then & 1) c.walk();  // start from another state
      std::error_code ec =
          reverse ? c.empty_area_rev(min, max, size) : c.empty_area(min, max, size);
      if (!check_window(c, ec)) return "cursor search";
      const std::uint64_t s = c.index();
      switch ((then >> 1) & 3) {
        case 0: {
          auto want_r = m_.find(s);
          void *got = c.find();
          FUZZ_CHECK(got == (want_r ? want_r->entry : nullptr), q + " then find()");
          break;
        }
        case 1: {
          auto want_r = m_.find_rev(s);
          void *got = c.find_rev();
          FUZZ_CHECK(got == (want_r ? want_r->entry : nullptr), q + " then find_rev()");
          break;
        }
        default: {
          void *got = c.walk();
          range_entry r = m_.lookup(s);
          FUZZ_CHECK(
              got == nullptr && c.index() == r.first && c.last() == r.last,
              q + " then walk(): [" + hex(c.index()) + ", " + hex(c.last()) + "], model " + str(r));
          break;
        }
      }
      return "cursor search";
    }
    // The kernel's mmap pattern: search, then store into the window with
    // the same cursor (the tree stops growing at kMaxRanges).
    wrote_ = true;
    if (m_.size() >= kMaxRanges) e = nullptr;
    maple::basic_write_guard<Tree::slots> g(t_);
    auto c = g.cursor(at);
    std::error_code ec = reverse ? c.empty_area_rev(min, max, size) : c.empty_area(min, max, size);
    if (!check_window(c, ec)) return "write cursor search";
    const std::uint64_t s = c.index(), l = c.last();
    trace("//   then store %s over [%s, %s]", src(e).c_str(), hex(s).c_str(), hex(l).c_str());
    std::error_code sec;
    if (then & 8) {
      sec = c.preallocate(e);
      if (!sec) c.store_prealloc(e);
    } else {
      sec = c.store(e);
    }
    std::error_code swant = store_expect(s, l, e);
    if (sec == maple::errc::no_memory && mr_.armed()) return "write cursor store (no memory)";
    FUZZ_CHECK(sec == swant, q + " then store: '" + str(sec) + "', expected '" + str(swant) + "'");
    if (!sec) m_.store(s, l, e);
    return "write cursor search and store";
  }

  /// The next allocating operation runs out of memory after `after` nodes.
  const char *op_fail() {
    unsigned after = in_.byte() % 8;
    trace("// the next write's allocation #%u and later ones fail", after + 1);
    mr_.arm(after);
    std::uint8_t b = in_.byte();
    switch (b % 5) {
      case 0: return op_alloc(false);
      case 1: return op_alloc(true);
      case 2: return op_cyclic();
      case 3: return op_cursor_search();
      default: return op_store(false);
    }
  }

  const char *op_clear() {
    wrote_ = true;
    clear_both(t_, m_);
    FUZZ_CHECK(mr_.live == 0, "clear() left nodes allocated");
    return "clear";
  }

  node_resource mr_;
  Tree t_{&mr_};
  reference_model m_;
  input in_;
  cyclic_model cyclic_;
  std::uint64_t next_ = 0;  // alloc_cyclic's next, kept by the caller
  bool wrote_ = false;
};

}  // namespace
}  // namespace maple_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  maple_fuzz::run_on_both_engines<maple_fuzz::gap_fuzzer>(data, size);
  return 0;
}
