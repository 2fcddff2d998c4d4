// src/rcu/backend_urcu.cpp - the default backend: liburcu's memb flavour
// (readers cost a compiler barrier; the writer's grace period uses the
// membarrier system call). Linked dynamically through pkg-config
// liburcu-memb. By default _LGPL_SOURCE is not defined, so only liburcu's
// exported functions are called; the CMake option MAPLE_URCU_INLINE defines
// it for the library's units, inlining liburcu's read lock and unlock here
// and in the one-shot reads (rcu/read_section.h; see docs/design.md "RCU
// layer" for what that means for the licence).
#include <maple/rcu.h>

#include <urcu/urcu-memb.h>

#include <pthread.h>
#include <sched.h>

#include <cstddef>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "rcu/backend.h"
#include "rcu/read_section.h"

namespace maple::rcu {
namespace {

using detail::this_thread;
using detail::thread_state;

// A thread that registered itself unregisters when it exits, through a
// pthread key destructor: those run after every thread_local destructor, so
// a read_guard in one of them still finds the thread registered.
pthread_key_t exit_key;

void unregister_at_exit(void *) {
  urcu_memb_unregister_thread();
  detail::thread_unregistered();
  this_thread.word = 0;
}

[[gnu::noinline]] void register_this_thread() noexcept {
  static const bool key_made = pthread_key_create(&exit_key, unregister_at_exit) == 0;
  if (!key_made || pthread_setspecific(exit_key, &this_thread) != 0)
    detail::fatal("cannot arrange for this thread's RCU registration to end at its exit");
  urcu_memb_register_thread();
  detail::thread_registered();
  this_thread.word = 1;
}

// liburcu's call_rcu worker registers itself: a callback marks its thread
// registered so that guards and defers there do not register it again.
void run_head(rcu_head *head) {
  thread_state &ts = this_thread;
  ts.running_callbacks = true;
  if (ts.word == 0) ts.word = 1;
  auto *h = reinterpret_cast<detail::callback_head *>(head);  // at backend_words, the first member
  h->fn(h);
  ts.running_callbacks = false;
}

static_assert(sizeof(rcu_head) <= sizeof(detail::callback_head::backend_words));
static_assert(alignof(rcu_head) <= alignof(detail::callback_head));

}  // namespace

namespace detail {

// The liburcu calls come last, so that without MAPLE_URCU_INLINE they are
// tail calls; the depth word is this thread's alone, so its order against
// them does not matter.
void read_lock() noexcept {
  thread_state &ts = this_thread;
  unsigned w = ts.word;
  if (w > 1) {
    ts.word = w + 1;
    return;
  }
  if (w == 0) [[unlikely]]
    register_this_thread();
  ts.word = 2;
  urcu_memb_read_lock();
}

void read_unlock() noexcept {
  thread_state &ts = this_thread;
  unsigned w = ts.word - 1;
  ts.word = w;
  if (w == 1) urcu_memb_read_unlock();
}

void register_reader() noexcept { register_this_thread(); }

}  // namespace detail

read_guard::read_guard() noexcept { detail::read_lock(); }

read_guard::~read_guard() { detail::read_unlock(); }

namespace detail {

void backend_synchronize() noexcept { urcu_memb_synchronize_rcu(); }

void backend_call(callback_head *h, void (*fn)(callback_head *), std::size_t) noexcept {
  h->fn = fn;
  // call_rcu must come from a registered reader thread.
  if (this_thread.word == 0) [[unlikely]]
    register_this_thread();
  urcu_memb_call_rcu(::new (static_cast<void *>(h->backend_words)) rcu_head, run_head);
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

const char *backend_name() noexcept { return "urcu"; }

}  // namespace detail
}  // namespace maple::rcu
