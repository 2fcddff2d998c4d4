// src/rcu/test_hooks.h - fault injection and figures for the RCU layer's
// tests.
#pragma once

#include <cstddef>

namespace maple::rcu::detail {

/// The next n bookkeeping allocations of the RCU layer (defer's records,
/// retire_list chunks, whether made or reused) fail as if memory were
/// exhausted, so tests can reach the fallbacks: synchronize, then free at
/// once.
void fail_next_allocations(std::size_t n) noexcept;

/// Objects one retire_list chunk holds (a list needs a new chunk after
/// each this many adds).
std::size_t retire_chunk_capacity() noexcept;

}  // namespace maple::rcu::detail
