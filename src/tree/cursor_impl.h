// Definitions of the cursor, write cursor and guards (maple/cursor.h).
//
// Position model: node_/offset_ name a slot of a leaf. In state active it
// is the range last returned (its bounds in index_/last_). On overflow it is
// the first range past the limit, not yet returned (offset_ == end_ + 1:
// past the last leaf); on underflow the first range before the limit
// (offset_ == before_start: before the first leaf). index_/last_ keep the
// range the cursor last stood on. So a wider limit continues with exactly
// the range that was refused, and the other direction walks back to the
// range last returned (turn_back; the kernel's mas_next_setup/mas_prev_setup
// walk again from an underflow/overflow the same way). Empty ranges skipped
// on the way to the limit lie between the two: stepping back one slot from
// the refused one would return them instead.
#pragma once

#include "engine/engine.h"
#include "engine/gap.h"
#include "engine/walk.h"
#include "engine/write.h"
#include "engine/write_lock.h"

#include <maple/cursor.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace maple {
namespace detail {

/// Read-side sections of the calling thread: bumped when the outermost
/// read guard begins and ends, so a cursor can tell it outlived its section.
struct read_sections {
  std::uint64_t counter = 0;
  unsigned depth = 0;
};
inline read_sections &thread_read_sections() noexcept {
  static thread_local read_sections r;
  return r;
}

[[noreturn]] void cursor_rule_broken(const char *op, cursor_state st, std::uint64_t index,
                                     std::uint64_t last, const char *rule) noexcept;

inline constexpr unsigned before_start = ~0u;

/// Tops a write cursor's node list (`list`, `count` nodes, linked through
/// their first word) up to `target` nodes from t's resource. Out of memory:
/// frees what it added, leaves the list as it was and returns false.
template <unsigned S>
bool fill_reserve(tree_core &t, void *&list, unsigned &count, std::size_t target) noexcept {
  node_supply res;
  res.reserve = list;
  res.available = count;
  try {
    while (res.available < target) res.push(engine<S>::alloc_node(t));
  } catch (...) {
    while (res.available > count) engine<S>::free_node(t, static_cast<node<S> *>(res.pop()));
    return false;
  }
  list = res.reserve;
  count = res.available;
  return true;
}

}  // namespace detail

// ---- guards -----------------------------------------------------------------

template <unsigned S>
basic_write_guard<S>::basic_write_guard(tree_type &t) : t_(&t) {
  using E = detail::engine<S>;
  detail::tree_core &core = t.core_;
  if (E::uses_external_lock(core)) {
    detail::assert_external_lock_held(core, "write_guard()");  // the caller holds it
  } else {
    E::lock(core).lock();
    locked_ = true;
  }
  section_ = ++E::tenure(core);  // odd while held
}

template <unsigned S>
basic_write_guard<S>::~basic_write_guard() {
  ++detail::engine<S>::tenure(t_->core_);
  if (locked_) detail::engine<S>::lock(t_->core_).unlock();
}

template <unsigned S>
basic_write_cursor<S> basic_write_guard<S>::cursor(std::uint64_t first,
                                                   std::uint64_t last) noexcept {
  basic_write_cursor<S> c(*t_, first, last);
  c.mark_section(section_, true);
  return c;
}

template <unsigned S>
basic_read_guard<S>::basic_read_guard(const tree_type &t) noexcept : t_(&t) {
  auto &rs = detail::thread_read_sections();
  if (rs.depth++ == 0) ++rs.counter;
  section_ = rs.counter;
}

template <unsigned S>
basic_read_guard<S>::~basic_read_guard() {
  auto &rs = detail::thread_read_sections();
  if (--rs.depth == 0) ++rs.counter;
}

template <unsigned S>
basic_cursor<S> basic_read_guard<S>::cursor(std::uint64_t first,
                                            std::uint64_t last) const noexcept {
  basic_cursor<S> c(*t_, first, last);
  c.mark_section(section_, false);
  return c;
}

// ---- the read cursor ------------------------------------------------------------

template <unsigned S>
basic_cursor<S>::basic_cursor(const tree_type &t, std::uint64_t first, std::uint64_t last) noexcept
    : core_(&t.core_), index_(first), last_(last < first ? first : last) {}

template <unsigned S>
void basic_cursor<S>::mark_section(std::uint64_t section, bool write) noexcept {
  section_ = section;
  write_ = write;
}

template <unsigned S>
void basic_cursor<S>::note_position() noexcept {
  epoch_ = detail::engine<S>::epoch(*core_);
}

template <unsigned S>
void basic_cursor<S>::check_use(const char *op) const noexcept {
  if constexpr (!detail::checked_build) {
    (void)op;
    return;
  } else {
    if (section_ == 0) return;  // made without a guard: the caller vouches
    using E = detail::engine<S>;
    const bool positioned = state_ == cursor_state::active || state_ == cursor_state::root_entry ||
                            state_ == cursor_state::none || state_ == cursor_state::overflow ||
                            state_ == cursor_state::underflow;
    if (write_) {
      std::uint64_t now = E::tenure(*core_);
      if ((now & 1) == 0)
        detail::cursor_rule_broken(op, state_, index_, last_,
                                   "write cursor used while the tree's lock is not held "
                                   "(its write guard has ended)");
      if (now != section_) {
        if (positioned)
          detail::cursor_rule_broken(op, state_, index_, last_,
                                     "write cursor used after the write lock was dropped and "
                                     "re-taken; pause() before dropping it, or set()/reset() "
                                     "after re-taking it");
        section_ = now;  // start/paused: re-walks under the new tenure
      }
    } else {
      auto &rs = detail::thread_read_sections();
      if (rs.depth == 0)
        detail::cursor_rule_broken(op, state_, index_, last_,
                                   "read cursor used outside a read guard");
      if (rs.counter != section_) {
        if (positioned)
          detail::cursor_rule_broken(op, state_, index_, last_,
                                     "read cursor used after its read section ended and a new "
                                     "one began; pause() before leaving it, or set()/reset() "
                                     "after entering the new one");
        section_ = rs.counter;
      }
    }
    // In RCU mode readers run beside writers by design: only the cursor's
    // own tree's writes (write cursors) invalidate a position.
    if (positioned && (write_ || !E::rcu_mode(*core_)) && epoch_ != E::epoch(*core_))
      detail::cursor_rule_broken(op, state_, index_, last_,
                                 "the tree was modified since the cursor was positioned, by a "
                                 "write the cursor did not make; set()/reset() it first");
  }
}

template <unsigned S>
void *basic_cursor<S>::entry() const noexcept {
  if (state_ == cursor_state::root_entry)
    return reinterpret_cast<void *>(detail::engine<S>::root(*core_));
  if (state_ != cursor_state::active) return nullptr;
  auto *n = static_cast<const detail::node<S> *>(node_);
  return reinterpret_cast<void *>(detail::load_acquire(n->slot[offset_]));
}

template <unsigned S>
void basic_cursor<S>::set_range(std::uint64_t first, std::uint64_t last) noexcept {
  index_ = first;
  last_ = last < first ? first : last;
  reset();
}

template <unsigned S>
void basic_cursor<S>::reset() noexcept {
  state_ = cursor_state::start;
  node_ = nullptr;
  err_.clear();
}

template <unsigned S>
void basic_cursor<S>::pause() noexcept {
  if (state_ == cursor_state::error) return;
  state_ = cursor_state::paused;
  node_ = nullptr;
}

/// Walks to index: positions on the range holding it (state active), or
/// handles trees without nodes. Returns the entry.
template <unsigned S>
void *basic_cursor<S>::position_at(std::uint64_t index) noexcept {
  using E = detail::engine<S>;
  using Wk = detail::walker<S>;
  note_position();
  detail::word root = E::root(*core_);
  if (!detail::is_node_word(root)) {
    node_ = nullptr;
    if (root != 0 && index == 0) {
      index_ = last_ = 0;
      state_ = cursor_state::root_entry;
      return reinterpret_cast<void *>(root);
    }
    index_ = root ? 1 : 0;
    last_ = max_index;
    state_ = cursor_state::none;
    return nullptr;
  }
  typename Wk::leaf_pos p;
  Wk::descend(root, index, p);
  node_ = p.leaf;
  min_ = p.min;
  max_ = p.max;
  end_ = p.end;
  offset_ = p.off;
  index_ = p.first();
  last_ = p.last();
  state_ = cursor_state::active;
  return p.entry();
}

template <unsigned S>
void *basic_cursor<S>::limit_without_node(cursor_state st, cursor_state resume) noexcept {
  note_position();  // a positioned state: valid for this epoch
  state_ = st;
  resume_as_ = resume;
  node_ = nullptr;
  return nullptr;
}

/// After a walk above 0 found nothing in a root-entry tree, or from none
/// over [1, max] there: going down, the entry at [0, 0] comes next (when the
/// limit allows it; the kernel's mas_prev_setup from ma_none). Elsewhere
/// none stays none.
template <unsigned S>
void *basic_cursor<S>::root_entry_below(std::uint64_t min) noexcept {
  detail::word root = detail::engine<S>::root(*core_);
  if (root == 0 || detail::is_node_word(root)) return nullptr;
  if (min > 0) return limit_without_node(cursor_state::underflow, cursor_state::start);
  index_ = last_ = 0;
  state_ = cursor_state::root_entry;
  return reinterpret_cast<void *>(root);
}

/// Before a search: a nodeless overflow/underflow resumes as the state it
/// came from. Returns true when the search is already answered (*out): at
/// the ends of a root-entry tree, turning back returns the entry, going on
/// returns nothing.
template <unsigned S>
bool basic_cursor<S>::resume_if_nodeless(bool forward, void **out) noexcept {
  *out = nullptr;
  if ((state_ != cursor_state::overflow && state_ != cursor_state::underflow) || node_)
    return false;
  if (resume_as_ != cursor_state::root_entry) {
    state_ = resume_as_;
    return false;
  }
  const bool turning_back = (state_ == cursor_state::overflow) != forward;
  detail::word root = detail::engine<S>::root(*core_);
  if (turning_back && root != 0 && !detail::is_node_word(root)) {
    note_position();
    index_ = last_ = 0;
    state_ = cursor_state::root_entry;
    *out = reinterpret_cast<void *>(root);
  }
  return true;
}

template <unsigned S>
void *basic_cursor<S>::walk() noexcept {
  check_use("walk");
  if (state_ == cursor_state::error) return nullptr;
  return position_at(index_);
}

/// From the current position, moves forward to the next range to report
/// (an entry, or any range if stop_on_empty), within max. `inclusive`
/// considers the current slot first.
template <unsigned S>
void *basic_cursor<S>::step_forward(std::uint64_t max, bool stop_on_empty) noexcept {
  using Wk = detail::walker<S>;
  const bool inclusive = state_ == cursor_state::overflow;
  typename Wk::leaf_pos p;
  p.leaf = static_cast<const detail::node<S> *>(node_);
  p.min = min_;
  p.max = max_;
  p.end = end_;
  p.off = inclusive ? offset_ : offset_ + 1;
  // Everything before the first slot considered is behind the cursor: a
  // walk again from the root (a dead node met in RCU mode) looks again from
  // there, so the step's answer comes from the tree as it is now, not from
  // what the replaced leaf showed of the slots already passed. The limit
  // and the end are decided on a live leaf only.
  const bool past_the_end = p.off > p.end && p.max == max_index;
  const std::uint64_t floor = p.off <= p.end ? p.first() : p.max + 1;
  auto rewalk = [&] {
    return !past_the_end && Wk::dead_end(p) && Wk::rewalk_after(*core_, floor, floor, p);
  };
  for (;;) {
    for (; p.off <= p.end; ++p.off) {
      std::uint64_t first = p.first();
      if (first > max) {
        if (rewalk()) break;
        offset_ = p.off;
        node_ = p.leaf, min_ = p.min, max_ = p.max, end_ = p.end;
        state_ = cursor_state::overflow;
        return nullptr;
      }
      void *e = p.entry();
      if (e || stop_on_empty) {
        node_ = p.leaf, min_ = p.min, max_ = p.max, end_ = p.end;
        offset_ = p.off;
        index_ = first;
        last_ = p.last();
        state_ = cursor_state::active;
        return e;
      }
    }
    if (p.off <= p.end) continue;  // walked again from the root
    auto st = Wk::next_leaf(p);
    if ((st == Wk::step::edge && !rewalk()) ||
        (st == Wk::step::dead && !Wk::rewalk_after(*core_, floor, floor, p))) {
      // past the end of the tree
      node_ = p.leaf, min_ = p.min, max_ = p.max, end_ = p.end;
      offset_ = p.end + 1;
      state_ = cursor_state::overflow;
      return nullptr;
    }
  }
}

template <unsigned S>
void *basic_cursor<S>::step_backward(std::uint64_t min, bool stop_on_empty) noexcept {
  using Wk = detail::walker<S>;
  typename Wk::leaf_pos p;
  p.leaf = static_cast<const detail::node<S> *>(node_);
  p.min = min_;
  p.max = max_;
  p.end = end_;
  bool have = true;  // p.off names a slot to consider
  if (state_ == cursor_state::underflow) {
    if (offset_ == detail::before_start) return nullptr;
    p.off = offset_;
  } else if (offset_ == 0) {
    have = false;
  } else {
    p.off = offset_ - 1;
  }
  // The mirror image of step_forward's rules.
  const bool before_the_start = !have && p.min == 0;
  const std::uint64_t ceil = have ? p.last() : p.min - 1;
  auto rewalk = [&] {
    return !before_the_start && Wk::dead_end(p) && Wk::rewalk_before(*core_, ceil, ceil, p);
  };
  for (;;) {
    if (!have) {
      auto st = Wk::prev_leaf(p);
      if ((st == Wk::step::edge && !rewalk()) ||
          (st == Wk::step::dead && !Wk::rewalk_before(*core_, ceil, ceil, p))) {
        // before the start of the tree; in RCU mode the tree may have become
        // a lone root entry meanwhile, which comes next going down unless
        // index 0 is already behind the cursor
        detail::word root = detail::engine<S>::root(*core_);
        if (!before_the_start && root != 0 && !detail::is_node_word(root))
          return root_entry_below(min);
        node_ = p.leaf, min_ = p.min, max_ = p.max, end_ = p.end;
        offset_ = detail::before_start;
        state_ = cursor_state::underflow;
        return nullptr;
      }
    }
    have = false;
    for (;;) {
      std::uint64_t lastv = p.last();
      if (lastv < min) {
        if (rewalk()) continue;
        node_ = p.leaf, min_ = p.min, max_ = p.max, end_ = p.end;
        offset_ = p.off;
        state_ = cursor_state::underflow;
        return nullptr;
      }
      void *e = p.entry();
      if (e || stop_on_empty) {
        node_ = p.leaf, min_ = p.min, max_ = p.max, end_ = p.end;
        offset_ = p.off;
        index_ = p.first();
        last_ = lastv;
        state_ = cursor_state::active;
        return e;
      }
      if (p.off == 0) break;
      --p.off;
    }
  }
}

template <unsigned S>
void *basic_cursor<S>::find(std::uint64_t max) noexcept {
  check_use("find");
  if (void *r; resume_if_nodeless(true, &r)) return r;
  switch (state_) {
    case cursor_state::error:
    case cursor_state::none: return nullptr;
    case cursor_state::root_entry: return past_root_entry();
    case cursor_state::start:
    case cursor_state::paused: {
      std::uint64_t at = index_;
      if (state_ == cursor_state::paused) {
        if (last_ == max_index) {
          note_position();
          state_ = cursor_state::none;
          return nullptr;
        }
        at = last_ + 1;
      }
      if (at > max) return limit_without_node(cursor_state::overflow, state_);
      void *e = position_at(at);
      if (state_ != cursor_state::active) return e;  // root entry or none
      if (e) return e;
      state_ = cursor_state::overflow;  // consider the walked slot itself
      return step_forward(max, false);
    }
    default:
      if (!node_) return nullptr;
      if (state_ == cursor_state::underflow) return turn_back(max, true, false);
      return step_forward(max, false);
  }
}

template <unsigned S>
void *basic_cursor<S>::find_rev(std::uint64_t min) noexcept {
  check_use("find_rev");
  if (void *r; resume_if_nodeless(false, &r)) return r;
  switch (state_) {
    case cursor_state::error: return nullptr;
    case cursor_state::none: return index_ == 0 ? nullptr : root_entry_below(min);
    case cursor_state::root_entry:  // nothing before [0, 0]
      return limit_without_node(cursor_state::underflow, cursor_state::root_entry);
    case cursor_state::start:
    case cursor_state::paused: {
      std::uint64_t at = index_;
      if (state_ == cursor_state::paused) {
        if (index_ == 0) {
          note_position();
          state_ = cursor_state::none;
          return nullptr;
        }
        at = index_ - 1;
      }
      if (at < min) return limit_without_node(cursor_state::underflow, state_);
      void *e = position_at(at);
      if (state_ == cursor_state::none) return root_entry_below(min);
      if (state_ != cursor_state::active) return e;
      if (e) return e;
      state_ = cursor_state::underflow;  // consider the walked slot itself
      return step_backward(min, false);
    }
    default:
      if (!node_) return nullptr;
      if (state_ == cursor_state::overflow) return turn_back(min, false, false);
      return step_backward(min, false);
  }
}

template <unsigned S>
void *basic_cursor<S>::advance(const char *op, std::uint64_t limit, bool forward,
                               bool stop_on_empty) noexcept {
  check_use(op);
  if (void *r; resume_if_nodeless(forward, &r)) return r;
  if (state_ == cursor_state::root_entry)  // next/prev from the entry at [0, 0]
    return forward ? past_root_entry()
                   : limit_without_node(cursor_state::underflow, cursor_state::root_entry);
  if (state_ == cursor_state::start || state_ == cursor_state::paused) {
    // Stand on the range holding the resume point; report what follows it.
    position_at(forward && state_ == cursor_state::paused ? last_ : index_);
    if (state_ == cursor_state::root_entry)
      return forward ? past_root_entry()
                     : limit_without_node(cursor_state::underflow, cursor_state::root_entry);
    if (!forward && state_ == cursor_state::none) return root_entry_below(limit);
    if (state_ != cursor_state::active) return nullptr;
  }
  if (!forward && state_ == cursor_state::none && index_ != 0) return root_entry_below(limit);
  if (state_ == cursor_state::error || state_ == cursor_state::none || !node_) return nullptr;
  if (state_ == (forward ? cursor_state::underflow : cursor_state::overflow))
    return turn_back(limit, forward, stop_on_empty);
  return forward ? step_forward(limit, stop_on_empty) : step_backward(limit, stop_on_empty);
}

/// A forward call from the entry of a root-entry tree: nothing follows
/// [0, 0], so the cursor reads none over [1, max] (the kernel's
/// mas_next_setup / mas_find_setup on a root pointer).
template <unsigned S>
void *basic_cursor<S>::past_root_entry() noexcept {
  note_position();
  node_ = nullptr;
  index_ = 1;
  last_ = max_index;
  state_ = cursor_state::none;
  return nullptr;
}

/// The other direction after a limit: walks again to the range the cursor
/// last stood on ([index_, last_], kept through the limit) and returns it if
/// the call reports it and the new limit allows it; otherwise steps on from
/// it in the new direction.
template <unsigned S>
void *basic_cursor<S>::turn_back(std::uint64_t limit, bool forward, bool stop_on_empty) noexcept {
  void *e = position_at(index_);
  if (state_ != cursor_state::active) return e;  // the tree lost its nodes meanwhile
  if (forward ? index_ > limit : last_ < limit) {
    state_ = forward ? cursor_state::overflow : cursor_state::underflow;  // refused: this slot
    return nullptr;
  }
  if (e || stop_on_empty) return e;
  return forward ? step_forward(limit, false) : step_backward(limit, false);
}

template <unsigned S>
void *basic_cursor<S>::next(std::uint64_t max) noexcept {
  return advance("next", max, true, false);
}

template <unsigned S>
void *basic_cursor<S>::prev(std::uint64_t min) noexcept {
  return advance("prev", min, false, false);
}

template <unsigned S>
void *basic_cursor<S>::next_range(std::uint64_t max) noexcept {
  return advance("next_range", max, true, true);
}

template <unsigned S>
void *basic_cursor<S>::prev_range(std::uint64_t min) noexcept {
  return advance("prev_range", min, false, true);
}

template <unsigned S>
std::error_code basic_cursor<S>::empty_area(std::uint64_t min, std::uint64_t max,
                                            std::uint64_t size) noexcept {
  check_use("empty_area");
  std::uint64_t at = 0;
  err_ = detail::gap_search<S>::lowest(*core_, min, max, size, at);
  return place_window(at, size);
}

template <unsigned S>
std::error_code basic_cursor<S>::empty_area_rev(std::uint64_t min, std::uint64_t max,
                                                std::uint64_t size) noexcept {
  check_use("empty_area_rev");
  std::uint64_t at = 0;
  err_ = detail::gap_search<S>::highest(*core_, min, max, size, at);
  return place_window(at, size);
}

/// After a gap search: the window becomes [index, last] in state start
/// (nothing cached, so the cursor is reusable whatever comes next: the
/// kernel's regression 7), or the error state.
template <unsigned S>
std::error_code basic_cursor<S>::place_window(std::uint64_t at, std::uint64_t size) noexcept {
  node_ = nullptr;
  if (err_) {
    state_ = cursor_state::error;
    return err_;
  }
  index_ = at;
  last_ = at + (size - 1);
  state_ = cursor_state::start;
  return {};
}

// ---- the write cursor -------------------------------------------------------------

template <unsigned S>
basic_write_cursor<S>::basic_write_cursor(tree_type &t, std::uint64_t first,
                                          std::uint64_t last) noexcept
    : base(t, first, last), wcore_(&t.core_) {}

template <unsigned S>
basic_write_cursor<S>::basic_write_cursor(basic_write_cursor &&o) noexcept
    : base(o), wcore_(o.wcore_) {
  reserve_ = o.reserve_;
  nreserve_ = o.nreserve_;
  pre_first_ = o.pre_first_;
  pre_last_ = o.pre_last_;
  pre_epoch_ = o.pre_epoch_;
  pre_entry_ = o.pre_entry_;
  pre_valid_ = o.pre_valid_;
  o.reserve_ = nullptr;
  o.nreserve_ = 0;
  o.pre_valid_ = false;
}

template <unsigned S>
void basic_write_cursor<S>::after_write() noexcept {
  this->epoch_ = detail::engine<S>::epoch(*wcore_);
  this->state_ = cursor_state::paused;
  this->node_ = nullptr;
  this->err_.clear();  // a successful write ends any earlier error
}

template <unsigned S>
std::error_code basic_write_cursor<S>::store(void *entry) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::store()");
  this->check_use("store");
  if (this->index_ > this->last_ || is_reserved_entry(entry)) {
    this->err_ = errc::invalid_argument;
    this->state_ = cursor_state::error;
    return this->err_;
  }
  std::error_code ec;
  try {
    ec = detail::writer<S>::store(*wcore_, this->index_, this->last_, entry);
  } catch (...) {
    ec = errc::no_memory;
  }
  if (ec) {
    this->err_ = ec;
    this->state_ = cursor_state::error;
    this->epoch_ = detail::engine<S>::epoch(*wcore_);
    return ec;
  }
  after_write();
  return {};
}

template <unsigned S>
std::error_code basic_write_cursor<S>::erase(void **old) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::erase()");
  this->check_use("erase");
  if (old) *old = nullptr;
  void *e = this->position_at(this->index_);
  if (!e) return {};
  if (auto ec = this->store(nullptr)) return ec;
  if (old) *old = e;
  return {};
}

template <unsigned S>
std::error_code basic_write_cursor<S>::preallocate(void *entry) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::preallocate()");
  this->check_use("preallocate");
  release();
  if (this->index_ > this->last_ || is_reserved_entry(entry)) {
    this->err_ = errc::invalid_argument;
    this->state_ = cursor_state::error;
    return this->err_;
  }
  using E = detail::engine<S>;
  detail::node_supply dry;
  dry.how = detail::node_supply::mode::dry;
  detail::writer<S>::store(*wcore_, this->index_, this->last_, entry, &dry);
  if (!detail::fill_reserve<S>(*wcore_, reserve_, nreserve_, dry.used)) {  // from empty
    this->err_ = errc::no_memory;
    this->state_ = cursor_state::error;
    return this->err_;
  }
  pre_first_ = this->index_;
  pre_last_ = this->last_;
  pre_entry_ = entry;
  pre_epoch_ = E::epoch(*wcore_);
  pre_valid_ = true;
  return {};
}

template <unsigned S>
void basic_write_cursor<S>::store_prealloc(void *entry) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::store_prealloc()");
  this->check_use("store_prealloc");
  using E = detail::engine<S>;
  if constexpr (detail::checked_build) {
    const char *rule = nullptr;
    if (!pre_valid_)
      rule = "store_prealloc() without a successful preallocate()";
    else if (pre_epoch_ != E::epoch(*wcore_))
      rule = "the tree changed between preallocate() and store_prealloc()";
    else if (pre_first_ != this->index_ || pre_last_ != this->last_)
      rule = "the range changed between preallocate() and store_prealloc()";
    else if (pre_entry_ != entry)
      rule = "store_prealloc() with another entry than preallocate() was given";
    if (rule)
      detail::cursor_rule_broken("store_prealloc", this->state_, this->index_, this->last_, rule);
  }
  store_from_reserve(entry);
}

/// The store of store_prealloc() and store_reserved(). Cannot fail for lack
/// of memory: every node comes from the reserve, and an exhausted reserve
/// aborts (never corrupts).
template <unsigned S>
void basic_write_cursor<S>::store_from_reserve(void *entry) noexcept {
  detail::node_supply res;
  res.how = detail::node_supply::mode::reserve;
  res.reserve = reserve_;
  res.available = nreserve_;
  detail::writer<S>::store(*wcore_, this->index_, this->last_, entry, &res);
  reserve_ = res.reserve;
  nreserve_ = res.available;
  pre_valid_ = false;
  after_write();
}

// ---- reserve for a sequence of stores (maple/cursor.h) ------------------------------

template <unsigned S>
std::size_t basic_write_cursor<S>::reserve_bound(unsigned stores) const noexcept {
  using E = detail::engine<S>;
  // The writer builds at most max_nodes_per_level nodes a level (its split
  // plan stops there) plus one new root, over every level of the tree.
  static_assert(max_nodes_per_level == 8);
  std::size_t need = 0;
  unsigned h = std::max(E::height(*wcore_), 1u);
  for (unsigned i = 0; i < stores; ++i, ++h) need += std::size_t{max_nodes_per_level} * h + 1;
  return need;
}

template <unsigned S>
std::error_code basic_write_cursor<S>::reserve(unsigned stores) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::reserve()");
  const std::size_t target = nreserve_ + reserve_bound(stores);
  if (!detail::fill_reserve<S>(*wcore_, reserve_, nreserve_, target)) return errc::no_memory;
  return {};
}

template <unsigned S>
std::error_code basic_write_cursor<S>::reserve_upto(unsigned stores) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::reserve_upto()");
  const std::size_t need = reserve_bound(stores);
  if (nreserve_ >= need) return {};  // the usual case when a node cache feeds it
  if (!detail::fill_reserve<S>(*wcore_, reserve_, nreserve_, need)) return errc::no_memory;
  return {};
}

template <unsigned S>
void basic_write_cursor<S>::adopt_reserve(node_stash &s) noexcept {
  if (nreserve_ == 0) {  // the usual case: the stash becomes the reserve
    reserve_ = s.nodes;
    nreserve_ = s.count;
    s = node_stash{};
    return;
  }
  detail::node_supply res;
  res.reserve = reserve_;
  res.available = nreserve_;
  while (s.count) {
    void *n = s.nodes;
    s.nodes = *static_cast<void **>(n);
    --s.count;
    res.push(n);
  }
  s.nodes = nullptr;
  reserve_ = res.reserve;
  nreserve_ = res.available;
}

template <unsigned S>
void basic_write_cursor<S>::stash_reserve(node_stash &s, std::size_t keep) noexcept {
  // The reserve is a list of the same shape: its first `keep` nodes move
  // over whole, the rest is freed.
  detail::node_supply res;
  res.reserve = reserve_;
  res.available = nreserve_;
  while (res.available > keep)
    detail::engine<S>::free_node(*wcore_, static_cast<detail::node<S> *>(res.pop()));
  s.nodes = res.reserve;
  s.count = res.available;
  reserve_ = nullptr;
  nreserve_ = 0;
  pre_valid_ = false;
}

template <unsigned S>
void basic_write_cursor<S>::store_reserved(void *entry) noexcept {
  detail::assert_external_lock_held(*wcore_, "write_cursor::store_reserved()");
  this->check_use("store_reserved");
  if constexpr (detail::checked_build) {
    if (this->index_ > this->last_ || is_reserved_entry(entry))
      detail::cursor_rule_broken("store_reserved", this->state_, this->index_, this->last_,
                                 "store_reserved() with an invalid range or entry");
  }
  store_from_reserve(entry);
}

template <unsigned S>
void basic_write_cursor<S>::release() noexcept {
  using E = detail::engine<S>;
  detail::node_supply res;
  res.reserve = reserve_;
  res.available = nreserve_;
  while (res.available) E::free_node(*wcore_, static_cast<detail::node<S> *>(res.pop()));
  reserve_ = nullptr;
  nreserve_ = 0;
  pre_valid_ = false;
}

}  // namespace maple
