// The class templates that make up one node geometry, named in one place.
// The library instantiates its geometry (16 slots) in raw_tree.cpp; the
// tests instantiate theirs (4 and 6 in small_engine.cpp, 32 and 64 in
// wide_engine.cpp, both including raw_tree_impl.h); every other unit that
// uses a geometry declares it with MAPLE_DECLARE_GEOMETRY so that nothing is
// instantiated twice.
#pragma once

#include <maple/cursor.h>
#include <maple/raw_tree.h>

// KIND is `template` (instantiate) or `extern template` (declare): keywords,
// which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MAPLE_GEOMETRY_CLASSES(KIND, S)    \
  KIND class maple::basic_raw_tree<S>;     \
  KIND class maple::basic_cursor<S>;       \
  KIND class maple::basic_write_cursor<S>; \
  KIND class maple::basic_write_guard<S>;  \
  KIND class maple::basic_read_guard<S>
// NOLINTEND(bugprone-macro-parentheses)

/// Explicit instantiation of geometry S (one translation unit per S).
#define MAPLE_INSTANTIATE_GEOMETRY(S) MAPLE_GEOMETRY_CLASSES(template, S)
/// Declares geometry S as instantiated elsewhere.
#define MAPLE_DECLARE_GEOMETRY(S) MAPLE_GEOMETRY_CLASSES(extern template, S)
