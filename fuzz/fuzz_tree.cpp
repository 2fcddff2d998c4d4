// fuzz/fuzz_tree.cpp - libFuzzer target for the normal API of the engine
// (maple::raw_tree, 16 slots, and basic_raw_tree<4>, whose tiny nodes make
// deep trees, splits and rebalances out of little data).
//
// The input is a sequence of operations, each an op byte followed by its
// arguments (small varints, see fuzz_common.h). The whole sequence runs on
// both engines, each against its own reference model; after every operation
// the tree is validated and compared with the model by full iteration.
//
// Operations: store / insert / erase / erase_range / load / lookup / find /
// find_after / find_rev / forward and backward iteration over a window /
// a bidirectional iterator walk / fill (many stores at once, to grow deep
// trees fast) / bulk_load (into a fresh tree, or replacing the contents) /
// clear / injected allocation failures for the next write / stats and dumps.
//
// MAPLE_FUZZ_TRACE=1 prints each operation as a C++ statement.
#include "fuzz_common.h"

#include <maple/raw_tree.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

namespace maple_fuzz {
namespace {

/// Trees stop growing here, so that the checks after every operation (all
/// O(n)) keep the executions fast.
constexpr std::size_t kMaxRanges = 1500;

/// A stream that discards what it is given (dump() is exercised, not read).
class null_buffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char *, std::streamsize n) override { return n; }
};

template <class Tree>
class tree_fuzzer {
 public:
  tree_fuzzer(const std::uint8_t *data, std::size_t size) : in_(data, size) {}

  void run() {
    run_ops(t_, m_, mr_, in_, wrote_, [this] { return op(); });
  }

 private:
  std::uint64_t index() { return decode_index(in_, m_); }

  const char *op() {
    std::uint8_t b = in_.byte();
    switch (b % 20) {
      case 0:
      case 1: return op_store(false);
      case 2: return op_store(true);  // erase_range: store nullptr
      case 3: return op_insert();
      case 4: return op_erase();
      case 5: return op_load();
      case 6: return op_lookup();
      case 7: return op_find(search::find);
      case 8: return op_find(search::find_after);
      case 9: return op_find(search::find_rev);
      case 10: return op_iterate(false);
      case 11: return op_iterate(true);
      case 12: return op_iterator_walk();
      case 13: return op_fill();
      case 14: return op_bulk_load();
      case 15: return op_clear();
      case 16: return op_fail();
      case 17: return op_inspect();
      case 18: return op_store(false);
      default: return op_fill();
    }
  }

  /// Whether the write just made ran into an injected allocation failure.
  auto injected() {
    return [this] { return mr_.armed(); };
  }

  const char *op_store(bool erase) {
    wrote_ = true;
    checked_store(t_, m_, in_, erase, kMaxRanges, injected());
    return "store";
  }

  const char *op_insert() {
    wrote_ = true;
    checked_insert(t_, m_, in_, injected());
    return "insert";
  }

  const char *op_erase() {
    wrote_ = true;
    return checked_erase(t_, m_, in_, injected()) ? "erase" : "erase (no memory)";
  }

  const char *op_load() {
    std::uint64_t i = index();
    trace("EXPECT_EQ(t.load(%s), %s);", hex(i).c_str(), src(m_.load(i)).c_str());
    FUZZ_CHECK(t_.load(i) == m_.load(i),
               "load(" + hex(i) + ") = " + str(t_.load(i)) + ", model " + str(m_.load(i)));
    return "load";
  }

  const char *op_lookup() {
    std::uint64_t i = index();
    trace("EXPECT_EQ(t.lookup(%s), %s);", hex(i).c_str(), str(m_.lookup(i)).c_str());
    range_entry got = t_.lookup(i), want = m_.lookup(i);
    FUZZ_CHECK(got == want, "lookup(" + hex(i) + ") = " + str(got) + ", model " + str(want));
    return "lookup";
  }

  enum class search { find, find_after, find_rev };

  /// find / find_after up to a limit (the top of the index space or
  /// decoded), find_rev down to one (0 or decoded).
  const char *op_find(search k) {
    const bool rev = k == search::find_rev;
    std::uint64_t i = index(), limit = (in_.byte() & 1) ? (rev ? 0 : kMax) : index();
    const char *name = rev ? "find_rev" : k == search::find ? "find" : "find_after";
    auto ask = [&](const auto &x) {
      return rev                 ? x.find_rev(i, limit)
             : k == search::find ? x.find(i, limit)
                                 : x.find_after(i, limit);
    };
    std::optional<range_entry> want = ask(m_);
    trace("EXPECT_EQ(t.%s(%s, %s), %s);", name, hex(i).c_str(), hex(limit).c_str(),
          str(want).c_str());
    std::optional<range_entry> got = ask(t_);
    FUZZ_CHECK(got == want, std::string(name) + "(" + hex(i) + ", " + hex(limit) +
                                ") = " + str(got) + ", model " + str(want));
    return name;
  }

  void window(std::uint64_t &lo, std::uint64_t &hi) {
    std::uint8_t b = in_.byte();
    if (b & 1) {
      lo = 0, hi = kMax;
    } else {
      lo = index();
      hi = (b & 2) ? kMax : index();  // may be < lo: an empty window
    }
  }

  const char *op_iterate(bool backward) {
    std::uint64_t lo, hi;
    window(lo, hi);
    trace("// iterate %s over t.ranges(%s, %s)", backward ? "backward" : "forward", hex(lo).c_str(),
          hex(hi).c_str());
    std::vector<range_entry> want = m_.ranges(lo, hi);
    std::vector<range_entry> got;
    auto v = t_.ranges(lo, hi);
    if (!backward) {
      for (range_entry r : v) {
        got.push_back(r);
        FUZZ_CHECK(got.size() <= want.size(), "forward iteration yields too many ranges");
      }
    } else {
      for (auto it = v.end(); it != v.begin();) {
        got.push_back(*--it);
        FUZZ_CHECK(got.size() <= want.size(), "backward iteration yields too many ranges");
      }
      std::reverse(got.begin(), got.end());
    }
    FUZZ_CHECK(got.size() == want.size(), std::string(backward ? "backward" : "forward") +
                                              " iteration over [" + hex(lo) + ", " + hex(hi) +
                                              "]: " + std::to_string(got.size()) +
                                              " ranges, model " + std::to_string(want.size()));
    for (std::size_t i = 0; i < got.size(); ++i)
      FUZZ_CHECK(got[i] == want[i], "iteration over [" + hex(lo) + ", " + hex(hi) + "] #" +
                                        std::to_string(i) + ": " + str(got[i]) + ", model " +
                                        str(want[i]));
    return backward ? "backward iteration" : "forward iteration";
  }

  /// ++ and -- in any order from begin() or end(), checked at every step.
  const char *op_iterator_walk() {
    std::uint64_t lo, hi;
    window(lo, hi);
    std::vector<range_entry> want = m_.ranges(lo, hi);
    auto v = t_.ranges(lo, hi);
    std::uint8_t b = in_.byte();
    std::uint64_t moves = in_.varint();
    unsigned n = (b >> 1) % 48 + 1;
    bool from_end = b & 1;
    trace("// iterator walk over t.ranges(%s, %s) from %s, moves %s x%u", hex(lo).c_str(),
          hex(hi).c_str(), from_end ? "end" : "begin", hex(moves).c_str(), n);
    auto it = from_end ? v.end() : v.begin();
    std::size_t pos = from_end ? want.size() : 0;
    for (unsigned k = 0; k < n; ++k) {
      bool forward = (moves >> (k % 64)) & 1;
      if (forward && pos == want.size()) forward = false;
      if (!forward && pos == 0) forward = true;
      if (forward && pos == want.size()) break;  // empty window
      if (forward) {
        if (k & 1) {
          ++it;
        } else {
          auto old = it++;
          FUZZ_CHECK(*old == want[pos], "post-increment returned the wrong position");
        }
        ++pos;
      } else {
        if (k & 1) {
          --it;
        } else {
          auto old = it--;
          FUZZ_CHECK(pos == want.size() ? old == v.end() : *old == want[pos],
                     "post-decrement returned the wrong position");
        }
        --pos;
      }
      if (pos == want.size()) {
        FUZZ_CHECK(it == v.end(), "iterator walk over [" + hex(lo) + ", " + hex(hi) +
                                      "]: expected end() at step " + std::to_string(k) + ", at " +
                                      str(*it));
      } else {
        FUZZ_CHECK(it != v.end(), "iterator walk over [" + hex(lo) + ", " + hex(hi) +
                                      "]: end() at step " + std::to_string(k) + ", model " +
                                      str(want[pos]));
        FUZZ_CHECK(*it == want[pos], "iterator walk over [" + hex(lo) + ", " + hex(hi) + "] step " +
                                         std::to_string(k) + ": " + str(*it) + ", model " +
                                         str(want[pos]));
      }
    }
    return "iterator walk";
  }

  /// A fill of any shape (0xff: any stride and width), scaled 16 and 3;
  /// entries from a tag byte, whose low bit stores them in reverse order.
  const char *op_fill() {
    wrote_ = true;
    fill_plan p = decode_fill(in_, m_, true, 16, 3, kMaxRanges);
    p.tag = in_.byte();
    p.reverse = p.tag & 1;
    store_fill(t_, m_, p);
    return "fill";
  }

  /// Input for bulk_load: sorted, non-overlapping ranges most of the time;
  /// with nullptr entries, overlaps, unsorted pairs, first > last or a
  /// reserved entry now and then.
  std::vector<range_entry> bulk_input() {
    std::vector<range_entry> v;
    std::uint8_t b = in_.byte();
    std::uint64_t n = in_.varint() % 512;
    std::uint64_t at = (b & 1) ? 0 : index();
    std::uint8_t g = in_.byte();
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t gap = (g & 1) ? 0 : (i * 7 + g) % 5;  // adjacent ranges or small gaps
      std::uint64_t len = (i * 13 + (g >> 1)) % ((g & 0x10) ? 1 : 9);
      std::uint64_t f = sat_add(at, gap), l = sat_add(f, len);
      v.push_back({f, l, maple::make_value_entry((i * 31 + g) % 64)});
      if (l == kMax) break;
      at = l + 1;
    }
    if (b & 2 && !v.empty()) v.back().last = kMax;  // reach the top
    // Corruptions and odd inputs, a few per input.
    for (unsigned k = (b >> 2) & 3; k > 0; --k) {
      std::uint8_t c = in_.byte();
      if (v.empty()) break;
      std::size_t i = in_.varint() % v.size();
      switch (c % 6) {
        case 0: v[i].entry = nullptr; break;            // skipped
        case 1: v[i].entry = decode_entry(in_); break;  // any word
        case 2:
          if (i > 0) v[i].first = v[i - 1].last;
          break;  // overlap
        case 3:
          if (i > 0) std::swap(v[i], v[i - 1]);
          break;                                                       // unsorted
        case 4: std::swap(v[i].first, v[i].last); break;               // first > last
        default: v[i] = {index(), index(), decode_entry(in_)}; break;  // anything
      }
    }
    return v;
  }

  /// What bulk_load must answer for `v` into an empty tree, and the model.
  static std::error_code bulk_expect(const std::vector<range_entry> &v, reference_model &out) {
    bool have = false;
    std::uint64_t prev_last = 0;
    for (const range_entry &r : v) {
      // nullptr ranges obey the order and overlap rules too (raw_tree.h).
      if (r.first > r.last || maple::is_reserved_entry(r.entry))
        return maple::errc::invalid_argument;
      if (have && r.first <= prev_last) return maple::errc::invalid_argument;
      have = true;
      prev_last = r.last;
    }
    for (const range_entry &r : v)
      if (r.entry) out.store(r.first, r.last, r.entry);
    return {};
  }

  const char *op_bulk_load() {
    std::uint8_t b = in_.byte();
    std::vector<range_entry> v = bulk_input();
    reference_model want;
    std::error_code expect = bulk_expect(v, want);
    if (tracing()) {
      std::string s = "std::vector<maple::range_entry> v = {";
      for (const range_entry &r : v) {
        // (Appending piece by piece: GCC 12 at -O3 warns falsely about
        // "literal" + std::string, -Wrestrict.)
        s += '{';
        s += hex(r.first);
        s += ", ";
        s += hex(r.last);
        s += ", ";
        s += src(r.entry);
        s += "}, ";
      }
      trace("%s};  // %zu ranges", s.c_str(), v.size());
    }
    if (b & 1) {
      // Into a fresh tree beside this one.
      node_resource mr2;
      {
        Tree f(&mr2);
        if (b & 2) mr2.arm(in_.byte() % 16);
        std::error_code ec = f.bulk_load(v);
        trace("// a fresh tree f: f.bulk_load(v) -> %s", str(ec).c_str());
        if (ec == maple::errc::no_memory && mr2.armed()) {
          mr2.disarm();
          FUZZ_CHECK(f.empty() && mr2.live == 0, "bulk_load failed for memory but left nodes");
        } else {
          mr2.disarm();
          FUZZ_CHECK(ec == expect, "bulk_load into a fresh tree: '" + str(ec) + "', expected '" +
                                       str(expect) + "'");
          if (ec) want.clear();
          check_tree(f, want, "bulk_load into a fresh tree");
          check_stats(f, want, mr2, 0, "bulk_load into a fresh tree");
          // A write on the bulk-built tree (full leaves) must keep it valid.
          std::uint64_t first, last;
          decode_range(in_, want, first, last);
          if (first <= last) {
            FUZZ_CHECK(!f.store(first, last, maple::make_value_entry(7)), "store after bulk_load");
            want.store(first, last, maple::make_value_entry(7));
            check_tree(f, want, "a store into a bulk-built tree");
          }
        }
      }
      FUZZ_CHECK(mr2.live == 0, "a bulk-built tree leaked nodes");
      return "bulk_load (fresh tree)";
    }
    wrote_ = true;
    if (b & 2) clear_both(t_, m_);
    trace("t.bulk_load(v);  // into %s tree", m_.empty() ? "an empty" : "a non-empty");
    if (!m_.empty()) expect = maple::errc::invalid_argument;
    std::error_code got = t_.bulk_load(v);
    outcome(got, expect, mr_.armed(), "bulk_load", [&] { m_ = want; });
    return "bulk_load";
  }

  const char *op_clear() {
    wrote_ = true;
    clear_both(t_, m_);
    FUZZ_CHECK(mr_.live == 0, "clear() left nodes allocated");
    return "clear";
  }

  const char *op_fail() {
    unsigned after = in_.byte() % 8;
    trace("// the next write's allocation #%u and later ones fail", after + 1);
    mr_.arm(after);
    // The write that runs into it (its outcome() accepts no_memory and then
    // requires the tree unchanged: check_tree compares with the model).
    std::uint8_t b = in_.byte();
    const char *what = (b & 1)   ? op_erase()
                       : (b & 2) ? op_insert()
                       : (b & 4) ? op_bulk_load()
                                 : op_store(b & 8);
    return what;
  }

  const char *op_inspect() {
    std::uint8_t b = in_.byte();
    check_stats(t_, m_, mr_, 0, "stats()");
    if (m_.size() <= 300) {
      null_buffer nb;
      std::ostream os(&nb);
      if (b & 1)
        t_.dump(os, (b & 2) ? maple::dump_format::dec : maple::dump_format::hex);
      else
        t_.dump_dot(os);
    }
    return "inspect";
  }

  node_resource mr_;
  Tree t_{&mr_};
  reference_model m_;
  input in_;
  bool wrote_ = false;  // the operation wrote (the tree is checked after it)
};

}  // namespace
}  // namespace maple_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  maple_fuzz::run_on_both_engines<maple_fuzz::tree_fuzzer>(data, size);
  return 0;
}
