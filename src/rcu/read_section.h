// src/rcu/read_section.h - read_guard's two halves as plain functions, for
// code that enters a read section only sometimes (a one-shot read of a tree
// that may or may not be in RCU mode) without an optional<read_guard>; and
// the cheaper section of one read call (one_shot_lock / one_shot_unlock).
#pragma once

#if MAPLE_RCU_URCU
#include <urcu/urcu-memb.h>

#include "rcu/backend.h"
#endif

namespace maple::rcu::detail {

/// What read_guard's constructor does: enters a (nested) read section,
/// registering the thread first if needed.
void read_lock() noexcept;

/// What read_guard's destructor does; pairs with read_lock on this thread.
void read_unlock() noexcept;

#if MAPLE_RCU_URCU
/// Registers the calling thread with liburcu (backend_urcu.cpp).
void register_reader() noexcept;

/// A section around one library read that runs no other code inside it:
/// liburcu's own nesting count is enough, and this_thread's depth, which
/// only code running inside a section reads (in_read_section, the checks of
/// the waiting calls), is left as it is. With _LGPL_SOURCE
/// (MAPLE_URCU_INLINE) liburcu's read lock and unlock are inlined here;
/// without it they are its exported functions, called directly.
[[gnu::always_inline]] inline void one_shot_lock() noexcept {
  if (this_thread.word == 0) [[unlikely]]
    register_reader();
  urcu_memb_read_lock();
}
[[gnu::always_inline]] inline void one_shot_unlock() noexcept { urcu_memb_read_unlock(); }
#else
inline void one_shot_lock() noexcept { read_lock(); }
inline void one_shot_unlock() noexcept { read_unlock(); }
#endif

}  // namespace maple::rcu::detail
