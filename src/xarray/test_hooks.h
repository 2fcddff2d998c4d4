// src/xarray/test_hooks.h - a seam for the XArray's deterministic race tests.
#pragma once

namespace maple::detail {

/// Installs `fn(arg)` (nullptr: none) to run in a lockless reader (load,
/// find, find_marked, cursor walks and reloads) each time it has read a
/// sibling word and is about to read the first slot that word names: the
/// window in which a writer can change the entry under it. The hook runs
/// inside the reader's read section, so it must not write to the array
/// itself (a writer must not hold a read guard); it may wait for another
/// thread that does. Off the sibling path readers never look at it.
void xa_set_sibling_hook(void (*fn)(void *), void *arg) noexcept;

}  // namespace maple::detail
