// tests/support/cursor_model.h - the one model of the cursor API
// (include/maple/cursor.h), shared by tests/cursor/cursor_differential_test.cpp
// and fuzz/fuzz_cursor.cpp.
//
// Written from docs/cursor.md (the state table, "Turning back", the
// root-entry rows and "The rules"), not from the implementation, and
// computed from the reference model's tiling of the index space into stored
// and empty ranges (the engine keeps no two empty ranges adjacent, so its
// leaf slots are exactly this tiling). A driver runs one model beside each
// real cursor, makes the same call on both, and compares the return value,
// state(), [index(), last()], entry() and error().
//
// Besides the positions the model tracks what docs/cursor.md's rules say
// about validity: a positioned cursor is `stale` after its guard section
// ended or a write it did not make (the driver must set() / reset() it
// before using it again; pause() keeps it valid), and a failed write leaves
// it in `error` with the error_code the driver expects.
#pragma once

#include "reference_model.h"

#include <maple/cursor.h>
#include <maple/raw_tree.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

namespace maple_test {

/// What a cursor must do. Its position is the range it last stood on
/// ([index, last]; kept through a limit) plus, on overflow / underflow, the
/// refused range (as its first / last index): a wider limit continues with
/// the refused range, the other direction turns back to the range last
/// stood on. Trees without nodes (empty, or a lone [0, 0] entry) follow the
/// root-entry rows of the table.
class cursor_model {
 public:
  using cs = maple::cursor_state;
  using u64 = std::uint64_t;
  using range_entry = maple::range_entry;

  explicit cursor_model(const reference_model &m) : m_(&m) {}

  cs st = cs::start;
  u64 index = 0, last = 0;
  // Continuation of an active cursor (nullopt: past the end / before 0).
  std::optional<u64> fwd, bwd;
  // Overflow / underflow with a position: the refused range's first (last)
  // index; nullopt: nothing was left before the end of the tree.
  std::optional<u64> refused;
  // A limit hit before standing on a node: the state reads overflow /
  // underflow, the next call continues as `resume` (start, paused or
  // root_entry).
  bool nodeless = false;
  cs resume = cs::start;
  // State error: what error() must say.
  std::error_code err;
  // Positioned, but its guard section ended or a write it did not make
  // happened: only set() / set_range() / reset() / pause() are legal now.
  bool stale = false;

  // ---- control ----------------------------------------------------------------------

  void set_range(u64 a, u64 b) {
    index = a;
    last = b < a ? a : b;
    reset();
  }
  void reset() {
    st = cs::start;
    nodeless = false;
    stale = false;
    err.clear();
  }
  void pause() {
    stale = false;
    if (st == cs::error) return;
    st = cs::paused;
    nodeless = false;
  }

  // ---- validity (docs/cursor.md, "The rules" 1-3) -----------------------------------

  /// Whether the cursor stands somewhere (a state that a section end or a
  /// foreign write invalidates; start, paused and error do not).
  bool positioned() const {
    return st == cs::active || st == cs::root_entry || st == cs::none || st == cs::overflow ||
           st == cs::underflow;
  }
  /// The end of the cursor's guard section.
  void section_ended() {
    if (positioned()) stale = true;
  }
  /// A write this cursor did not make.
  void foreign_write() {
    if (positioned()) stale = true;
  }

  // ---- writes through the cursor ----------------------------------------------------

  /// A write through the cursor succeeded: paused on the written range.
  void after_write() {
    st = cs::paused;
    nodeless = false;
    stale = false;
  }
  /// A write or preallocation through the cursor failed with `ec`.
  void write_failed(std::error_code ec) {
    st = cs::error;
    err = ec;
    nodeless = false;
    stale = false;
  }
  /// erase(): the range holding index, and its entry; nullptr if there is
  /// nothing to erase (then the cursor stands where a walk would).
  void *erase_target(range_entry &r) {
    if (nodeless_tree(*m_)) {
      void *e = stand_at(index);
      r = {index, last, e};
      return e;
    }
    r = m_->lookup(index);
    if (!r.entry) {
      stand(r);
      return nullptr;
    }
    index = r.first;
    last = r.last;
    return r.entry;
  }

  // ---- reads ------------------------------------------------------------------------

  /// What entry() must return.
  void *entry() const {
    if (st == cs::root_entry) return m_->load(0);
    return st == cs::active ? m_->lookup(index).entry : nullptr;
  }

  void *walk() {
    if (st == cs::error) return nullptr;
    nodeless = false;
    return stand_at(index);
  }

  void *find(u64 max) {
    if (void *r; resume_nodeless(true, &r)) return r;
    switch (st) {
      case cs::error:
      case cs::none: return nullptr;
      case cs::root_entry: return past_root_entry();
      case cs::start:
      case cs::paused: {
        u64 at = index;
        if (st == cs::paused) {
          if (last == kMax) return nothing();
          at = last + 1;
        }
        if (at > max) return limit(cs::overflow);
        void *e = stand_at(at);
        if (st != cs::active || e) return e;
        return scan_fwd(index, max, false);  // the walked range itself first
      }
      case cs::underflow: return turn_back(max, true, false);
      case cs::overflow: return scan_fwd(refused, max, false);
      default: return scan_fwd(fwd, max, false);
    }
  }

  void *find_rev(u64 min) {
    if (void *r; resume_nodeless(false, &r)) return r;
    switch (st) {
      case cs::error: return nullptr;
      case cs::none: return none_backward(min);
      case cs::root_entry: return limit(cs::underflow);
      case cs::start:
      case cs::paused: {
        u64 at = index;
        if (st == cs::paused) {
          if (index == 0) return nothing();
          at = index - 1;
        }
        if (at < min) return limit(cs::underflow);
        void *e = stand_at(at);
        if (st == cs::none) return root_entry_below(min);
        if (st != cs::active || e) return e;
        return scan_bwd(last, min, false);
      }
      case cs::overflow: return turn_back(min, false, false);
      case cs::underflow: return scan_bwd(refused, min, false);
      default: return scan_bwd(bwd, min, false);
    }
  }

  /// next / next_range (forward) and prev / prev_range.
  void *advance(u64 limit_at, bool forward, bool stop_on_empty) {
    if (void *r; resume_nodeless(forward, &r)) return r;
    if (st == cs::root_entry) return forward ? past_root_entry() : limit(cs::underflow);
    if (st == cs::start || st == cs::paused) {
      stand_at(forward && st == cs::paused ? last : index);
      if (st == cs::root_entry) return forward ? past_root_entry() : limit(cs::underflow);
      if (!forward && st == cs::none) return root_entry_below(limit_at);
    }
    if (!forward && st == cs::none) return none_backward(limit_at);
    if (st == cs::error || st == cs::none) return nullptr;
    if (st == (forward ? cs::underflow : cs::overflow))
      return turn_back(limit_at, forward, stop_on_empty);
    if (st == (forward ? cs::overflow : cs::underflow))
      return forward ? scan_fwd(refused, limit_at, stop_on_empty)
                     : scan_bwd(refused, limit_at, stop_on_empty);
    return forward ? scan_fwd(fwd, limit_at, stop_on_empty)
                   : scan_bwd(bwd, limit_at, stop_on_empty);
  }

  std::string describe() const {
    std::ostringstream os;
    os << maple::to_string(st) << (nodeless ? "(nodeless)" : "") << (stale ? "(stale)" : "") << " ["
       << hex(index) << ", " << hex(last) << "] fwd " << (fwd ? hex(*fwd) : std::string("end"))
       << " bwd " << (bwd ? hex(*bwd) : std::string("start")) << " refused "
       << (refused ? hex(*refused) : std::string("-"));
    if (st == cs::error) os << " error '" << err.message() << "'";
    return os.str();
  }

 private:
  void *root() const { return m_->empty() ? nullptr : m_->map().begin()->second.entry; }

  /// walk(): stand on the range holding i (root_entry / none in a tree
  /// without nodes).
  void *stand_at(u64 i) {
    if (!nodeless_tree(*m_)) return stand(m_->lookup(i));
    if (root() && i == 0) {
      st = cs::root_entry;
      index = last = 0;
      return root();
    }
    st = cs::none;
    index = root() ? 1 : 0;
    last = kMax;
    return nullptr;
  }
  void *nothing() {
    st = cs::none;
    return nullptr;
  }
  /// A forward call from the root entry: none over [1, max].
  void *past_root_entry() {
    st = cs::none;
    index = 1;
    last = kMax;
    return nullptr;
  }
  /// After a walk above 0 found nothing in a root-entry tree: the entry at
  /// [0, 0] comes next going down, if the limit allows it.
  void *root_entry_below(u64 min) {
    if (!root()) return nullptr;
    if (min > 0) {
      resume = cs::start;
      st = cs::underflow;
      nodeless = true;
      return nullptr;
    }
    st = cs::root_entry;
    index = last = 0;
    return root();
  }
  /// A backward call from none: none above a root entry turns back to it;
  /// any other none stays none.
  void *none_backward(u64 min) {
    if (!nodeless_tree(*m_) || index == 0) return nullptr;
    return root_entry_below(min);
  }
  /// A nodeless overflow / underflow: continue as the state before it; from
  /// the root entry, turning back returns it and going on returns nothing.
  bool resume_nodeless(bool forward, void **out) {
    *out = nullptr;
    if (!nodeless) return false;
    if (resume != cs::root_entry) {
      st = resume;
      nodeless = false;
      return false;
    }
    const bool turning_back = (st == cs::overflow) != forward;
    if (turning_back && nodeless_tree(*m_) && root()) {
      nodeless = false;
      st = cs::root_entry;
      index = last = 0;
      *out = root();
    }
    return true;
  }
  void *limit(cs s) {
    resume = st;
    st = s;
    nodeless = true;
    return nullptr;
  }
  void *stand(const range_entry &r) {
    st = cs::active;
    index = r.first;
    last = r.last;
    fwd = r.last == kMax ? std::nullopt : std::optional<u64>(r.last + 1);
    bwd = r.first == 0 ? std::nullopt : std::optional<u64>(r.first - 1);
    return r.entry;
  }
  /// The call that turns back after a limit: the range last stood on if the
  /// call reports it and the limit allows it, else onwards from it.
  void *turn_back(u64 lim, bool forward, bool stop) {
    range_entry r = m_->lookup(index);
    if (forward ? r.first > lim : r.last < lim) {
      index = r.first;
      last = r.last;
      st = forward ? cs::overflow : cs::underflow;
      refused = forward ? r.first : r.last;
      return nullptr;
    }
    stand(r);
    if (r.entry || stop) return r.entry;
    return forward ? scan_fwd(fwd, lim, false) : scan_bwd(bwd, lim, false);
  }
  void *over(std::optional<u64> at) {
    st = cs::overflow;
    refused = at;
    return nullptr;
  }
  void *under(std::optional<u64> at) {
    st = cs::underflow;
    refused = at;
    return nullptr;
  }
  void *scan_fwd(std::optional<u64> from, u64 max, bool stop) {
    if (!from) return over(std::nullopt);
    u64 x = *from;
    for (;;) {
      range_entry r = m_->lookup(x);
      if (r.first > max) return over(r.first);
      if (r.entry || stop) return stand(r);
      if (r.last == kMax) return over(std::nullopt);
      x = r.last + 1;
    }
  }
  void *scan_bwd(std::optional<u64> from, u64 min, bool stop) {
    if (!from) return under(std::nullopt);
    u64 y = *from;
    for (;;) {
      range_entry r = m_->lookup(y);
      if (r.last < min) return under(r.last);
      if (r.entry || stop) return stand(r);
      if (r.first == 0) return under(std::nullopt);
      y = r.first - 1;
    }
  }

  const reference_model *m_;
};

}  // namespace maple_test
