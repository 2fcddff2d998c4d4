// src/rcu/deferred.cpp - the backend-independent half of deferred freeing:
// the public preconditions, the pending-object count and its bound, the
// allocation-failure fallback, and the statistics.
#include <maple/rcu.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>

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

void raise_peak(std::size_t now) noexcept {
  std::size_t seen = peak_objects.load(std::memory_order_relaxed);
  while (now > seen && !peak_objects.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

// One defer(): the callback record and what it runs.
struct deferred_call {
  detail::callback_head head;
  void (*fn)(void *);
  void *arg;

  static void run(detail::callback_head *h) noexcept {
    auto *d = reinterpret_cast<deferred_call *>(h);  // head is the first member
    d->fn(d->arg);
    detail::callback_done(1);
    delete d;
  }
};
static_assert(std::is_standard_layout_v<deferred_call>);

}  // namespace

namespace detail {

void callback_done(std::size_t weight) noexcept {
  pending_objects.fetch_sub(weight, std::memory_order_relaxed);
}

void thread_registered() noexcept { registered.fetch_add(1, std::memory_order_relaxed); }
void thread_unregistered() noexcept { registered.fetch_sub(1, std::memory_order_relaxed); }

[[gnu::tls_model("initial-exec")]] constinit thread_local thread_state this_thread{};

std::atomic<std::size_t> injected_failures{0};

bool consume_injected_failure() noexcept {
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

void require_outside_read_section(const char *fn) noexcept {
  if (this_thread.word > 1) {
    std::fprintf(stderr, "maple::rcu: %s called inside a read section (it would wait for itself)\n",
                 fn);
    std::abort();
  }
}

void call_weighted(callback_head *h, void (*fn)(callback_head *), std::size_t weight) noexcept {
  require_outside_read_section("defer");
  std::size_t now = pending_objects.fetch_add(weight, std::memory_order_relaxed) + weight;
  raise_peak(now);
  backend_call(h, fn, weight);
  // The bound. A callback that defers more must not wait for callbacks
  // (possibly itself); its objects are counted and freed by a later wait.
  if (now > limit.load(std::memory_order_relaxed) && !in_callback()) {
    limit_wait_count.fetch_add(1, std::memory_order_relaxed);
    backend_barrier();
  }
}

}  // namespace detail

bool in_read_section() noexcept { return detail::this_thread.word > 1; }

void synchronize() noexcept {
  detail::require_outside_read_section("synchronize");
  detail::backend_synchronize();
}

void defer(void (*fn)(void *), void *arg) noexcept {
  detail::require_outside_read_section("defer");
  auto *d = detail::fail_this_allocation() ? nullptr : new (std::nothrow) deferred_call;
  if (d == nullptr) {
    // No room to queue it: wait the grace period here instead.
    detail::backend_synchronize();
    fn(arg);
    return;
  }
  d->fn = fn;
  d->arg = arg;
  detail::call_weighted(&d->head, &deferred_call::run, 1);
}

void barrier() noexcept {
  detail::require_outside_read_section("barrier");
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
