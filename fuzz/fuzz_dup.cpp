// fuzz/fuzz_dup.cpp - libFuzzer target for dup() (the kernel's mtree_dup)
// and for writes that run out of node memory.
//
// The input is a sequence of operations on a source tree: store / insert /
// erase / erase_range over small and large ranges, fill (many stores, deep
// trees), clear, writes whose allocations fail (maple::failing_resource
// armed at an input-chosen allocation: the tree must be unchanged), and
// dup() into a destination whose own failing_resource fails at an
// input-chosen allocation, without a transform or with one that keeps,
// changes, drops, rejects (a reserved word) or throws on entries. After each
// dup:
//  * on success the destination holds the source's ranges mapped through
//    the transform (reference model), validates, owns exactly its nodes,
//    and a plain copy is node-for-node (same node count and height); a
//    write into the copy leaves the source alone; the copy can be dup()ed
//    back into the cleared source ("adopt");
//  * on no_memory, invalid_argument or an exception the destination is
//    empty and valid and its resource holds no block;
//  * always: the source is unchanged and valid, and after clearing the
//    destination its resource holds nothing (no leak).
// Plus the refusals: a non-empty destination, the tree itself, a
// destination with other flags.
//
// The whole sequence runs on four engines: raw_tree (16 slots),
// basic_raw_tree<4>, and the allocation trees (tree_flags::alloc) of 16 and
// 6 slots.
//
// MAPLE_FUZZ_TRACE=1 prints each operation as a C++ statement.
#include "fuzz_common.h"
#include "geometries.h"

#include <maple/failing_resource.h>
#include <maple/raw_tree.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace maple_fuzz {
namespace {

/// Trees stop growing here (every check is O(n)).
constexpr std::size_t kMaxRanges = 500;

/// What a dup transform does, decoded from the input. Every kind is a pure
/// function of the entry, so the expected copy follows from the model.
struct transform {
  enum kind_t : unsigned {
    none,      // dup(dst): no transform
    identity,  // dup(dst, fn) with fn(e) == e
    drop_odd,  // value entries with odd values dropped
    change,    // value v -> v + delta, any other word -> value delta
    drop_all,  // everything dropped
    reserved,  // the entry `x` -> a reserved word: invalid_argument
    thrower,   // throws on the entry `x`
    drop_x,    // the entry `x` dropped, the others kept
    kinds
  };
  kind_t kind = none;
  void *x = nullptr;
  std::uint64_t delta = 0;

  /// nullptr: dropped.
  void *operator()(void *e) const {
    switch (kind) {
      case drop_odd:
        return maple::is_value_entry(e) && (maple::value_of_entry(e) & 1) ? nullptr : e;
      case change:
        if (maple::is_value_entry(e))
          return maple::make_value_entry((maple::value_of_entry(e) + delta) &
                                         maple::max_value_entry);
        return maple::make_value_entry(delta);
      case drop_all: return nullptr;
      case reserved: return e == x ? reinterpret_cast<void *>(std::uintptr_t{2}) : e;
      case thrower:
        if (e == x) throw std::runtime_error("transform");
        return e;
      case drop_x: return e == x ? nullptr : e;
      default: return e;
    }
  }
  const char *name() const {
    static const char *const names[] = {"none",     "identity", "drop_odd", "change",
                                        "drop_all", "reserved", "thrower",  "drop_x"};
    return names[kind];
  }
};

template <unsigned S>
class dup_fuzzer {
  using Tree = maple::basic_raw_tree<S>;

 public:
  dup_fuzzer(const std::uint8_t *data, std::size_t size, maple::tree_flags flags)
      : flags_(flags), in_(data, size), t_(flags, &mr_) {}

  void run() {
    trace("// ---- %s", g_engine_name);
    for (unsigned step = 0; !in_.done() && step < 2048; ++step) {
      wrote_ = false;
      failures_before_ = mr_.failures();
      const char *what = op();
      mr_.never_fail();
      if (wrote_) check_source(what);
    }
    check_source("the last operation");
    t_.clear();
    FUZZ_CHECK(mr_.outstanding() == 0,
               "clear() left " + std::to_string(mr_.outstanding()) + " blocks allocated");
  }

 private:
  /// The source against the model; its resource holds exactly its nodes.
  void check_source(const char *after) {
    check_tree(t_, m_, after);
    FUZZ_CHECK(t_.stats().nodes == mr_.outstanding(),
               std::string("after ") + after + ": the source has " +
                   std::to_string(t_.stats().nodes) + " nodes, its resource " +
                   std::to_string(mr_.outstanding()) + " blocks");
  }

  const char *op() {
    std::uint8_t b = in_.byte();
    switch (b % 14) {
      case 0:
      case 1: return op_store(false);
      case 2: return op_store(true);
      case 3: return op_insert();
      case 4: return op_erase();
      case 5:
      case 6: return op_fill();
      case 7:
      case 8:
      case 9:
      case 10: return op_dup();
      case 11: return op_fail();
      case 12: return op_refusals();
      default: return (b & 0x80) ? op_clear() : op_dup();
    }
  }

  /// Whether the write just made ran into an injected allocation failure
  /// (fail_nth() may have fired once and disarmed itself).
  auto injected() {
    return [this] { return mr_.failures() != failures_before_; };
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
    return checked_erase(t_, m_, in_, injected()) ? "erase" : "a failed erase";
  }

  /// A fill without the any-shape byte, scaled 16 and 3; entries from a tag
  /// byte.
  const char *op_fill() {
    wrote_ = true;
    fill_plan p = decode_fill(in_, m_, false, 16, 3, kMaxRanges);
    p.tag = in_.byte();
    store_fill(t_, m_, p);
    return "fill";
  }

  const char *op_clear() {
    wrote_ = true;
    clear_both(t_, m_);
    return "clear";
  }

  /// The next write fails at its k-th allocation (once, or from then on).
  const char *op_fail() {
    std::uint8_t b = in_.byte();
    unsigned k = (b >> 2) % 16 + 1;
    if (b & 1) {
      trace("mr.fail_after(%u);", k - 1);
      mr_.fail_after(k - 1);
    } else {
      trace("mr.fail_nth(%u);", k);
      mr_.fail_nth(k);
    }
    switch ((b >> 1) & 1 ? 2 : in_.byte() % 3) {
      case 0: return op_insert();
      case 1: return op_erase();
      default: return op_store(false);
    }
  }

  /// The entry a transform singles out: mostly one the source holds.
  void *pick_entry() {
    std::uint8_t b = in_.byte();
    if (m_.empty() || (b & 3) == 0) return decode_entry(in_);
    return m_.nth(static_cast<std::size_t>(in_.varint() % m_.size())).entry;
  }

  const char *op_dup() {
    std::uint8_t b = in_.byte();
    transform fn;
    fn.kind = static_cast<transform::kind_t>(b % transform::kinds);
    if (fn.kind == transform::reserved || fn.kind == transform::thrower ||
        fn.kind == transform::drop_x)
      fn.x = pick_entry();
    if (fn.kind == transform::change) fn.delta = in_.byte();
    const bool adopt = b & 0x10;
    // The destination's k-th allocation fails (0: none): mostly within the
    // node count of the copy (and the erases of dropped entries).
    std::uint64_t k = 0;
    if (b & 0x20) k = in_.varint() % (t_.stats().nodes * 2 + 4) + 1;

    // The expected copy, and what can go wrong on the way.
    reference_model want;
    bool expect_throw = false, expect_inval = false;
    for (const auto &[first, v] : m_.map()) {
      if (fn.kind == transform::none) {
        want.store(first, v.last, v.entry);
        continue;
      }
      if (fn.kind == transform::thrower && v.entry == fn.x) {
        expect_throw = true;
        continue;
      }
      void *e = fn(v.entry);
      if (maple::is_reserved_entry(e)) {
        expect_inval = true;
        continue;
      }
      if (e) want.store(first, v.last, e);
    }
    trace("// dup, transform %s (x %s, delta %llu), destination allocation #%llu fails%s",
          fn.name(), src(fn.x).c_str(), static_cast<unsigned long long>(fn.delta),
          static_cast<unsigned long long>(k), adopt ? ", then adopt the copy" : "");

    maple::failing_resource dmr;
    {
      Tree dst(flags_, &dmr);
      if (k) dmr.fail_nth(k);
      std::error_code ec;
      bool threw = false;
      try {
        ec = fn.kind == transform::none ? t_.dup(dst) : t_.dup(dst, fn);
      } catch (const std::runtime_error &) {
        threw = true;
      }
      dmr.never_fail();
      const bool failed = dmr.failures() != 0;
      trace("// -> %s%s", threw ? "threw" : str(ec).c_str(),
            failed ? " (an allocation failed)" : "");
      check_source("dup (the source)");

      if (threw || ec) {
        if (threw)
          FUZZ_CHECK(expect_throw,
                     "dup: the transform threw, but it should not have been "
                     "called on its entry");
        else if (ec == maple::errc::no_memory)
          FUZZ_CHECK(failed, "dup: no_memory but no allocation failed");
        else
          FUZZ_CHECK(ec == maple::errc::invalid_argument && expect_inval,
                     "dup: unexpected error '" + str(ec) + "'");
        FUZZ_CHECK(dst.empty(), "dup failed (" + std::string(threw ? "threw" : str(ec)) +
                                    ") but the destination is not empty");
        maple::check_report rep = dst.validate();
        FUZZ_CHECK(rep.ok, "a failed dup left an invalid destination: " + rep.message);
        FUZZ_CHECK(dmr.outstanding() == 0, "a failed dup leaked " +
                                               std::to_string(dmr.outstanding()) +
                                               " blocks of the destination's resource");
        return "a failed dup";
      }
      FUZZ_CHECK(!failed, "dup succeeded although an allocation failed");
      FUZZ_CHECK(!expect_throw, "dup succeeded, but the transform should have thrown");
      FUZZ_CHECK(!expect_inval, "dup succeeded, but the transform returned a reserved word");
      check_tree(dst, want, "dup (the copy)");
      FUZZ_CHECK(dst.stats().nodes == dmr.outstanding(),
                 "the copy has " + std::to_string(dst.stats().nodes) +
                     " nodes, its resource holds " + std::to_string(dmr.outstanding()));
      if (fn.kind == transform::none) {
        FUZZ_CHECK(dst.stats().nodes == t_.stats().nodes && dst.height() == t_.height(),
                   "a plain copy is not node-for-node: " + std::to_string(dst.stats().nodes) +
                       " nodes, height " + std::to_string(dst.height()) + "; the source " +
                       std::to_string(t_.stats().nodes) + ", height " +
                       std::to_string(t_.height()));
      }

      // The copy is independent of its source.
      std::uint64_t first, last;
      decode_range(in_, want, first, last);
      if (first <= last) {
        void *e = dodge(want, first, last, maple::make_value_entry(first & 0xff));
        trace("dst.store(%s, %s, %s);", hex(first).c_str(), hex(last).c_str(), src(e).c_str());
        FUZZ_CHECK(!dst.store(first, last, e), "a store into the copy failed");
        want.store(first, last, e);
        check_tree(dst, want, "a store into the copy");
        check_source("a store into the copy (the source)");
      }
      if (adopt) {
        // The copy (with its write) goes back into the cleared source.
        trace("t.clear(); dst.dup(t);");
        t_.clear();
        m_.clear();
        std::error_code ec2 = dst.dup(t_);
        FUZZ_CHECK(!ec2, "dup back into the cleared source: " + str(ec2));
        m_ = want;
        check_source("dup back into the source");
      }
      dst.clear();
      FUZZ_CHECK(dmr.outstanding() == 0,
                 "the copy's clear() left " + std::to_string(dmr.outstanding()) + " blocks");
    }
    FUZZ_CHECK(dmr.outstanding() == 0, "the destroyed copy left blocks");
    return "dup";
  }

  /// dup() refuses a non-empty destination, the tree itself and a
  /// destination with other flags; nothing changes.
  const char *op_refusals() {
    std::uint8_t b = in_.byte();
    maple::failing_resource dmr;
    switch (b % 3) {
      case 0: {
        Tree dst(flags_, &dmr);
        std::uint64_t first, last;
        decode_range(in_, m_, first, last);
        if (first > last) std::swap(first, last);
        void *e = maple::make_value_entry(3);
        FUZZ_CHECK(!dst.store(first, last, e), "a store into the destination failed");
        std::size_t nodes = dmr.outstanding();
        trace("// dup into a non-empty destination holding [%s, %s]", hex(first).c_str(),
              hex(last).c_str());
        std::error_code ec = t_.dup(dst);
        FUZZ_CHECK(ec == maple::errc::invalid_argument,
                   "dup into a non-empty destination: '" + str(ec) + "'");
        reference_model d;
        d.store(first, last, e);
        check_tree(dst, d, "dup into a non-empty destination");
        FUZZ_CHECK(dmr.outstanding() == nodes, "a refused dup allocated");
        break;
      }
      case 1: {
        trace("// dup into itself");
        std::error_code ec = t_.dup(t_);
        FUZZ_CHECK(ec == maple::errc::invalid_argument, "dup into itself: '" + str(ec) + "'");
        break;
      }
      default: {
        if constexpr (S >= 6) {
          maple::tree_flags other = maple::has_flag(flags_, maple::tree_flags::alloc)
                                        ? maple::tree_flags::none
                                        : maple::tree_flags::alloc;
          Tree dst(other, &dmr);
          trace("// dup into a destination with other flags");
          std::error_code ec = t_.dup(dst);
          FUZZ_CHECK(ec == maple::errc::invalid_argument,
                     "dup into a tree with other flags: '" + str(ec) + "'");
          FUZZ_CHECK(dst.empty() && dmr.outstanding() == 0, "a refused dup changed the tree");
        }
        break;
      }
    }
    FUZZ_CHECK(dmr.outstanding() == 0, "a refused dup leaked");
    check_source("a refused dup");
    return "refused dup";
  }

  maple::tree_flags flags_;
  input in_;
  maple::failing_resource mr_;
  Tree t_;
  reference_model m_;
  std::size_t failures_before_ = 0;  // mr_.failures() before the operation
  bool wrote_ = false;
};

}  // namespace
}  // namespace maple_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  using namespace maple_fuzz;
  using maple::tree_flags;
  g_engine_name = "16-slot";
  dup_fuzzer<16>(data, size, tree_flags::none).run();
  g_engine_name = "4-slot";
  dup_fuzzer<4>(data, size, tree_flags::none).run();
  g_engine_name = "16-slot allocation tree";
  dup_fuzzer<16>(data, size, tree_flags::alloc).run();
  g_engine_name = "6-slot allocation tree";
  dup_fuzzer<6>(data, size, tree_flags::alloc).run();
  return 0;
}
