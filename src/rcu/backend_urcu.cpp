// src/rcu/backend_urcu.cpp - the default backend: liburcu's memb flavour
// (readers cost a compiler barrier; the writer's grace period uses the
// membarrier system call). Linked dynamically through pkg-config
// liburcu-memb; _LGPL_SOURCE is deliberately not defined, so only liburcu's
// exported functions are called (see docs/design.md "RCU layer").
#include <maple/rcu.h>

#include <urcu/urcu-memb.h>

#include <pthread.h>
#include <sched.h>

#include <cstddef>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

#include "rcu/backend.h"

namespace maple::rcu {
namespace {

// A thread's registration as a liburcu reader: made on the first read_guard
// (or defer), ended by the thread_local destructor at thread exit.
// liburcu's call_rcu worker registers itself; `owned` is false there.
struct reader_registration {
  bool registered = false;
  bool owned = false;

  reader_registration() = default;
  reader_registration(const reader_registration &) = delete;
  reader_registration &operator=(const reader_registration &) = delete;
  ~reader_registration() {
    if (owned) {
      urcu_memb_unregister_thread();
      detail::thread_unregistered();
    }
  }
};

thread_local reader_registration this_thread_registration;
thread_local unsigned read_depth = 0;
thread_local bool running_callbacks = false;

void ensure_registered() noexcept {
  reader_registration &r = this_thread_registration;
  if (!r.registered) {
    urcu_memb_register_thread();
    r.registered = r.owned = true;
    detail::thread_registered();
  }
}

// One defer(): liburcu's rcu_head must be the first member so that the
// callback can get back from the head to the whole record.
struct deferred_call {
  rcu_head head;
  void (*fn)(void *);
  void *arg;
  std::size_t weight;
};
static_assert(std::is_standard_layout_v<deferred_call>);

void run_deferred(rcu_head *head) {
  // Runs on liburcu's call_rcu worker, which is already a registered reader.
  running_callbacks = true;
  this_thread_registration.registered = true;
  auto *d = reinterpret_cast<deferred_call *>(head);
  d->fn(d->arg);
  detail::callback_done(d->weight);
  delete d;
}

}  // namespace

read_guard::read_guard() noexcept {
  if (read_depth++ == 0) {
    ensure_registered();
    urcu_memb_read_lock();
  }
}

read_guard::~read_guard() {
  if (--read_depth == 0) urcu_memb_read_unlock();
}

bool in_read_section() noexcept { return read_depth != 0; }

namespace detail {

void backend_synchronize() noexcept { urcu_memb_synchronize_rcu(); }

bool backend_defer(void (*fn)(void *), void *arg, std::size_t weight) noexcept {
  deferred_call *d = fail_this_allocation() ? nullptr : new (std::nothrow) deferred_call;
  if (d == nullptr) return false;
  d->fn = fn;
  d->arg = arg;
  d->weight = weight;
  ensure_registered();  // call_rcu must come from a registered reader thread
  urcu_memb_call_rcu(&d->head, run_deferred);
  return true;
}

void backend_barrier() noexcept { urcu_memb_barrier(); }

namespace {
/// A call_rcu worker pinned to `cpu` from its first callback: made from a
/// helper thread that is pinned first, since the worker inherits its
/// creator's affinity (liburcu only re-checks its own affinity now and
/// then). nullptr on failure.
call_rcu_data *make_pinned_worker(int cpu) {
  call_rcu_data *w = nullptr;
  std::thread maker([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) return;
    w = urcu_memb_create_call_rcu_data(0, cpu);
  });
  maker.join();
  return w;
}
}  // namespace

bool backend_set_callback_cpu(int cpu) noexcept {
  if (cpu < 0) {
    urcu_memb_set_thread_call_rcu_data(nullptr);  // back to the default worker
    return true;
  }
  // One worker per CPU, made on first use and kept (liburcu's barrier waits
  // for every worker's callbacks).
  static std::mutex lock;
  static std::vector<call_rcu_data *> workers;
  call_rcu_data *w = nullptr;
  try {
    std::lock_guard<std::mutex> g(lock);
    if (workers.size() <= static_cast<std::size_t>(cpu))
      workers.resize(static_cast<std::size_t>(cpu) + 1, nullptr);
    call_rcu_data *&slot = workers[static_cast<std::size_t>(cpu)];
    if (slot == nullptr) slot = make_pinned_worker(cpu);
    w = slot;
  } catch (...) {
    return false;
  }
  if (w == nullptr) return false;
  urcu_memb_set_thread_call_rcu_data(w);
  return true;
}

bool in_callback() noexcept { return running_callbacks; }

const char *backend_name() noexcept { return "urcu"; }

}  // namespace detail
}  // namespace maple::rcu
