// maple/entry.h - what a tree slot can hold.
//
// An entry is one pointer-sized word. Object pointers (at least 4-byte
// aligned) are stored as they are; small integers are stored as "value
// entries" (v << 1 | 1), the XArray convention. Words below 4096 whose low
// two bits are 0b10 are reserved for the tree's own markers: the public API
// rejects them with errc::invalid_argument.
#pragma once

#include <cstdint>

namespace maple {

/// Largest integer a value entry can carry.
inline constexpr std::uint64_t max_value_entry = (std::uint64_t{1} << 63) - 1;

/// Encodes v (<= max_value_entry) as a value entry.
inline void *make_value_entry(std::uint64_t v) noexcept {
  return reinterpret_cast<void *>(static_cast<std::uintptr_t>((v << 1) | 1));
}

/// True if the word is a value entry.
inline bool is_value_entry(const void *e) noexcept {
  return (reinterpret_cast<std::uintptr_t>(e) & 1) != 0;
}

/// Decodes a value entry.
inline std::uint64_t value_of_entry(const void *e) noexcept {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(e)) >> 1;
}

/// True if the word is reserved for the tree (never storable).
inline bool is_reserved_entry(const void *e) noexcept {
  auto w = reinterpret_cast<std::uintptr_t>(e);
  return w < 4096 && (w & 3) == 2;
}

/// One stored range as iteration and lookups report it.
struct range_entry {
  std::uint64_t first = 0;  ///< first index covered
  std::uint64_t last = 0;   ///< last index covered (inclusive)
  void *entry = nullptr;    ///< the stored word (nullptr = empty range)
  friend bool operator==(const range_entry &, const range_entry &) = default;
};

}  // namespace maple
