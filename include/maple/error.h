// maple/error.h - the error type of every maple operation, and the one
// rule every container follows (raw_tree, tree<T>, cursors, xarray, mm):
//
//  * a call that can fail returns std::error_code (maple::errc here; POSIX
//    errno values in maple::mm). Nothing throws: no call reports through an
//    exception what another reports through a code;
//  * a value the call also produces goes out through a parameter: a
//    reference when it is always produced (empty_area's start, alloc's id),
//    a pointer defaulting to nullptr when it is optional (erase's and
//    store's old entry). It is written only as the call documents (erase:
//    nullptr on error);
//  * a call that cannot fail returns its value (load, find, xarray::erase,
//    which never allocates);
//  * on any error the structure is left exactly as it was before the call;
//  * breaking a precondition (a stale cursor, a write without the external
//    lock) is a bug, not an error: checked builds abort naming it.
// The one state-machine exception is the kernel's advanced cursors: an
// xa_state keeps its error in the state (error(), nomem()), and a tree
// cursor's reads report none (state() says why one found nothing).
// docs/api.md has the table of every container's operations.
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
