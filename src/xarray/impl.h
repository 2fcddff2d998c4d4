// The XArray engine: operations on a state (cursor) over an array. The
// public classes forward here; each group lives in its own file:
//   node_memory.cpp  allocation, preallocation and retirement of nodes
//   walk.cpp         walking, reloading and stepping (xa_state positions)
//   find.cpp         forward searches (present, marked, free)
//   store.cpp        locating/creating a target, writing slots, deletion
//   marks.cpp        per-entry marks and their aggregation upward
//   split.cpp        splitting a multi-index entry
//   check.cpp        validate() and stats()
#pragma once

#include <maple/xa_state.h>
#include <maple/xarray.h>

#include "xarray/node.h"
#include "xarray/read_section.h"

namespace maple::detail {

/// Where a store writes: slots [offset, offset + nslots) of `node`, or the
/// array's head when node is nullptr.
struct xa_target {
  xa_node *node = nullptr;
  unsigned offset = 0;
  unsigned nslots = 1;
};

/// What a forward scan looks for.
enum class xa_filter : int { present = -1, mark0 = 0, mark1 = 1, mark2 = 2, free = 3 };

struct xa_impl {
  // ---- array fields ------------------------------------------------------
  static xa_word head(const xarray &xa) noexcept {
    return xa.head_.load(std::memory_order_acquire);
  }
  static void publish_head(xarray &xa, xa_word w) noexcept {
    xa.head_.store(w, std::memory_order_release);
  }
  static bool is_alloc(const xarray &xa) noexcept { return xa.is_alloc(); }
  /// The array a write through `s` changes (a state made by xa_state's
  /// public constructor; the read-only states of const calls never write).
  static xarray &writable(xa_state &s) noexcept { return *s.writable_; }

  // ---- node memory (node_memory.cpp) -------------------------------------
  /// A fresh node from the state's preallocation or the array's resource;
  /// nullptr (and the state's error set to no_memory) when that fails.
  static xa_node *alloc_node(xa_state &s, unsigned shift, xa_node *parent,
                             unsigned offset) noexcept;
  /// Allocates one node into the state's preallocation; false on failure.
  static bool prealloc_one(xa_state &s) noexcept;
  static unsigned spare_count(const xa_state &s) noexcept;
  static void free_spares(xa_state &s) noexcept;
  /// Frees a node no reader can have seen (never published).
  static void free_unpublished(xarray &xa, xa_node *n) noexcept;
  /// THE retirement point: a node unlinked from the tree is freed only after
  /// every reader that may still hold it is gone.
  static void retire_node(xarray &xa, xa_node *n) noexcept;
  /// Puts the retry entry in every used slot of an unlinked subtree (so a
  /// reader re-validating inside it restarts) and retires all its nodes.
  static void retire_subtree(xarray &xa, xa_node *n) noexcept;
  /// Frees a whole subtree now (destruction: no reader can remain).
  static void free_subtree(xa_node *n) noexcept;

  // ---- lockless slot reads (walk.cpp) ------------------------------------
  /// The word of the entry holding slot `off` of `n`, as a lockless reader
  /// may return it: a sibling word is followed to its entry's first slot
  /// (`off` becomes that slot), and the word found there is one that held
  /// `off` too (never a later, smaller entry: see read_sibling). A first
  /// slot reached through a sibling that holds a node (caught mid-split)
  /// reads as the retry word.
  static xa_word read_slot(const xa_node *n, unsigned &off) noexcept {
    xa_word w = n->slots[off].load(std::memory_order_acquire);
    return xa_word_sibling(w) ? read_sibling(n, off) : w;
  }
  static xa_word read_sibling(const xa_node *n, unsigned &off) noexcept;
  /// Writers: call after the slot stores of any write that turned a sibling
  /// word of `n` into anything else (xa_node::seq), before the next write.
  static void siblings_changed(xa_node *n) noexcept {
    n->seq.store(n->seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // ---- walking (walk.cpp) ------------------------------------------------
  static xa_word start(xa_state &s) noexcept;
  static xa_word descend(xa_state &s, xa_node *n) noexcept;
  static xa_word load(xa_state &s) noexcept;
  static xa_word reload(xa_state &s) noexcept;
  static xa_word next(xa_state &s) noexcept;
  static xa_word prev(xa_state &s) noexcept;
  /// Last index of the state's range.
  static std::uint64_t range_last(const xa_state &s) noexcept;
  /// First index of the slot the state is on (0 at the head).
  static std::uint64_t slot_first(const xa_state &s) noexcept;
  /// Slots taken by the entry whose first slot is `offset`.
  static unsigned extent(const xa_node *n, unsigned offset) noexcept;

  // ---- searching (find.cpp) ----------------------------------------------
  /// Scans forward from slot `offset` of `n` (inclusive) for the first slot
  /// matching `filter` whose first index is <= max, descending into
  /// children; positions the state there. False when there is none.
  static bool scan(xa_state &s, xa_node *n, unsigned offset, std::uint64_t max, xa_filter filter,
                   xa_word &out) noexcept;
  static xa_word find(xa_state &s, std::uint64_t max) noexcept;
  static xa_word find_marked(xa_state &s, std::uint64_t max, unsigned mark) noexcept;
  /// Lowest index in [min, max] holding nothing (allocating arrays; lock held).
  static bool find_free(xarray &xa, std::uint64_t min, std::uint64_t max,
                        std::uint64_t &index) noexcept;

  // ---- storing (store.cpp) -----------------------------------------------
  /// Finds (creating nodes if `create`) where a store of the state's range
  /// writes. False: nothing there (create false) or no memory (create true;
  /// the array is unchanged).
  static bool locate(xa_state &s, bool create, xa_target &t) noexcept;
  static bool expand(xa_state &s, std::uint64_t last) noexcept;
  static xa_word write(xa_state &s, const xa_target &t, xa_word entry) noexcept;
  static xa_word store(xa_state &s, xa_word entry) noexcept;
  /// More than the nodes a store of the state's range can need.
  static unsigned store_bound(const xa_state &s) noexcept;
  /// True if some index of the state's range holds a word (lock held).
  static bool occupied(xa_state &s) noexcept;
  /// Unlinks `n` and its ancestors while they are empty, then shrinks.
  static void delete_empty(xarray &xa, xa_node *n) noexcept;
  /// Lowers the tree while its top node holds only slot 0.
  static void shrink(xarray &xa) noexcept;

  // ---- marks (marks.cpp) -------------------------------------------------
  /// Recomputes the aggregated bits above `n` (stops where nothing changes).
  static void propagate_marks(xarray &xa, xa_node *n) noexcept;
  static void set_root_marks_from(xarray &xa, xa_word head) noexcept;
  static bool get_mark(const xa_state &s, unsigned mark) noexcept;
  static void set_mark(xa_state &s, unsigned mark) noexcept;
  static void clear_mark(xa_state &s, unsigned mark) noexcept;

  // ---- splitting (split.cpp) ---------------------------------------------
  static unsigned split_nodes_needed(const xa_state &s, unsigned order) noexcept;
  static void split(xa_state &s, xa_word entry, unsigned order) noexcept;

  // ---- checking (check.cpp) ----------------------------------------------
  static check_report validate(const xarray &xa);
  static xa_stats stats(const xarray &xa);
};

}  // namespace maple::detail
