// src/rcu/backend_std.cpp - grace periods built on std::atomic, for builds
// that ThreadSanitizer must understand (it cannot see liburcu's membarrier
// based ordering). Simple rather than fast:
//
//  * a global grace-period counter `gp` (starts at 1, only grows) and one
//    reader record per registered thread, in a registry list;
//  * the outermost read_guard stores the current gp into its record (0 means
//    "not reading") and leaves by storing 0 (release: everything the section
//    read happens-before the writer that sees the 0);
//  * synchronize() advances gp to `target` and waits until every record is
//    0 or >= target: readers that entered before the advance have left,
//    readers that entered after it see whatever was unlinked before it;
//  * defer() queues the callback and never waits: a writer may defer while
//    another thread's reader waits for that writer (a test's baton, a
//    user's handshake), so a grace-period wait there could deadlock. Once
//    the queue holds batch_weight objects, the deferring thread moves it
//    aside with a grace period started (its target) and, on later defers,
//    polls that target without blocking; the batch runs on the first poll
//    that finds every reader past it. barrier() is the only blocking path:
//    one synchronize() for the waiting batch and the queue together. There
//    is no background thread.
//
// Records of exited threads are recycled (never freed), so the registry
// stays as large as the peak number of live reader threads. Callbacks are
// queued through the callback_head their owners embed (backend.h), so
// queuing allocates nothing.
#include <maple/rcu.h>

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>
#include <utility>

#include "rcu/backend.h"
#include "rcu/read_section.h"

#if defined(__SANITIZE_THREAD__)
#define MAPLE_RCU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAPLE_RCU_TSAN 1
#endif
#endif

namespace maple::rcu {
namespace {

// A batch is processed once it frees this many objects.
constexpr std::size_t batch_weight = 1024;

struct reader_record {
  std::atomic<std::uint64_t> gp_seen{0};  // 0: outside any read section
  reader_record *next = nullptr;          // registry list; set once, under state::registry_lock
  bool in_use = false;                    // under state::registry_lock
};

struct state {
  std::atomic<std::uint64_t> gp{1};

  std::mutex registry_lock;
  reader_record *records = nullptr;

  std::mutex queue_lock;                    // guards queued and queued_weight
  detail::callback_head *queued = nullptr;  // newest first, linked by backend_words[0]
  std::size_t queued_weight = 0;

  // One batch at a time waits for its grace period; barrier() holds this
  // while it waits, so once it has the lock no older batch is still running.
  std::mutex processing;
  detail::callback_head *waiting = nullptr;  // under processing
  std::uint64_t waiting_target = 0;          // the gp `waiting` needs every reader past
};

// Never destroyed: threads (and their thread_local destructors) may outlive
// static destruction.
state &global() {
  static state *s = new state;
  return *s;
}

// A store the writer's scan must not miss, ordered before the section's
// loads (the Dekker pattern: reader stores its record then loads pointers,
// writer stores pointers then loads records). A seq_cst fence on both sides
// does it; ThreadSanitizer does not model fences, so under TSan a seq_cst
// read-modify-write (a full barrier on x86) stands in for store + fence.
void announce(std::atomic<std::uint64_t> &word, std::uint64_t v) noexcept {
#ifdef MAPLE_RCU_TSAN
  word.exchange(v, std::memory_order_seq_cst);
#else
  word.store(v, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

using detail::this_thread;

// A thread gives its record back when it exits, through a pthread key
// destructor: those run after every thread_local destructor, so a
// read_guard in one of them still finds the record.
pthread_key_t exit_key;

void release_record(void *) {
  state &s = global();
  std::lock_guard lock(s.registry_lock);
  static_cast<reader_record *>(this_thread.reader)->in_use = false;
  this_thread.reader = nullptr;
  this_thread.word = 0;
  detail::thread_unregistered();
}

[[gnu::noinline]] void register_this_thread() noexcept {
  static const bool key_made = pthread_key_create(&exit_key, release_record) == 0;
  if (!key_made || pthread_setspecific(exit_key, &this_thread) != 0)
    detail::fatal("cannot arrange for this thread's RCU registration to end at its exit");
  state &s = global();
  std::lock_guard lock(s.registry_lock);
  reader_record *r = s.records;
  while (r != nullptr && r->in_use) r = r->next;
  if (r == nullptr) {
    r = new reader_record;  // out of memory here terminates (read_guard is noexcept)
    r->next = s.records;
    s.records = r;
  }
  r->in_use = true;
  this_thread.reader = r;
  this_thread.word = 1;
  detail::thread_registered();
}

// Acquire: what the reader's section read happens-before the caller's frees.
bool reader_past(const reader_record &r, std::uint64_t target) noexcept {
  std::uint64_t seen = r.gp_seen.load(std::memory_order_acquire);
  return seen == 0 || seen >= target;
}

// Advances gp and returns the value every reader must be at or past (or
// outside its section) before what was unlinked until now may be freed.
std::uint64_t start_grace_period() noexcept {
#ifndef MAPLE_RCU_TSAN
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  return global().gp.fetch_add(1, std::memory_order_seq_cst) + 1;
}

// The scan runs without the registry lock (a reader may be waiting to
// register a thread it started): records are never freed and only
// prepended, and the `next` links of those already listed never change.
// Threads that register later read a gp >= target: nothing to wait for.
const reader_record *first_record() noexcept {
  state &s = global();
  std::lock_guard lock(s.registry_lock);
  return s.records;
}

bool grace_period_over(std::uint64_t target) noexcept {
  for (const reader_record *r = first_record(); r != nullptr; r = r->next)
    if (!reader_past(*r, target)) return false;
  return true;
}

void wait_for_grace_period(std::uint64_t target) noexcept {
  for (const reader_record *r = first_record(); r != nullptr; r = r->next)
    for (unsigned spins = 0; !reader_past(*r, target); ++spins)
      if (spins >= 64) std::this_thread::yield();
}

void run_callbacks(detail::callback_head *batch) noexcept {
  this_thread.running_callbacks = true;
  while (batch != nullptr) {
    auto *next = static_cast<detail::callback_head *>(batch->backend_words[0]);
    batch->fn(batch);  // may free batch
    batch = next;
  }
  this_thread.running_callbacks = false;
}

detail::callback_head *take_queue() noexcept {
  state &s = global();
  std::lock_guard lock(s.queue_lock);
  s.queued_weight = 0;
  return std::exchange(s.queued, nullptr);
}

// The non-blocking step a full queue triggers: runs the waiting batch if
// its grace period is over, then, if none is waiting, moves the queue aside
// with a new grace period started. Skipped while another thread processes.
void poll_queue() noexcept {
  state &s = global();
  std::unique_lock busy(s.processing, std::try_to_lock);
  if (!busy.owns_lock()) return;
  if (s.waiting != nullptr) {
    if (!grace_period_over(s.waiting_target)) return;
    run_callbacks(std::exchange(s.waiting, nullptr));
  }
  s.waiting = take_queue();
  if (s.waiting == nullptr) return;
  s.waiting_target = start_grace_period();
  // Often no reader is inside a section: then the batch can go at once.
  if (grace_period_over(s.waiting_target)) run_callbacks(std::exchange(s.waiting, nullptr));
}

}  // namespace

namespace detail {

void read_lock() noexcept {
  detail::thread_state &ts = this_thread;
  unsigned w = ts.word;
  if (w <= 1) {
    if (w == 0) [[unlikely]]
      register_this_thread();
    announce(static_cast<reader_record *>(ts.reader)->gp_seen,
             global().gp.load(std::memory_order_relaxed));
    w = 1;
  }
  ts.word = w + 1;
}

void read_unlock() noexcept {
  detail::thread_state &ts = this_thread;
  if (--ts.word == 1)
    static_cast<reader_record *>(ts.reader)->gp_seen.store(0, std::memory_order_release);
}

}  // namespace detail

read_guard::read_guard() noexcept { detail::read_lock(); }

read_guard::~read_guard() { detail::read_unlock(); }

namespace detail {

void backend_synchronize() noexcept { wait_for_grace_period(start_grace_period()); }

void backend_call(callback_head *h, void (*fn)(callback_head *), std::size_t weight) noexcept {
  h->fn = fn;
  state &s = global();
  bool full = false;
  {
    std::lock_guard lock(s.queue_lock);
    h->backend_words[0] = s.queued;
    s.queued = h;
    s.queued_weight += weight;
    full = s.queued_weight >= batch_weight;
  }
  // A callback that defers leaves its work to the next poll (this thread
  // holds `processing` while it runs callbacks).
  if (full && !this_thread.running_callbacks) poll_queue();
}

void backend_barrier() noexcept {
  // A poll that took a batch holds `processing` until it has run, so once
  // we hold it, everything deferred before this call is waiting or queued.
  state &s = global();
  std::lock_guard busy(s.processing);
  detail::callback_head *older = std::exchange(s.waiting, nullptr);
  detail::callback_head *newer = take_queue();
  wait_for_grace_period(start_grace_period());
  run_callbacks(older);
  run_callbacks(newer);
}

// Callbacks run on the threads that defer, submit or wait: nothing to pin.
bool backend_set_callback_cpu(int) noexcept { return false; }

const char *backend_name() noexcept { return "std"; }

}  // namespace detail
}  // namespace maple::rcu
