// Node layout and word encodings of the maple tree engine.
//
// A range node of S slots is: one parent word, S-1 pivots, S slots
// (8 + 8(S-1) + 8S bytes: 256 for S = 16), aligned to 256 so that the low
// eight bits of a node address are free for tags. Slot i covers
// [pivot[i-1] + 1, pivot[i]]; slot 0 starts at the node's implied minimum and
// the last used slot ("end") ends at the implied maximum. When the node is not
// full, pivot[end] holds the node's maximum and the unused last slot holds the
// data end (metadata); pivots past the end are zero. (Layout facts from the
// kernel's maple tree documentation, reference section 1.)
#pragma once

#include <maple/detail/tree_types.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace maple::detail {

using word = std::uintptr_t;

/// Kinds of node; the kind travels in the tagged pointer that refers to a
/// node, so a reader knows what it is about to read before reading it.
/// `gap_internal` is the internal node of an allocation tree (the kernel's
/// arange_64): fewer children, with each child's largest free range beside it.
enum class node_kind : word { leaf = 1, internal = 2, gap_internal = 3 };

/// Children of an allocation tree's internal node. Its 2S words hold: the
/// parent word, pivots 0..A-2, the node maximum in pivot A-1 (so scans that
/// stop at the first pivot >= index stay inside the node), A slots, A gaps
/// in the words pivot[A..P-1] and slot[A..S-2], and the metadata (data end |
/// offset of the largest gap << 8) in slot[S-1]: 2S >= 3A + 2, A = 10 for
/// S = 16 as in the kernel.
template <unsigned S>
inline constexpr unsigned gap_fanout = (2 * S - 2) / 3;

/// Tagged node reference ("enode"): address | kind << 3 | 0b110. The low
/// bits 0b10 make it an internal word that can never be a user entry in the
/// root word (entries with those bits are expanded into a leaf instead).
inline constexpr word enode_tag = 0x6;
inline constexpr word node_addr_mask = ~word{0xFF};

/// Parent word: root nodes hold root_parent; others hold the parent's
/// address | slot << 2. A dead node's parent word is its own address.
inline constexpr word root_parent = 0x1;

inline constexpr bool is_node_word(word w) noexcept { return (w & 3) == 2; }

/// Relaxed/acquire accessors: readers may run beside a writer in RCU mode,
/// so every word a reader can see is read and published atomically. The
/// const_cast only satisfies std::atomic_ref, which C++20 gives no const
/// form; a load writes nothing.
template <class T>
inline T load_acquire(const T &x) noexcept {
  return std::atomic_ref<T>(const_cast<T &>(x)).load(std::memory_order_acquire);
}
template <class T>
inline T load_relaxed(const T &x) noexcept {
  return std::atomic_ref<T>(const_cast<T &>(x)).load(std::memory_order_relaxed);
}
template <class T>
inline void store_release(T &x, T v) noexcept {
  std::atomic_ref<T>(x).store(v, std::memory_order_release);
}
template <class T>
inline void store_relaxed(T &x, T v) noexcept {
  std::atomic_ref<T>(x).store(v, std::memory_order_relaxed);
}

template <unsigned S>
struct alignas(256) node {
  static constexpr unsigned slots = S;
  static constexpr unsigned pivots = S - 1;

  word parent;
  std::uint64_t pivot[S - 1];
  word slot[S];

  // ---- tagged references ------------------------------------------------
  static word make_ref(node *n, node_kind k) noexcept {
    return reinterpret_cast<word>(n) | (static_cast<word>(k) << 3) | enode_tag;
  }
  static node *from_ref(word ref) noexcept {
    return reinterpret_cast<node *>(ref & node_addr_mask);
  }
  static node_kind kind_of(word ref) noexcept { return static_cast<node_kind>((ref >> 3) & 7); }
  static bool ref_is_leaf(word ref) noexcept { return kind_of(ref) == node_kind::leaf; }

  // ---- parent word ------------------------------------------------------
  bool is_root() const noexcept { return (load_relaxed(parent) & root_parent) != 0; }
  node *parent_node() const noexcept {
    return reinterpret_cast<node *>(load_acquire(parent) & node_addr_mask);
  }
  unsigned parent_slot() const noexcept {
    return static_cast<unsigned>((load_relaxed(parent) & 0xFF) >> 2);
  }
  void set_parent(node *p, unsigned slot_in_parent) noexcept {
    store_release(parent, reinterpret_cast<word>(p) | (word{slot_in_parent} << 2));
  }
  void set_root() noexcept { store_release(parent, root_parent); }
  bool is_dead() const noexcept { return load_acquire(parent) == reinterpret_cast<word>(this); }
  void set_dead() noexcept { store_release(parent, reinterpret_cast<word>(this)); }

  // ---- gap-tracking internal nodes (node_kind::gap_internal) -------------
  static constexpr unsigned A = gap_fanout<S>;
  static_assert(sizeof(word) == sizeof(std::uint64_t), "gaps share words with slots");

  /// The word holding child i's largest free range (i < A).
  const word &gap_word(unsigned i) const noexcept {
    return i < pivots - A ? reinterpret_cast<const word &>(pivot[A + i])
                          : slot[A + i - (pivots - A)];
  }
  word &gap_word(unsigned i) noexcept {
    return const_cast<word &>(static_cast<const node *>(this)->gap_word(i));
  }
  std::uint64_t gap(unsigned i) const noexcept { return load_relaxed(gap_word(i)); }
  void set_gap(unsigned i, std::uint64_t g) noexcept { store_relaxed(gap_word(i), word{g}); }
  unsigned meta_end() const noexcept { return load_relaxed(slot[S - 1]) & 0xFF; }
  unsigned gap_offset() const noexcept { return (load_relaxed(slot[S - 1]) >> 8) & 0xFF; }
  void set_meta(unsigned end, unsigned gap_off) noexcept {
    store_relaxed(slot[S - 1], word{end} | word{gap_off} << 8);
  }
  std::uint64_t max_gap() const noexcept { return gap(gap_offset()); }

  /// Data end of the node `ref` refers to (any kind), given its maximum.
  static unsigned end_of(word ref, std::uint64_t max) noexcept {
    const node *n = from_ref(ref);
    return kind_of(ref) == node_kind::gap_internal ? n->meta_end() : n->end(max);
  }

  // ---- data end -----------------------------------------------------------
  /// Index of the last used slot, given the node's implied maximum (not for
  /// gap_internal nodes: see end_of).
  [[gnu::always_inline]] unsigned end(std::uint64_t max) const noexcept {
    std::uint64_t p = load_relaxed(pivot[pivots - 1]);
    if (p == 0) return static_cast<unsigned>(load_relaxed(slot[S - 1]) & 0xFF);
    return p == max ? pivots - 1 : S - 1;
  }
  /// Slot [0, end] holding index (index within the node's range): the
  /// number of pivot[0, end) below index. Fixed halving steps from the
  /// largest power of two below S (unrolled: a compare and a conditional
  /// move each, no loop and no mispredicted exit as in a linear scan).
  static constexpr unsigned top_step = [] {
    unsigned s = 1;
    while (2 * s <= pivots) s *= 2;
    return s;
  }();
  unsigned slot_for(std::uint64_t index, unsigned end) const noexcept {
    unsigned pos = 0;
    for (unsigned step = top_step; step != 0; step >>= 1) {
      const unsigned next = pos + step;
      if constexpr ((S & (S - 1)) == 0) {
        // The steps add up to S - 1: every probe is inside the array.
        pos = (next <= end) & (load_relaxed(pivot[next - 1]) < index) ? next : pos;
      } else {
        pos = next <= end && load_relaxed(pivot[next - 1]) < index ? next : pos;
      }
    }
    return pos;
  }
  /// Upper bound of slot i: a pivot, or the implied max for the last slot.
  std::uint64_t slot_max(unsigned i, unsigned end, std::uint64_t max) const noexcept {
    return i < end ? load_relaxed(pivot[i]) : max;
  }
  std::uint64_t slot_min(unsigned i, std::uint64_t min) const noexcept {
    return i == 0 ? min : load_relaxed(pivot[i - 1]) + 1;
  }
};

static_assert(sizeof(node<16>) == 256, "the default node is 256 bytes");

}  // namespace maple::detail
