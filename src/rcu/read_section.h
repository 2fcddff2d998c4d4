// src/rcu/read_section.h - read_guard's two halves as plain functions, for
// code that enters a read section only sometimes (a one-shot read of a tree
// that may or may not be in RCU mode) without an optional<read_guard>.
#pragma once

namespace maple::rcu::detail {

/// What read_guard's constructor does: enters a (nested) read section,
/// registering the thread first if needed.
void read_lock() noexcept;

/// What read_guard's destructor does; pairs with read_lock on this thread.
void read_unlock() noexcept;

}  // namespace maple::rcu::detail
