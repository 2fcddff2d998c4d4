// maple/error.h - the error type of every maple operation.
//
// Every fallible operation returns a std::error_code in the maple category.
// On any error the structure is left exactly as it was before the call.
#pragma once

#include <string>
#include <system_error>

namespace maple {

/// Error conditions reported by the library (values are stable).
enum class errc : int {
  ok = 0,
  invalid_argument = 1,  ///< first > last, reserved entry, bad limits
  exists = 2,            ///< insert over an occupied index
  no_memory = 3,         ///< node allocation failed; nothing changed
  busy = 4,              ///< no free range fits (gap search / allocation)
};

/// The category of maple::errc.
const std::error_category &error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace maple

template <>
struct std::is_error_code_enum<maple::errc> : std::true_type {};
