// src/rcu/deferred.cpp - the backend-independent half of deferred freeing:
// the public preconditions, the pending-object count and its bound, the
// allocation-failure fallback, and the statistics.
#include <maple/rcu.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "rcu/backend.h"
#include "rcu/test_hooks.h"

namespace maple::rcu {
namespace {

constexpr std::size_t default_pending_limit = std::size_t{1} << 16;

// Plain counters: relaxed is enough, they order nothing.
std::atomic<std::size_t> pending_objects{0};
std::atomic<std::size_t> peak_objects{0};
std::atomic<std::size_t> limit_wait_count{0};
std::atomic<std::size_t> limit{default_pending_limit};
std::atomic<std::size_t> registered{0};
std::atomic<std::size_t> injected_failures{0};

void raise_peak(std::size_t now) noexcept {
  std::size_t seen = peak_objects.load(std::memory_order_relaxed);
  while (now > seen && !peak_objects.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

void require_outside_read_section(const char *fn) noexcept {
  if (in_read_section()) {
    std::fprintf(stderr, "maple::rcu: %s called inside a read section (it would wait for itself)\n",
                 fn);
    std::abort();
  }
}

}  // namespace

namespace detail {

void callback_done(std::size_t weight) noexcept {
  pending_objects.fetch_sub(weight, std::memory_order_relaxed);
}

void thread_registered() noexcept { registered.fetch_add(1, std::memory_order_relaxed); }
void thread_unregistered() noexcept { registered.fetch_sub(1, std::memory_order_relaxed); }

bool fail_this_allocation() noexcept {
  std::size_t n = injected_failures.load(std::memory_order_relaxed);
  while (n != 0 && !injected_failures.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
  }
  return n != 0;
}

void fail_next_allocations(std::size_t n) noexcept {
  injected_failures.store(n, std::memory_order_relaxed);
}

void fatal(const char *what) noexcept {
  std::fprintf(stderr, "maple::rcu: %s\n", what);
  std::abort();
}

// Shared by defer() and retire_list::submit(): `weight` objects are freed by
// fn(arg).
void defer_weighted(void (*fn)(void *), void *arg, std::size_t weight) noexcept {
  require_outside_read_section("defer");
  std::size_t now = pending_objects.fetch_add(weight, std::memory_order_relaxed) + weight;
  raise_peak(now);
  if (!backend_defer(fn, arg, weight)) {
    // No room to queue it: wait the grace period here instead.
    backend_synchronize();
    fn(arg);
    callback_done(weight);
    return;
  }
  // The bound. A callback that defers more must not wait for callbacks
  // (possibly itself); its objects are counted and freed by a later wait.
  if (now > limit.load(std::memory_order_relaxed) && !in_callback()) {
    limit_wait_count.fetch_add(1, std::memory_order_relaxed);
    backend_barrier();
  }
}

}  // namespace detail

void synchronize() noexcept {
  require_outside_read_section("synchronize");
  detail::backend_synchronize();
}

void defer(void (*fn)(void *), void *arg) noexcept { detail::defer_weighted(fn, arg, 1); }

void barrier() noexcept {
  require_outside_read_section("barrier");
  if (detail::in_callback()) detail::fatal("barrier called from a deferred callback");
  detail::backend_barrier();
}

deferred_stats stats() noexcept {
  deferred_stats s;
  s.pending = pending_objects.load(std::memory_order_relaxed);
  s.peak_pending = peak_objects.load(std::memory_order_relaxed);
  s.limit_waits = limit_wait_count.load(std::memory_order_relaxed);
  s.registered_threads = registered.load(std::memory_order_relaxed);
  return s;
}

void reset_peak_pending() noexcept {
  peak_objects.store(pending_objects.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

std::size_t pending_limit() noexcept { return limit.load(std::memory_order_relaxed); }

void set_pending_limit(std::size_t l) noexcept {
  limit.store(l < 1 ? 1 : l, std::memory_order_relaxed);
}

const char *backend_name() noexcept { return detail::backend_name(); }

bool set_callback_cpu(int cpu) noexcept { return detail::backend_set_callback_cpu(cpu); }

}  // namespace maple::rcu
