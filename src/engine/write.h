// The write engine: one store of an entry over [first, last].
//
// Design (learned from the kernel's spanning store, reference section 4.2,
// and generalised so that one mechanism serves every structural write):
// walk a left path to `first` and a right path to `last`; at the leaf level
// gather the surviving prefix of the left leaf, the new range and the
// surviving suffix of the right leaf as a list of (pivot, slot) items,
// coalescing adjacent empty ranges. Then, level by level going up:
//   * widen the replaced interval of nodes when needed: a non-rightmost leaf
//     may not end empty (take the next leaf), an under-full result pulls in
//     a neighbour (rebalance; across parents if needed), an overflow first
//     tries to push into a sibling with room;
//   * distribute the items over 1..k new nodes (never ending a leaf on an
//     empty range, left-heavy when appending at the right edge);
//   * the new nodes replace the interval in the parent level's items.
// It stops when one node replaced one node (a single pointer publish), when a
// whole level fits in one node (new root: the tree shrinks), or above the old
// root (the tree grows). Every node is allocated before anything reachable
// changes, so "no memory" leaves the tree as it was (a leaf split rewrites
// the old leaf in place as its left part in plain mode, and puts its words
// back if a later allocation fails); the replaced nodes are freed after the
// publish. In-place variants (exact fit, slot store, append, node rewrite)
// run when nothing structural changes; in RCU mode, where readers may stand
// on the leaf, the same splice goes into a copy published with one store.
#pragma once

#include "engine/engine.h"
#include "engine/gap_tracking.h"
#include "engine/reclaim.h"
#include "engine/walk.h"
#include "engine/write_trace.h"

#include <algorithm>
#include <cstring>

namespace maple::detail {

/// Where a write's new nodes come from: the tree's resource, a reserve
/// taken earlier by preallocation (a store that then cannot fail), or
/// nowhere at all (a dry run that counts the nodes the write would take
/// without changing the tree).
struct node_supply {
  enum class mode { allocate, reserve, dry } how = mode::allocate;
  void *reserve = nullptr;  // mode::reserve: nodes linked through their first word
  unsigned available = 0;
  unsigned used = 0;  // nodes the write took (or would take)

  void push(void *n) noexcept {
    *static_cast<void **>(n) = reserve;
    reserve = n;
    ++available;
  }
  void *pop() noexcept {
    void *n = reserve;
    reserve = *static_cast<void **>(n);
    --available;
    return n;
  }
};

/// Called when a store_prealloc() needs more nodes than were reserved: a
/// preallocation bug, never a user error. Aborts with a message.
[[noreturn]] void reserve_exhausted() noexcept;

template <unsigned S>
struct writer {
  using E = engine<S>;
  using W = walker<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  using G = gap_tracker<S>;
  static constexpr unsigned P = S - 1;
  static constexpr unsigned kMin = E::kMin;
  static constexpr unsigned H = E::kMaxHeight;

  struct item {
    std::uint64_t piv;  // last index covered
    word w;             // entry (leaf) or child reference (internal)
  };

  struct level {
    node_t *n;
    unsigned end, slot;  // slot: of the path's child / of the index in a leaf
    std::uint64_t min, max;
  };

  // Capacity of the item list: prefix + new + suffix + three widenings.
  static constexpr unsigned kItems = 6 * S + 8;
  static constexpr unsigned kFront = 2 * S + 4;  // room to prepend

  // GCC 12 reports the item buffer as maybe-uninitialized once inlined; it
  // is only read below the filled mark [lo, hi). Zeroing it would cost every
  // store a 1.6 KiB memset.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  struct op {
    tree_t &t;
    unsigned h = 0;  // height of the tree being written
    bool virtual_root = false;
    bool r_upper = true;  // R[0, h-1) is walked (false: it equals L's, not yet copied)
    level L[H + 1], R[H + 1];
    std::uint64_t lo_bound[H + 1], hi_bound[H + 1];  // replaced interval per depth
    item buf[kItems];
    unsigned lo = kFront, hi = kFront;  // items in buf[lo, hi)
    unsigned new_lo = 0, new_hi = 0;    // the written items within [lo, hi)
    item out[8];                        // new nodes of the level just built
    unsigned nout = 0;
    node_t *fresh[(H + 2) * 8];
    bool fresh_leaf[(H + 2) * 8];
    unsigned nfresh = 0;

    // Plain mode: the leaf a split rewrote in place as its left part, and
    // its old words, put back if a later allocation of the write fails.
    node_t *kept = nullptr;
    alignas(16) unsigned char kept_copy[sizeof(node_t)];

    node_supply *supply;
    node_reclaimer<S> reclaim{t};  // frees (or retires, RCU mode) when the write ends
    bool dry() const noexcept { return supply->how == node_supply::mode::dry; }
    bool gaps() const noexcept { return E::tracks_gaps(t); }
    /// Most and fewest items a node of the level holds.
    unsigned cap(bool leaf) const noexcept { return leaf ? S : E::internal_cap(t); }
    unsigned min_items(bool leaf) const noexcept { return leaf ? kMin : E::internal_min(t); }
    word ref(node_t *n, bool leaf) const noexcept {
      return node_t::make_ref(n, leaf ? node_kind::leaf : E::internal_kind(t));
    }

    op(tree_t &tr, node_supply *sup) : t(tr), supply(sup) {}
    unsigned count() const noexcept { return hi - lo; }
    item &at(unsigned i) noexcept { return buf[lo + i]; }

    void push_back(std::uint64_t piv, word w, bool leaf) noexcept {
      if (leaf && w == 0 && hi > lo && buf[hi - 1].w == 0) {
        buf[hi - 1].piv = piv;  // adjacent empty ranges coalesce
        return;
      }
      buf[hi++] = {piv, w};
    }
    void push_front(std::uint64_t piv, word w, bool leaf) noexcept {
      if (leaf && w == 0 && hi > lo && buf[lo].w == 0) return;  // merges into ours
      buf[--lo] = {piv, w};
    }
    /// Items that cannot coalesce with their neighbour (the inside of a
    /// node's run, internal levels) skip the check.
    void push_raw(std::uint64_t piv, word w) noexcept { buf[hi++] = {piv, w}; }
  };
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  // ---- paths ---------------------------------------------------------------

  /// node::slot_for with its halving steps unrolled (the compiler keeps
  /// that one a loop): the writer's walks search every level twice or more.
  template <unsigned Step = node_t::top_step>
  static unsigned find_slot(const node_t *n, std::uint64_t index, unsigned end,
                            unsigned pos = 0) noexcept {
    if constexpr (Step == 0) {
      return pos;
    } else {
      const unsigned next = pos + Step;
      if constexpr ((S & (S - 1)) == 0)  // every probe is inside the array
        pos = (next <= end) & (load_relaxed(n->pivot[next - 1]) < index) ? next : pos;
      else
        pos = next <= end && load_relaxed(n->pivot[next - 1]) < index ? next : pos;
      return find_slot<Step / 2>(n, index, end, pos);
    }
  }

  static void walk_path(word root, unsigned h, std::uint64_t index, level *lv) noexcept {
    word ref = root;
    std::uint64_t min = 0, max = max_index;
    for (unsigned d = 0; d < h; ++d) {
      node_t *n = node_t::from_ref(ref);
      W::prefetch_node(n);
      unsigned end = node_t::end_of(ref, max);
      unsigned off = find_slot(n, index, end);
      lv[d] = {n, end, off, min, max};
      if (d + 1 < h) {
        std::uint64_t cmin = n->slot_min(off, min);
        max = n->slot_max(off, end, max);
        min = cmin;
        ref = n->slot[off];
      }
    }
  }

  /// Re-derives path entries (from+1 .. d) after lv[from].slot moved.
  static void descend_path(level *lv, unsigned from, unsigned d, bool rightmost) noexcept {
    for (unsigned j = from + 1; j <= d; ++j) {
      level &p = lv[j - 1];
      word ref = p.n->slot[p.slot];
      node_t *n = node_t::from_ref(ref);
      std::uint64_t min = p.n->slot_min(p.slot, p.min);
      std::uint64_t max = p.n->slot_max(p.slot, p.end, p.max);
      unsigned end = node_t::end_of(ref, max);
      lv[j] = {n, end, rightmost ? end : 0u, min, max};
    }
  }

  /// Appends all items of node n (bounds max, data end e).
  /// (A node's own ranges are already coalesced: only the item that meets
  /// the list can merge.)
  static void take_all_back(op &o, const node_t *n, unsigned e, std::uint64_t max, bool leaf) {
    o.push_back(n->slot_max(0, e, max), n->slot[0], leaf);
    for (unsigned i = 1; i <= e; ++i) o.push_raw(n->slot_max(i, e, max), n->slot[i]);
  }
  static void take_all_front(op &o, const node_t *n, unsigned e, std::uint64_t max, bool leaf) {
    o.push_front(n->slot_max(e, e, max), n->slot[e], leaf);
    for (unsigned i = e; i-- > 0;) o.buf[--o.lo] = {n->pivot[i], n->slot[i]};
  }

  /// Widens the replaced interval at depth d by the next node on the right.
  static bool extend_right(op &o, unsigned d, bool leaf) noexcept {
    if (o.R[d].max == max_index) return false;
    unsigned i = d - 1;
    while (o.R[i].slot == o.R[i].end) --i;  // the root covers everything: stops
    ++o.R[i].slot;
    descend_path(o.R, i, d, false);
    level &r = o.R[d];
    take_all_back(o, r.n, r.end, r.max, leaf);
    return true;
  }
  /// Widens the replaced interval at depth d by the previous node.
  static bool extend_left(op &o, unsigned d, bool leaf) noexcept {
    if (o.L[d].min == 0) return false;
    unsigned i = d - 1;
    while (o.L[i].slot == 0) --i;
    --o.L[i].slot;
    descend_path(o.L, i, d, true);
    level &l = o.L[d];
    take_all_front(o, l.n, l.end, l.max, leaf);
    return true;
  }

  // ---- distribution --------------------------------------------------------

  /// Splits count items into k nodes; sizes[] gets each node's item count.
  /// The last node of a rightmost interval (max == max_index) is exempt
  /// from the minimum, as in the kernel: appends then leave full nodes.
  static bool try_split(const item *it, unsigned count, unsigned k, bool leaf, bool left_heavy,
                        bool rightmost, unsigned cap, unsigned kmin, unsigned *sizes) noexcept {
    const unsigned last_min = rightmost ? 1 : kmin;
    unsigned pos = 0;
    for (unsigned i = 0; i < k; ++i) {
      unsigned rem = count - pos, nl = k - i;
      if (nl == 1) {
        if (rem > cap || (k > 1 && rem < last_min)) return false;
        sizes[i] = rem;
        return true;
      }
      int lo = std::max<int>(int(kmin), int(rem) - int((nl - 1) * cap));
      int hi = std::min<int>(int(cap), int(rem) - int((nl - 2) * kmin + last_min));
      if (lo > hi) return false;
      int target = left_heavy ? hi : int((rem + nl - 1) / nl);
      target = std::clamp(target, lo, hi);
      if (leaf && it[pos + target - 1].w == 0) {  // a leaf may not end empty
        if (target + 1 <= hi)
          ++target;
        else if (target - 1 >= lo)
          --target;
        else
          return false;
      }
      sizes[i] = unsigned(target);
      pos += unsigned(target);
    }
    return false;
  }

  static unsigned plan_split(const item *it, unsigned count, bool leaf, bool left_heavy,
                             bool rightmost, unsigned cap, unsigned kmin,
                             unsigned *sizes) noexcept {
    for (unsigned k = std::max(1u, (count + cap - 1) / cap); k <= 8; ++k)
      if (try_split(it, count, k, leaf, left_heavy, rightmost, cap, kmin, sizes)) return k;
    return 0;  // unreachable for item counts the engine produces
  }

  static void fill(node_t *n, const item *it, unsigned count, unsigned from = 0) noexcept {
    fill_from(n, from, it + from, count);
  }

  /// Fills node n of the level (bounds [min, ...]) with items; an
  /// allocation tree's internal node also gets its gap records (not in a dry
  /// run: nothing reads them there).
  static void fill_node(const op &o, node_t *n, const item *it, unsigned count, bool leaf,
                        std::uint64_t min, unsigned from = 0) noexcept {
    if (leaf || !o.gaps()) return fill(n, it, count, from);
    fill_gap_node(n, it, count);
    if (!o.dry()) G::compute(n, min, it[count - 1].piv);
  }

  /// The words of a gap node but its gap records: pivots (pivot[A-1] and
  /// pivot[end] hold the node maximum, the ones between are zero), slots,
  /// and the data end in the metadata.
  static void fill_gap_node(node_t *n, const item *it, unsigned count) noexcept {
    constexpr unsigned A = node_t::A;
    const std::uint64_t max = it[count - 1].piv;
    for (unsigned i = 0; i + 1 < count; ++i) n->pivot[i] = it[i].piv;
    for (unsigned i = count - 1; i < A; ++i)
      store_relaxed(n->pivot[i], i == count - 1 || i == A - 1 ? max : std::uint64_t{0});
    for (unsigned i = 0; i < count; ++i) n->slot[i] = it[i].w;
    for (unsigned i = count; i < A; ++i) store_relaxed(n->slot[i], word{0});
    n->set_meta(count - 1, 0);  // the gap offset comes with the gaps
  }

  static void adopt_children(node_t *n, unsigned count, unsigned from = 0) noexcept {
    for (unsigned i = from; i < count; ++i) node_t::from_ref(n->slot[i])->set_parent(n, i);
  }

  // ---- retiring replaced nodes ---------------------------------------------

  /// Frees the nodes under n (at depth d, bounds [min, max]) that lie in the
  /// replaced interval of their depth; frees n too unless keep_self.
  static void retire(op &o, node_t *n, unsigned d, std::uint64_t min, std::uint64_t max,
                     bool keep_self) noexcept {
    if (n == o.kept) return;  // a split's left part, rewritten in place
    if (d + 1 < o.h) {
      // Only the children from the one holding lo to the one holding hi
      // can lie inside the interval.
      const unsigned e = W::internal_end(n);
      const std::uint64_t lo = o.lo_bound[d + 1], hi = o.hi_bound[d + 1];
      for (unsigned s = n->slot_for(lo, e); s <= e; ++s) {
        std::uint64_t cmin = n->slot_min(s, min), cmax = n->slot_max(s, e, max);
        if (cmin > hi) break;
        if (cmin >= lo && cmax <= hi)
          retire(o, node_t::from_ref(n->slot[s]), d + 1, cmin, cmax, false);
      }
    }
    if (!keep_self && !(o.virtual_root && d == 0)) o.reclaim.retire(n);
  }

  // ---- the store -------------------------------------------------------------

  /// What a dry run's new nodes point at: it counts them and never writes
  /// or reads them, so one shared node serves every thread.
  static node_t *dry_node() noexcept {
    static node_t never_written;
    return &never_written;
  }

  static node_t *new_node(op &o, bool leaf) {
    node_supply &sup = *o.supply;
    node_t *n;
    switch (sup.how) {
      case node_supply::mode::dry: n = dry_node(); break;
      case node_supply::mode::reserve:
        if (sup.available == 0) reserve_exhausted();
        n = static_cast<node_t *>(sup.pop());
        break;
      default:
        n = E::alloc_node(o.t);  // may throw std::bad_alloc
        break;
    }
    // Until commit_parents names its parent, a new node reads as dead: a
    // reader that reaches it early (RCU mode, through a child adopted
    // first) walks again from the root instead of following a stale word.
    if (sup.how != node_supply::mode::dry) n->set_dead();
    ++sup.used;
    o.fresh_leaf[o.nfresh] = leaf;
    o.fresh[o.nfresh++] = n;
    return n;
  }

  /// Undoes new_node() for every node of a write that cannot complete.
  static void release_fresh(op &o) noexcept {
    node_supply &sup = *o.supply;
    for (unsigned i = o.nfresh; i-- > 0;) {
      if (sup.how == node_supply::mode::allocate)
        E::free_node(o.t, o.fresh[i]);
      else if (sup.how == node_supply::mode::reserve)
        sup.push(o.fresh[i]);
    }
    sup.used -= o.nfresh;
    o.nfresh = 0;
  }

  /// Makes a freshly built top node the tree's root, collapsing trivial
  /// shapes: an internal root with one child, a leaf holding only [0, 0] or
  /// nothing at all.
  static void install_root(op &o, node_t *n, bool leaf, unsigned new_h) noexcept {
    tree_t &t = o.t;
    for (;;) {
      if (leaf) {
        unsigned e = n->end(max_index);
        word only0 = n->slot[0];
        if (e == 0 && n->slot[0] == 0) {
          E::set_root(t, 0);
          E::set_height(t, 0);
          o.reclaim.retire(n);
          return;
        }
        if (e == 1 && n->pivot[0] == 0 && n->slot[1] == 0 && only0 != 0 && !is_node_word(only0)) {
          E::set_root(t, only0);
          E::set_height(t, 0);
          o.reclaim.retire(n);
          return;
        }
        break;
      }
      if (W::internal_end(n) != 0) break;
      word child = n->slot[0];
      o.reclaim.retire(n);
      n = node_t::from_ref(child);
      leaf = node_t::ref_is_leaf(child);
      --new_h;
    }
    n->set_root();
    E::set_root(t, o.ref(n, leaf));
    E::set_height(t, new_h);
  }

  /// Stores entry over [first, last]; caller holds the lock and validated
  /// the arguments. Returns no_memory (tree unchanged) or success.
  static std::error_code store(tree_t &t, std::uint64_t first, std::uint64_t last, void *entry,
                               node_supply *supply = nullptr) {
    node_supply local;
    if (!supply) supply = &local;
    if (supply->how == node_supply::mode::dry) {  // a dry run is not a write
#ifdef MAPLE_TEST_HOOKS
      write_trace_paused() = true;
      std::error_code ec = store_impl(t, first, last, entry, supply);
      write_trace_paused() = false;
      return ec;
#else
      return store_impl(t, first, last, entry, supply);
#endif
    }
    E::bump_epoch(t);  // even a failed write invalidates cursors' positions
    return store_impl(t, first, last, entry, supply);
  }

  static std::error_code store_impl(tree_t &t, std::uint64_t first, std::uint64_t last, void *entry,
                                    node_supply *supply) {
    word e = reinterpret_cast<word>(entry);
    word root = E::root(t);
    if (first == 0 && last == max_index) count_kind(write_kind::new_root);
    if (!is_node_word(root)) return store_small(t, root, first, last, e, supply);

    op o(t, supply);
    o.h = E::height(t);
    walk_path(root, o.h, first, o.L);
    const unsigned leafd = o.h - 1;
    if (last <= o.L[leafd].max) {
      o.R[leafd] = o.L[leafd];
      o.R[leafd].slot = find_slot(o.L[leafd].n, last, o.L[leafd].end);
      o.r_upper = false;
    } else {
      walk_path(root, o.h, last, o.R);
      count_kind(write_kind::spanning);
    }
    return store_walked(o, first, last, e);
  }

  /// The store once both paths are walked.
  static std::error_code store_walked(op &o, std::uint64_t first, std::uint64_t last, word e) {
    if (try_exact_fit(o, first, last, e)) return {};
    try {
      if (try_in_place_leaf(o, first, last, e)) return {};
    } catch (const std::bad_alloc &) {
      release_fresh(o);
      return errc::no_memory;
    }
    if (!o.r_upper) std::copy(o.L, o.L + o.h - 1, o.R);  // both paths share the levels above
    gather_leaf(o, first, last, e);
    return rebuild(o);
  }

  /// Erases the whole range holding index with one walk; `old` gets its
  /// entry (nullptr: nothing to erase).
  static std::error_code erase(tree_t &t, std::uint64_t index, void *&old) {
    old = nullptr;
    word root = E::root(t);
    if (!is_node_word(root)) {
      if (root == 0 || index != 0) return {};
      old = reinterpret_cast<void *>(root);
      return store(t, 0, 0, nullptr);
    }
    E::bump_epoch(t);
    node_supply sup;
    op o(t, &sup);
    o.h = E::height(t);
    walk_path(root, o.h, index, o.L);
    const level &l = o.L[o.h - 1];
    word e = l.n->slot[l.slot];
    if (e == 0) return {};
    o.R[o.h - 1] = l;
    o.r_upper = false;
    std::error_code ec =
        store_walked(o, l.n->slot_min(l.slot, l.min), l.n->slot_max(l.slot, l.end, l.max), 0);
    if (!ec) old = reinterpret_cast<void *>(e);
    return ec;
  }

  /// The write stays inside one leaf and the leaf stays valid: splice the
  /// new range into it in place (exact fit of several slots, a slot split in
  /// up to three, an append, an erase merging with empty neighbours). In RCU
  /// mode a reader could see a half-written node: the splice goes into a
  /// copy (copy_and_splice). No item list: the slots after the replaced ones
  /// move as a block.
  static bool try_in_place_leaf(op &o, std::uint64_t first, std::uint64_t last, word e) {
    const unsigned d = o.h - 1;
    const level &l = o.L[d];
    if (l.n != o.R[d].n) return false;
    node_t *n = l.n;
    const unsigned end = l.end;
    unsigned s0 = l.slot, s1 = o.R[d].slot;  // the slots the write replaces
    const std::uint64_t lo_first = n->slot_min(s0, l.min);
    std::uint64_t hi_last = n->slot_max(s1, end, l.max);
    const word lw = n->slot[s0], rw = n->slot[s1];
    if (e == 0) {  // an empty range swallows the empty ranges it meets
      if (lw == 0)
        first = lo_first;
      else if (lo_first == first && s0 > 0 && n->slot[s0 - 1] == 0)
        --s0;
      if (rw == 0) {
        last = hi_last;
      } else if (hi_last == last && s1 < end && n->slot[s1 + 1] == 0) {
        ++s1;
        last = hi_last = n->slot_max(s1, end, l.max);
      }
    }
    item nw[3];
    unsigned c = 0;
    if (lo_first < first) nw[c++] = {first - 1, lw};
    const unsigned new_at = s0 + c;
    nw[c++] = {last, e};
    if (hi_last > last) nw[c++] = {hi_last, rw};
    const unsigned old_count = end + 1, count = old_count - (s1 - s0 + 1) + c;
    if (count > S) return false;  // split
    if (o.h == 1 ? count <= 2 : count < kMin && l.max != max_index)
      return false;  // rebalance / root shapes
    const word tail_w = s1 < end ? n->slot[end] : nw[c - 1].w;
    if (tail_w == 0 && l.max != max_index) return false;  // must take the next leaf
    // Gap records are the sizes of the empty ranges: a write that removes,
    // shrinks or writes none leaves every one of them as it is.
    bool gaps_change = e == 0;
    for (unsigned s = s0; s <= s1 && !gaps_change; ++s) gaps_change = n->slot[s] == 0;
    if (E::rcu_mode(o.t)) {
      count_kind(write_kind::node_store);              // a whole new leaf, published in one store
      copy_and_splice(o, s0, s1, nw, c, gaps_change);  // may throw std::bad_alloc: nothing changed
      return true;
    }
    if (count == old_count)
      count_kind(write_kind::slot_store);
    else if (count > old_count && new_at >= end)
      count_kind(write_kind::append);
    else
      count_kind(write_kind::node_store);
    if (!o.dry()) {
      splice_leaf(n, s0, s1, end, l.max, nw, c);
      if (o.gaps() && gaps_change) G::propagate(n, true, l.min, l.max);
    }
    return true;
  }

  /// RCU mode: a reader may stand on the leaf, so the splice goes into a
  /// copy of it, published with one store in the parent's slot (or as the
  /// root); the old leaf is retired. Not even an append is made in place:
  /// it changes two words a reader relies on, the data end (metadata) and
  /// pivot[end] (the old last slot's new upper bound). Readers cache the end
  /// when they enter a leaf and re-read pivots later, and load() stops on
  /// pivots alone while descend() bounds its search by the end, so a reader
  /// between the two stores can step from the old last slot to a slot
  /// starting past the leaf's maximum, or see the new range by load() and
  /// the old one by a lookup right after.
  static void copy_and_splice(op &o, unsigned s0, unsigned s1, const item *nw, unsigned c,
                              bool gaps_change) {
    const unsigned d = o.h - 1;
    const level &l = o.L[d];
    node_t *n = new_node(o, true);
    if (o.dry()) return;
    std::memcpy(static_cast<void *>(&n->pivot[0]), &l.n->pivot[0],
                sizeof(node_t) - offsetof(node_t, pivot));
    splice_leaf(n, s0, s1, l.end, l.max, nw, c);
    if (d == 0) {
      commit_parents(o, n, nullptr, 0);
      install_root(o, n, true, o.h);
    } else {
      const level &p = o.L[d - 1];
      commit_parents(o, n, p.n, p.slot);
      store_release(p.n->slot[p.slot], o.ref(n, true));
      if (o.gaps() && gaps_change) G::propagate(n, true, l.min, l.max);
    }
    o.reclaim.retire(l.n);
  }

  /// Replaces slots [s0, s1] of leaf n (data end `end`, maximum max) by the
  /// c items nw[]: the slots after s1 move as a block, then the new items
  /// go in, then the words past the new end are cleared and the metadata set.
  static void splice_leaf(node_t *n, unsigned s0, unsigned s1, unsigned end, std::uint64_t max,
                          const item *nw, unsigned c) noexcept {
    const unsigned tail = end - s1, to = s0 + c, count = to + tail;
    if (tail && to != s1 + 1) {
      std::memmove(&n->slot[to], &n->slot[s1 + 1], tail * sizeof(word));
      // Stored pivots of the tail: up to pivot[P - 1]; the one that would
      // land past it is the node maximum, implied in a full node.
      const unsigned have = std::min(end, P - 1) + 1 - (s1 + 1);
      const unsigned room = to < P ? P - to : 0;
      if (std::min(have, room))
        std::memmove(&n->pivot[to], &n->pivot[s1 + 1],
                     std::min(have, room) * sizeof(std::uint64_t));
    }
    for (unsigned i = 0; i < c; ++i) {
      if (s0 + i < P) n->pivot[s0 + i] = nw[i].piv;
      n->slot[s0 + i] = nw[i].w;
    }
    if (count < S) {
      n->pivot[count - 1] = max;  // a node that is not full stores its maximum
      for (unsigned i = count; i <= end && i < P; ++i) n->pivot[i] = 0;
      for (unsigned i = count; i <= end && i < S - 1; ++i) n->slot[i] = 0;
      n->slot[S - 1] = count - 1;  // metadata: the data end
    }
  }

  /// Writes items it[0..] into slots [base, count) of n and clears the
  /// words past the new end up to `used` (what may be non-zero: the old
  /// item count for a node rewritten in place, S for fresh memory). The
  /// tails are a few words, cleared with single-word stores (a memset call,
  /// which the compiler would make of a plain loop, costs more there).
  static void fill_from(node_t *n, unsigned base, const item *it, unsigned count,
                        unsigned used = S) noexcept {
    for (unsigned i = base; i < count && i < P; ++i) n->pivot[i] = it[i - base].piv;
    for (unsigned i = std::max(base, count); i < P && i < used; ++i)
      store_relaxed(n->pivot[i], std::uint64_t{0});
    for (unsigned i = base; i < count; ++i) n->slot[i] = it[i - base].w;
    if (count < S) {
      for (unsigned i = std::max(base, count); i < S - 1 && i < used; ++i)
        store_relaxed(n->slot[i], word{0});
      n->slot[S - 1] = count - 1;  // metadata: the data end
    }
  }

  static bool try_exact_fit(op &o, std::uint64_t first, std::uint64_t last, word e) noexcept {
    const level &l = o.L[o.h - 1];
    if (l.n != o.R[o.h - 1].n || l.slot != o.R[o.h - 1].slot) return false;
    node_t *n = l.n;
    unsigned s = l.slot;
    if (n->slot_min(s, l.min) != first || n->slot_max(s, l.end, l.max) != last) return false;
    // A two-slot root leaf may turn into the root-word shape ([0, 0] only):
    // the general path decides that.
    if (o.h == 1 && l.end == 1) return false;
    if (e == 0) {
      if (n->slot[s] == 0) return true;  // already empty
      bool prev_empty = s > 0 && n->slot[s - 1] == 0;
      bool next_empty = s < l.end && n->slot[s + 1] == 0;
      bool ends_leaf = s == l.end && l.max != max_index;
      // A root leaf may shrink to a shape kept without a node.
      if (prev_empty || next_empty || ends_leaf || o.h == 1) return false;
    }
    if (!o.dry()) {
      const bool gaps_change = e == 0 || n->slot[s] == 0;  // read before the store
      store_release(n->slot[s], e);
      if (o.gaps() && gaps_change) G::propagate(n, true, l.min, l.max);
    }
    count_kind(write_kind::exact_fit);
    return true;
  }

  /// Leaf-level items: left prefix, the new range, right suffix.
  static void gather_leaf(op &o, std::uint64_t first, std::uint64_t last, word e) noexcept {
    const level &l = o.L[o.h - 1], &r = o.R[o.h - 1];
    for (unsigned i = 0; i < l.slot; ++i) o.push_raw(l.n->pivot[i], l.n->slot[i]);
    if (l.n->slot_min(l.slot, l.min) < first) o.push_back(first - 1, l.n->slot[l.slot], true);
    o.new_lo = o.count();
    o.push_back(last, e, true);
    o.new_hi = o.count();
    std::uint64_t rlast = r.n->slot_max(r.slot, r.end, r.max);
    if (rlast > last) o.push_back(rlast, r.n->slot[r.slot], true);
    for (unsigned i = r.slot + 1; i <= r.end; ++i) {
      if (i == r.slot + 1)
        o.push_back(r.n->slot_max(i, r.end, r.max), r.n->slot[i], true);
      else
        o.push_raw(r.n->slot_max(i, r.end, r.max), r.n->slot[i]);
    }
  }

  /// Trees with no node: empty, or a single entry at [0, 0] in the root word.
  static std::error_code store_small(tree_t &t, word root, std::uint64_t first, std::uint64_t last,
                                     word e, node_supply *supply) {
    count_kind(write_kind::store_root);
    if (first == 0 && last == 0 && !is_node_word(e)) {
      if (supply->how != node_supply::mode::dry) {
        E::set_root(t, e);
        E::set_height(t, 0);
      }
      return {};
    }
    if (root == 0 && e == 0) return {};
    // Expand into a leaf: run the general rebuild on a virtual root leaf.
    node_t scratch{};  // read by the walk and the gathering only
    item init[2];
    unsigned n = 0;
    if (root) init[n++] = {0, root};
    init[n++] = {max_index, 0};
    writer::fill(&scratch, init, n);
    op o(t, supply);
    o.h = 1;
    o.virtual_root = true;
    walk_path(node_t::make_ref(&scratch, node_kind::leaf), 1, first, o.L);
    walk_path(node_t::make_ref(&scratch, node_kind::leaf), 1, last, o.R);
    gather_leaf(o, first, last, e);
    return rebuild(o);
  }

  /// Whether a store at the right edge should fill nodes left-heavy: the new
  /// items are at (or one item from) the end of a rightmost interval.
  static bool appending(const op &o, unsigned d) noexcept {
    return o.R[d].max == max_index && o.count() - o.new_hi <= 1;
  }

  static std::error_code rebuild(op &o) {
    tree_t &t = o.t;
    const unsigned old_h = o.h;
    const bool rcu = E::rcu_mode(t);
    unsigned d = o.h - 1;
    bool leaf = true;
    try {
      for (;;) {
        // 1. Widen the interval until its items can form valid nodes.
        if (leaf)
          while (o.count() && o.buf[o.hi - 1].w == 0 && extend_right(o, d, true)) {
          }
        bool whole = o.L[d].min == 0 && o.R[d].max == max_index;
        const unsigned cap = o.cap(leaf), kmin = o.min_items(leaf);
        if (o.count() < kmin && o.R[d].max != max_index) {
          if (!extend_right(o, d, leaf)) {
            unsigned c0 = o.count();
            extend_left(o, d, leaf);
            unsigned added = o.count() - c0;
            o.new_lo += added;
            o.new_hi += added;
          }
          count_kind(write_kind::rebalance);
          if (leaf)
            while (o.buf[o.hi - 1].w == 0 && extend_right(o, d, true)) {
            }
        }
        bool pushed = false;
        if (o.count() > cap && d > 0) pushed = try_push(o, d, leaf);
        whole = o.L[d].min == 0 && o.R[d].max == max_index;
        o.lo_bound[d] = o.L[d].min;
        o.hi_bound[d] = o.R[d].max;

        // 2. Distribute.
        unsigned sizes[8];
        unsigned k = plan_split(&o.at(0), o.count(), leaf, appending(o, d), o.R[d].max == max_index,
                                cap, kmin, sizes);
        const bool single = o.L[d].n == o.R[d].n;
        if (k > 1 && !pushed)
          count_kind(leaf ? write_kind::leaf_split : write_kind::internal_split);

        // 3a. One node rewritten in place (no reader can see it mid-way).
        if (single && k == 1 && !rcu && !(o.virtual_root && d == 0) &&
            !(d == 0 && !leaf && o.count() == 1)) {
          node_t *n = o.L[d].n;
          unsigned from = o.L[d].slot ? o.L[d].slot - 1 : 0;
          if (leaf)
            classify_in_place(o, d);
          else
            count_kind(write_kind::node_store);
          if (o.dry()) return {};
          if (!leaf) retire(o, n, d, o.L[d].min, o.L[d].max, true);
          commit_parents(o);
          fill_node(o, n, &o.at(0), o.count(), leaf, o.L[d].min, from);
          if (!leaf) adopt_children(n, o.count(), from);  // slots before it kept theirs
          if (d == 0 && leaf) finish_leaf_root(o, n);
          if (d > 0 && o.gaps()) G::propagate(n, leaf, o.L[d].min, o.L[d].max);
          return {};
        }

        // 3b. Build k new nodes; a leaf split in plain mode keeps the old
        //     leaf as its left part (no reader can see it mid-way).
        const bool keep_left = k > 1 && leaf && single && !rcu && !o.virtual_root;
        unsigned pos = keep_left ? sizes[0] : 0;
        for (unsigned i = keep_left; i < k; ++i) {
          node_t *n = new_node(o, leaf);
          if (!o.dry())
            fill_node(o, n, &o.at(pos), sizes[i], leaf, pos ? o.at(pos - 1).piv + 1 : o.L[d].min);
          pos += sizes[i];
          o.out[i] = {o.at(pos - 1).piv, o.ref(n, leaf)};
        }
        if (keep_left) {
          if (!o.dry()) split_in_place(o, d, sizes[0]);
          o.out[0] = {o.at(sizes[0] - 1).piv, o.ref(o.L[d].n, true)};
        }
        o.nout = k;

        // 4. Done? One node for one node, a whole level in one node, or
        //    the root split.
        if (single && k == 1) {
          if (leaf) count_kind(write_kind::node_store);
          if (o.dry()) break;
          node_t *n = node_t::from_ref(o.out[0].w);
          if (d == 0) {
            commit_parents(o, n, nullptr, 0);
            install_root(o, n, leaf, o.h);
          } else {
            level &p = o.L[d - 1];
            commit_parents(o, n, p.n, p.slot);
            store_release(p.n->slot[p.slot], o.out[0].w);
            if (o.gaps()) G::propagate(n, leaf, o.L[d].min, o.R[d].max);
          }
          retire(o, o.L[d].n, d, o.L[d].min, o.L[d].max, false);
          break;
        }
        if (whole && k == 1) {
          if (o.dry()) break;
          commit_parents(o, node_t::from_ref(o.out[0].w), nullptr, 0);
          for (unsigned j = 0; j < d; ++j) {
            o.lo_bound[j] = 0;
            o.hi_bound[j] = max_index;
          }
          install_root(o, node_t::from_ref(o.out[0].w), leaf, o.h - d);
          retire(o, o.L[0].n, 0, 0, max_index, false);
          break;
        }
        if (d == 0) {
          item its[8];
          std::copy(o.out, o.out + k, its);
          node_t *r = new_node(o, false);
          count_kind(write_kind::root_split);
          if (o.dry()) break;
          fill_node(o, r, its, k, false, 0);
          commit_parents(o, r, nullptr, 0);
          install_root(o, r, false, o.h + 1);
          retire(o, o.L[0].n, 0, 0, max_index, false);
          break;
        }

        // 5. The parent level's items: kept children around the new nodes.
        --d;
        leaf = false;
        o.lo = o.hi = kFront;
        const level &pl = o.L[d], &pr = o.R[d];
        for (unsigned i = 0; i < pl.slot; ++i) o.push_raw(pl.n->pivot[i], pl.n->slot[i]);
        o.new_lo = o.count();
        for (unsigned i = 0; i < k; ++i) o.push_raw(o.out[i].piv, o.out[i].w);
        o.new_hi = o.count();
        for (unsigned i = pr.slot + 1; i <= pr.end; ++i)
          o.push_raw(pr.n->slot_max(i, pr.end, pr.max), pr.n->slot[i]);
      }
    } catch (const std::bad_alloc &) {
      release_fresh(o);
      if (o.kept) std::memcpy(static_cast<void *>(o.kept), o.kept_copy, sizeof(node_t));
      return errc::no_memory;
    }
    if (E::height(t) < old_h) count_kind(write_kind::root_collapse);
    return {};
  }

  /// Rewrites leaf L[d] in place as the first `count` items of its split
  /// (items before the write's slot are its own words already); saves its
  /// old words first for the rollback of a later failed allocation.
  static void split_in_place(op &o, unsigned d, unsigned count) noexcept {
    const level &l = o.L[d];
    node_t *n = l.n;
    std::memcpy(o.kept_copy, static_cast<const void *>(n), sizeof(node_t));
    o.kept = n;
    const unsigned from = std::min(l.slot ? l.slot - 1 : 0u, count - 1);
    fill_from(n, from, &o.at(from), count, l.end + 1);
  }

  /// Sets the parent links of every child of the new internal nodes (reused
  /// children included) once all allocations have succeeded. `top` (the new node about to be
  /// published; nullptr when a node is rewritten in place) gets its parent word first (`parent`
  /// nullptr: the root marker), then the new nodes adopt their children top-down (new nodes were
  /// allocated level by level upwards). So every new node names its parent before any child names
  /// it: a reader climbing from a reused child (RCU mode) never meets an unset parent word.
  static void commit_parents(op &o, node_t *top = nullptr, node_t *parent = nullptr,
                             unsigned slot = 0) noexcept {
    if (top) {
      if (parent)
        top->set_parent(parent, slot);
      else
        top->set_root();
    }
    for (unsigned i = o.nfresh; i-- > 0;)
      if (!o.fresh_leaf[i]) adopt_children(o.fresh[i], W::internal_end(o.fresh[i]) + 1);
  }

  static void classify_in_place(op &o, unsigned d) noexcept {
    const level &l = o.L[d];
    unsigned old_count = l.end + 1;
    if (o.count() == old_count)
      count_kind(write_kind::slot_store);
    else if (o.count() > old_count && l.slot == l.end && o.new_lo >= l.slot)
      count_kind(write_kind::append);
    else
      count_kind(write_kind::node_store);
  }

  /// A root leaf rewritten in place may now hold only [0,0] or nothing.
  static void finish_leaf_root(op &o, node_t *n) noexcept {
    unsigned e = n->end(max_index);
    bool empty = e == 0 && n->slot[0] == 0;
    bool zero_only = e == 1 && n->pivot[0] == 0 && n->slot[1] == 0 && n->slot[0] != 0 &&
                     !is_node_word(n->slot[0]);
    if (empty || zero_only) install_root(o, n, true, 1);
  }

  /// Overflow at depth d: move items into a sibling with room rather than
  /// adding a node to the parent.
  static bool try_push(op &o, unsigned d, bool leaf) noexcept {
    const level &pl = o.L[d - 1];
    if (pl.slot > 0) {
      std::uint64_t smax = pl.n->pivot[pl.slot - 1];
      unsigned cs = node_t::end_of(pl.n->slot[pl.slot - 1], smax) + 1;
      if (o.count() + cs <= 2 * o.cap(leaf) - 2) {
        unsigned c0 = o.count();
        extend_left(o, d, leaf);
        unsigned added = o.count() - c0;
        o.new_lo += added;
        o.new_hi += added;
        count_kind(write_kind::push);
        return true;
      }
    }
    const level &pr = o.R[d - 1];
    if (pr.slot < pr.end) {
      std::uint64_t smax = pr.n->slot_max(pr.slot + 1, pr.end, pr.max);
      unsigned cs = node_t::end_of(pr.n->slot[pr.slot + 1], smax) + 1;
      if (o.count() + cs <= 2 * o.cap(leaf) - 2) {
        extend_right(o, d, leaf);
        count_kind(write_kind::push);
        return true;
      }
    }
    return false;
  }
};

}  // namespace maple::detail
