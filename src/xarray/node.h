// The XArray's node and the encoding of the words its slots hold.
//
// A slot word is nullptr, a user entry (low bits 00 or x1), or an internal
// word (low bits 10): a sibling (offset < 63), the retry entry (256), the
// zero entry (257) or a node (the node's address | 2, always > 4096).
// Everything a lockless reader reads is atomic: slots, marks, parent and seq.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory_resource>

namespace maple::detail {

using xa_word = std::uintptr_t;

inline constexpr unsigned xa_chunk_shift = 6;
inline constexpr unsigned xa_chunk_size = 64;
inline constexpr unsigned xa_marks = 3;
inline constexpr xa_word xa_retry_word = 1026;  // (256 << 2) | 2
inline constexpr xa_word xa_zero_word = 1030;   // (257 << 2) | 2
inline constexpr unsigned xa_free_mark = 0;     // allocating arrays: set = free

struct xa_node {
  unsigned char shift = 0;   // 0 for leaves; a slot covers 2^shift indices
  unsigned char offset = 0;  // slot in the parent (fixed once linked)
  unsigned char count = 0;   // non-null slots (siblings and nodes included); writer only
  // Bumped (release) after every write that turns a sibling word into
  // anything else, so a reader that followed a sibling can tell whether the
  // first slot it then read may belong to a later, smaller entry
  // (xa_impl::read_sibling). Fits the padding before `parent`.
  std::atomic<std::uint32_t> seq{0};
  std::atomic<xa_node *> parent{nullptr};
  xa_node *chain = nullptr;                   // link in a state's preallocation list
  std::pmr::memory_resource *home = nullptr;  // where the node is freed to
  std::atomic<xa_word> slots[xa_chunk_size] = {};
  std::atomic<std::uint64_t> marks[xa_marks] = {};  // bit i: slot i's subtree has the mark
};

inline bool xa_word_internal(xa_word w) noexcept { return (w & 3) == 2; }
inline bool xa_word_node(xa_word w) noexcept { return (w & 3) == 2 && w > 4096; }
inline bool xa_word_sibling(xa_word w) noexcept { return (w & 3) == 2 && (w >> 2) < 63; }
inline unsigned xa_sibling_offset(xa_word w) noexcept { return static_cast<unsigned>(w >> 2); }
inline xa_word xa_make_sibling(unsigned offset) noexcept { return (xa_word{offset} << 2) | 2; }
inline xa_node *xa_word_to_node(xa_word w) noexcept { return reinterpret_cast<xa_node *>(w - 2); }
inline xa_word xa_node_word(const xa_node *n) noexcept { return reinterpret_cast<xa_word>(n) | 2; }

/// The low bits of an index that a node of `shift` spans (all ones from
/// shift 58 up: such a node spans the whole index space).
inline std::uint64_t xa_span_mask(unsigned shift) noexcept {
  return shift + xa_chunk_shift >= 64 ? ~std::uint64_t{0}
                                      : (std::uint64_t{xa_chunk_size} << shift) - 1;
}
/// Slots of a node of `shift` that index space reaches (16 at shift 60).
inline unsigned xa_slots_in(unsigned shift) noexcept {
  return shift + xa_chunk_shift > 64 ? 1u << (64 - shift) : xa_chunk_size;
}
/// The slot of a node of `shift` that holds `index`.
inline unsigned xa_slot_of(std::uint64_t index, unsigned shift) noexcept {
  return static_cast<unsigned>((index >> shift) & (xa_chunk_size - 1));
}
/// First index of slot `offset` in the node of `shift` that holds `index`.
inline std::uint64_t xa_slot_start(std::uint64_t index, unsigned shift, unsigned offset) noexcept {
  return (index & ~xa_span_mask(shift)) + (std::uint64_t{offset} << shift);
}
/// Bits [first, first + n) of a 64-bit mask.
inline std::uint64_t xa_bit_range(unsigned first, unsigned n) noexcept {
  return (n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1) << first;
}

}  // namespace maple::detail
