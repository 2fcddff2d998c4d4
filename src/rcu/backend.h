// src/rcu/backend.h - what an RCU backend (backend_urcu.cpp, backend_std.cpp;
// exactly one is compiled, chosen by MAPLE_RCU_BACKEND) provides to the
// shared layer (shared.cpp), and what the shared layer provides to it.
//
// The backend owns read sections, thread registration, grace periods and the
// queue of deferred callbacks. The shared layer owns the public preconditions,
// the pending-object accounting and its bound, the allocation-failure
// fallback and retire_list.
#pragma once

#include <cstddef>

namespace maple::rcu::detail {

// ---- provided by the backend ------------------------------------------------

/// Waits for a grace period (the caller is outside any read section).
void backend_synchronize() noexcept;

/// Queues fn(arg) to run after a grace period; `weight` objects are freed
/// by it. The backend calls callback_done(weight) after running it. Returns
/// false, queuing nothing, if its bookkeeping could not be allocated.
bool backend_defer(void (*fn)(void *), void *arg, std::size_t weight) noexcept;

/// Runs (or waits for) every callback queued before the call.
void backend_barrier() noexcept;

/// Makes the calling thread's later callbacks run on a worker pinned to
/// `cpu` (-1: the default worker). False when the backend has no workers or
/// the worker could not be made.
bool backend_set_callback_cpu(int cpu) noexcept;

/// True on a thread that is running deferred callbacks right now.
bool in_callback() noexcept;

/// "urcu" or "std".
const char *backend_name() noexcept;

// ---- provided by the shared layer -------------------------------------------

/// defer() for a callback that frees `weight` objects (retire_list::submit).
void defer_weighted(void (*fn)(void *), void *arg, std::size_t weight) noexcept;

/// Accounts for a callback that freed `weight` objects.
void callback_done(std::size_t weight) noexcept;

/// Thread registration accounting (for stats().registered_threads).
void thread_registered() noexcept;
void thread_unregistered() noexcept;

/// Allocation-failure injection for tests (test_hooks.h): true if the next
/// bookkeeping allocation must be treated as failed.
bool fail_this_allocation() noexcept;

/// Prints "maple::rcu: <what>" to stderr and aborts (a broken precondition
/// that would otherwise deadlock).
[[noreturn]] void fatal(const char *what) noexcept;

}  // namespace maple::rcu::detail
