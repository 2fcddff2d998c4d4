// src/rcu/backend.h - what an RCU backend (backend_urcu.cpp, backend_std.cpp;
// exactly one is compiled, chosen by MAPLE_RCU_BACKEND) provides to the
// shared layer (deferred.cpp, retire_list.cpp), and what the shared layer
// provides to it.
//
// The backend owns read sections, thread registration, grace periods and the
// queue of deferred callbacks. The shared layer owns the public preconditions,
// the pending-object accounting and its bound, the allocation-failure
// fallback and retire_list.
#pragma once

#include <atomic>
#include <cstddef>

namespace maple::rcu::detail {

struct chunk_cache;

// All of a thread's RCU state, in one trivially constructed thread_local
// (defined in deferred.cpp) so that every access is one %fs-relative load:
// initial-exec, no __tls_get_addr even in a shared libmaple, and no TLS
// wrapper call (constinit, trivially destructible).
struct thread_state {
  /// Registration folded into the read depth: 0 = not registered with the
  /// backend, 1 = registered and outside any section, 1 + d = d guards deep.
  unsigned word;
  bool running_callbacks;  ///< inside a deferred callback
  void *reader;            ///< the std backend's reader record
  chunk_cache *chunks;     ///< retire_list's spare chunks (retire_list.cpp)
};
[[gnu::tls_model("initial-exec")]] extern constinit thread_local thread_state this_thread;

// A callback record the caller embeds in its own object (a retire_list
// chunk, a defer() record), so queuing allocates nothing: room for the
// backend's queue link (liburcu's rcu_head; the std queue's next pointer)
// and the function to run. fn(head) may free the memory holding head.
struct callback_head {
  void *backend_words[2];
  void (*fn)(callback_head *);
};

// ---- provided by the backend ------------------------------------------------

/// Waits for a grace period (the caller is outside any read section).
void backend_synchronize() noexcept;

/// Queues fn(h) to run after a grace period. Allocates nothing and cannot
/// fail; fn accounts for what it frees (callback_done). `weight` is the
/// number of objects fn frees (the std backend processes its queue by it).
void backend_call(callback_head *h, void (*fn)(callback_head *), std::size_t weight) noexcept;

/// Runs (or waits for) every callback queued before the call.
void backend_barrier() noexcept;

/// Makes the calling thread's later callbacks run on a worker pinned to
/// `cpu` (-1: the default worker). False when the backend has no workers or
/// the worker could not be made.
bool backend_set_callback_cpu(int cpu) noexcept;

/// True on a thread that is running deferred callbacks right now.
inline bool in_callback() noexcept { return this_thread.running_callbacks; }

/// "urcu" or "std".
const char *backend_name() noexcept;

// ---- provided by the shared layer -------------------------------------------

/// Counts `weight` more pending objects, queues fn(h) (backend_call), then
/// applies the pending bound. fn must call callback_done(weight) once it has
/// freed them. Used by defer() and retire_list::submit().
void call_weighted(callback_head *h, void (*fn)(callback_head *), std::size_t weight) noexcept;

/// Whether a waiting function may be called here (outside any read section);
/// aborts with "<fn> called inside a read section" otherwise.
void require_outside_read_section(const char *fn) noexcept;

/// Accounts for a callback that freed `weight` objects.
void callback_done(std::size_t weight) noexcept;

/// Thread registration accounting (for stats().registered_threads).
void thread_registered() noexcept;
void thread_unregistered() noexcept;

/// Allocation-failure injection for tests (test_hooks.h): true if the next
/// bookkeeping allocation must be treated as failed. One relaxed load when
/// no failure is pending.
extern std::atomic<std::size_t> injected_failures;
bool consume_injected_failure() noexcept;
inline bool fail_this_allocation() noexcept {
  return injected_failures.load(std::memory_order_relaxed) != 0 && consume_injected_failure();
}

/// Prints "maple::rcu: <what>" to stderr and aborts (a broken precondition
/// that would otherwise deadlock).
[[noreturn]] void fatal(const char *what) noexcept;

}  // namespace maple::rcu::detail
