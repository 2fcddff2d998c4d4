// The invariant checker behind validate(): every check of the kernel's
// mt_validate (reference section 8) that applies to this design, reporting
// the first violation with a dump of the offending node.
#pragma once

#include "engine/dump.h"
#include "engine/engine.h"
#include "engine/gap_tracking.h"
#include "engine/walk.h"

#include <sstream>
#include <string>

namespace maple::detail {

template <unsigned S>
struct checker {
  using E = engine<S>;
  using W = walker<S>;
  using D = dumper<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  static constexpr unsigned P = S - 1;

  struct state {
    const tree_t &t;
    unsigned h;
    check_report rep;
    bool prev_leaf_ends_empty = false;  // across the whole leaf chain
    std::uint64_t next_min = 0;         // leaves must tile [0, max]
  };

  static bool fail(state &st, const node_t *n, std::uint64_t min, std::uint64_t max, unsigned depth,
                   const std::string &what) {
    std::ostringstream os;
    os << "maple tree invariant violated: " << what << "\n";
    const bool leaf = depth + 1 == st.h;
    if (n)
      D::dump_node_line(os, n, min, max, depth, leaf, dump_format::dec,
                        !leaf && E::tracks_gaps(st.t));
    st.rep.ok = false;
    st.rep.message = os.str();
    return false;
  }

  static check_report validate(const tree_t &t) {
    word root = E::root(t);
    state st{t, E::height(t), {}, false, 0};
    if (!is_node_word(root)) {
      if (st.h != 0) fail(st, nullptr, 0, 0, 0, "root holds an entry but height != 0");
      if (is_reserved_entry(reinterpret_cast<void *>(root)))
        fail(st, nullptr, 0, 0, 0, "reserved entry in the root word");
      return st.rep;
    }
    node_t *r = node_t::from_ref(root);
    if (st.h == 0 || st.h > E::kMaxHeight) {
      fail(st, r, 0, max_index, 0, "bad height " + std::to_string(st.h));
      return st.rep;
    }
    if (!r->is_root()) {
      fail(st, r, 0, max_index, 0, "root node's parent word is not the root marker");
      return st.rep;
    }
    if (node_t::ref_is_leaf(root) != (st.h == 1)) {
      fail(st, r, 0, max_index, 0, "root node kind does not match the height");
      return st.rep;
    }
    if (check_node(st, root, 0, max_index, 0) && st.next_min != 0)
      fail(st, r, 0, max_index, 0, "leaves do not cover the whole index space");
    return st.rep;
  }

  static bool check_node(state &st, word ref, std::uint64_t min, std::uint64_t max,
                         unsigned depth) {
    const node_t *n = node_t::from_ref(ref);
    const bool leaf = node_t::ref_is_leaf(ref);
    if (n->is_dead()) return fail(st, n, min, max, depth, "dead node reachable");
    if (leaf != (depth + 1 == st.h))
      return fail(st, n, min, max, depth, "leaf at the wrong depth / internal node at leaf depth");
    if (!leaf && node_t::kind_of(ref) != E::internal_kind(st.t))
      return fail(st, n, min, max, depth, "internal node of the wrong kind for the tree's flags");
    const bool gap_node = node_t::kind_of(ref) == node_kind::gap_internal;
    const unsigned end = node_t::end_of(ref, max);
    if (end > (gap_node ? node_t::A - 1 : P))
      return fail(st, n, min, max, depth, "data end out of range");
    if (!leaf && W::internal_end(n) != end)
      return fail(st, n, min, max, depth, "metadata end disagrees with the pivots");
    if (end < P && n->pivot[end] != max)
      return fail(st, n, min, max, depth, "pivot at the data end is not the node maximum");
    if (end < S - 1 && (n->slot[S - 1] & 0xFF) != end)
      return fail(st, n, min, max, depth, "metadata end is stale");
    const bool is_root = depth == 0;
    // The rightmost node of each level is exempt (as in the kernel).
    if (!is_root && max != max_index && end + 1 < (leaf ? E::kMin : E::internal_min(st.t)))
      return fail(st, n, min, max, depth,
                  "under-full node (" + std::to_string(end + 1) + " items)");
    if (is_root && !leaf && end == 0)
      return fail(st, n, min, max, depth, "internal root with a single child");
    std::uint64_t lo = min;
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      if (hi < lo || hi > max)
        return fail(st, n, min, max, depth,
                    "pivot " + std::to_string(i) + " out of order or outside the node range");
      if (i < end && hi == max)
        return fail(st, n, min, max, depth, "pivot reaches the node maximum before the end");
      if (leaf) {
        if (!check_leaf_slot(st, n, min, max, depth, i, lo, hi)) return false;
      } else {
        word c = n->slot[i];
        if (c == 0 || !is_node_word(c))
          return fail(st, n, min, max, depth, "missing child at slot " + std::to_string(i));
        const node_t *cn = node_t::from_ref(c);
        if (cn->parent_node() != n || cn->parent_slot() != i || cn->is_root())
          return fail(st, n, min, max, depth,
                      "child at slot " + std::to_string(i) + " has a wrong parent link");
        if (!check_node(st, c, lo, hi, depth + 1)) return false;
      }
      if (hi == max_index) break;
      lo = hi + 1;
    }
    if (gap_node) {
      if (!check_gaps(st, n, min, max, depth, end)) return false;
    } else {
      for (unsigned i = end + 1; i < P; ++i)
        if (n->pivot[i] != 0) return fail(st, n, min, max, depth, "pivot set past the data end");
      for (unsigned i = end + 1; i + 1 < S; ++i)
        if (n->slot[i] != 0) return fail(st, n, min, max, depth, "slot set past the data end");
    }
    if (leaf && n->slot[end] == 0 && max != max_index)
      return fail(st, n, min, max, depth, "non-rightmost leaf ends with an empty range");
    if (is_root && leaf) {
      if (end == 0 && n->slot[0] == 0)
        return fail(st, n, min, max, depth, "empty tree kept as a leaf");
      if (end == 1 && n->pivot[0] == 0 && n->slot[1] == 0 && n->slot[0] &&
          !is_node_word(n->slot[0]))
        return fail(st, n, min, max, depth, "a lone [0,0] entry belongs in the root word");
    }
    return true;
  }

  /// A gap node's own words past the data end, its gap records (each the
  /// child's largest empty range, recomputed) and its largest-gap offset.
  static bool check_gaps(state &st, const node_t *n, std::uint64_t min, std::uint64_t max,
                         unsigned depth, unsigned end) {
    constexpr unsigned A = node_t::A;
    if (n->pivot[A - 1] != max)
      return fail(st, n, min, max, depth, "gap node's last pivot is not the node maximum");
    for (unsigned i = end + 1; i + 1 < A; ++i)
      if (n->pivot[i] != 0) return fail(st, n, min, max, depth, "pivot set past the data end");
    for (unsigned i = end + 1; i < A; ++i)
      if (n->slot[i] != 0 || n->gap(i) != 0)
        return fail(st, n, min, max, depth, "slot or gap set past the data end");
    std::uint64_t lo = min, best = 0;
    for (unsigned i = 0; i <= end; ++i) {
      std::uint64_t hi = n->slot_max(i, end, max);
      std::uint64_t want = gap_tracker<S>::node_gap(n->slot[i], lo, hi);
      if (n->gap(i) != want)
        return fail(st, n, min, max, depth,
                    "gap " + std::to_string(i) + " is " + std::to_string(n->gap(i)) +
                        ", the child's largest empty range is " + std::to_string(want));
      best = std::max(best, want);
      lo = hi + 1;
    }
    if (n->gap_offset() > end || n->gap(n->gap_offset()) != best)
      return fail(st, n, min, max, depth,
                  "largest-gap offset " + std::to_string(n->gap_offset()) +
                      " does not point at the largest gap");
    return true;
  }

  static bool check_leaf_slot(state &st, const node_t *n, std::uint64_t min, std::uint64_t max,
                              unsigned depth, unsigned i, std::uint64_t lo, std::uint64_t hi) {
    if (lo != st.next_min)
      return fail(st, n, min, max, depth, "leaf ranges do not tile the index space");
    st.next_min = hi + 1;  // wraps to 0 after the last range
    word e = n->slot[i];
    if (is_reserved_entry(reinterpret_cast<void *>(e)))
      return fail(st, n, min, max, depth, "reserved entry stored at slot " + std::to_string(i));
    if (e == 0 && st.prev_leaf_ends_empty)
      return fail(st, n, min, max, depth, "two adjacent empty ranges at slot " + std::to_string(i));
    st.prev_leaf_ends_empty = e == 0;
    return true;
  }
};

}  // namespace maple::detail
