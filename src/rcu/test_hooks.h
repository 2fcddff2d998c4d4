// src/rcu/test_hooks.h - fault injection for the RCU layer's tests.
#pragma once

#include <cstddef>

namespace maple::rcu::detail {

/// The next n bookkeeping allocations of the RCU layer (defer's queue
/// entries, retire_list chunks) fail as if memory were exhausted, so tests
/// can reach the fallbacks: synchronize, then free at once.
void fail_next_allocations(std::size_t n) noexcept;

}  // namespace maple::rcu::detail
