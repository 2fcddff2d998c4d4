// maple/rcu.h - the read-copy-update layer shared by maple's concurrent
// structures (the maple tree's RCU mode, the XArray).
//
// Readers enter a read section with a read_guard and load RCU-protected
// pointers (std::atomic, acquire or stronger) without taking any lock. A
// writer unlinks an object, then either waits a grace period (synchronize)
// or hands the object to defer() / a retire_list, whose callbacks run once
// every reader that could still see it has left its section:
//
//   {                                    // reader, any thread
//     maple::rcu::read_guard g;          // registers the thread on first use
//     node *n = head.load(std::memory_order_acquire);
//     use(n);                            // n stays valid until g ends
//   }
//   node *old = head.exchange(fresh);    // writer (serialised by its own lock)
//   maple::rcu::defer([](void *p) { delete static_cast<node *>(p); }, old);
//
// The backend is chosen when maple is configured (MAPLE_RCU_BACKEND): urcu,
// liburcu's memb flavour (the default), or std, grace periods built on
// std::atomic that ThreadSanitizer understands (the tsan test stage uses it).
// Both behave as documented here; docs/design.md "RCU layer" explains them.
//
// Rules that hold for every function below that waits (synchronize, barrier,
// defer, retire_list::add/submit/destruction): it must not be called inside
// a read section (it could wait for itself) nor, for barrier(), from a
// deferred callback. Breaking them aborts with a message instead of
// deadlocking.
#pragma once

#include <cstddef>

namespace maple::rcu {

namespace detail {
struct retire_chunk;
}  // namespace detail

/// RAII read-side critical section. Nestable: only the outermost guard on a
/// thread enters and leaves the section. The first guard on a thread
/// registers the thread with the RCU backend; the registration ends
/// automatically when the thread exits. A guard must be destroyed on the
/// thread that created it (it is neither copyable nor movable).
class read_guard {
 public:
  read_guard() noexcept;
  ~read_guard();
  read_guard(const read_guard &) = delete;
  read_guard &operator=(const read_guard &) = delete;
};

/// True while this thread holds at least one read_guard (for assertions in
/// checked builds: "called under RCU" / "not called under RCU").
bool in_read_section() noexcept;

/// Waits for a grace period: returns once every read section that was in
/// progress when it was called has ended. Sections that start meanwhile are
/// not waited for. Must not be called inside a read section.
void synchronize() noexcept;

/// Runs fn(arg) after a grace period, on an unspecified thread (urcu: the
/// liburcu call_rcu worker; std: the thread of a later defer, submit or
/// barrier call, see docs/design.md). Never fails: if its bookkeeping cannot
/// be allocated it synchronizes and runs fn(arg) before returning. Bounded:
/// when more than pending_limit() objects wait for their grace period, the
/// caller waits (barrier) until they have been freed. Must not be called
/// inside a read section. fn must not throw; it may itself call defer().
void defer(void (*fn)(void *), void *arg) noexcept;

/// Runs the callbacks this thread defers from now on (defer(),
/// retire_list::submit(), and so the node frees of a tree it writes) on a
/// worker thread pinned to `cpu`; -1 goes back to the process-wide worker.
/// The kernel runs RCU callbacks on the CPU that queued them: a writer that
/// owns a core keeps the cost of its frees there, off its readers' cores.
/// Workers are made on first use, one per CPU, and live until the process
/// exits. False when no worker could be made (nothing changes) and with the
/// std backend (its callbacks already run on the deferring threads).
bool set_callback_cpu(int cpu) noexcept;

/// Waits until every callback handed to defer() or retire_list::submit()
/// before this call has run (not those that such callbacks defer in turn).
/// Use it before unloading code or destroying what callbacks touch. Must not
/// be called inside a read section or from a deferred callback.
void barrier() noexcept;

/// Collects (pointer, deleter) pairs of objects a writer has unlinked, and
/// hands the whole batch to ONE deferred callback (e.g. the nodes of a
/// replaced subtree), instead of one callback per object. Each object counts
/// as one against pending_limit(). Not thread-safe: one writer fills a list.
///
/// Allocates nothing in steady state: objects are kept in 256-byte chunks
/// that carry the batch's callback record themselves, and a chunk goes back
/// to the thread that filled it once its callback has run, to be reused by
/// that thread's next list (see docs/design.md "RCU layer").
class retire_list {
 public:
  using deleter = void (*)(void *);
  /// A deleter shared by the whole list, given the list's context first
  /// (e.g. a memory resource to deallocate from).
  using context_deleter = void (*)(void *context, void *p);

  retire_list() noexcept = default;
  /// A list whose add(p) frees p by del(context, p).
  retire_list(context_deleter del, void *context) noexcept : del_(del), context_(context) {}
  /// Submits whatever the list still holds.
  ~retire_list() {
    if (size_ != 0) submit();
  }
  retire_list(const retire_list &) = delete;
  retire_list &operator=(const retire_list &) = delete;
  /// Takes over other's objects and context deleter; other is left empty.
  retire_list(retire_list &&other) noexcept;
  /// Submits this list's objects, then takes over other's.
  retire_list &operator=(retire_list &&other) noexcept;

  /// Adds an unlinked object; del(p) runs after the grace period that
  /// follows submit(). Never fails: if no room can be had it synchronizes
  /// and frees everything held so far, p included, at once.
  void add(void *p, deleter del) noexcept;

  /// add() with the list's context deleter (the two-argument constructor).
  void add(void *p) noexcept;

  /// add() with `delete p` as the deleter.
  template <typename T>
  void add_delete(T *p) noexcept {
    add(p, [](void *q) { delete static_cast<T *>(q); });
  }

  /// Number of objects held (not yet submitted).
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Hands everything held to one deferred callback and empties the list.
  /// A no-op when empty.
  void submit() noexcept;

 private:
  void push(void *p, deleter del) noexcept;
  detail::retire_chunk *head_ = nullptr;
  std::size_t size_ = 0;
  context_deleter del_ = nullptr;
  void *context_ = nullptr;
};

// ---- bounding and statistics ------------------------------------------------

/// Objects (defer() calls and retire_list entries) deferred but not yet
/// freed, summed over all threads, and this process's peak of that number.
struct deferred_stats {
  std::size_t pending = 0;             ///< deferred, not yet run
  std::size_t peak_pending = 0;        ///< highest `pending` seen since reset_peak_pending()
  std::size_t limit_waits = 0;         ///< times a deferring thread waited for the bound
  std::size_t registered_threads = 0;  ///< threads registered as readers now
};

/// A snapshot of the counters above (each read atomically, not together).
deferred_stats stats() noexcept;

/// Sets peak_pending to the current pending count.
void reset_peak_pending() noexcept;

/// The bound on pending deferred objects (default 65536); a defer() or
/// submit() that leaves more pending waits for them to be freed first. The
/// real peak can exceed it by what concurrent writers defer meanwhile and
/// by the size of one retire_list.
std::size_t pending_limit() noexcept;

/// Changes the bound (values below 1 become 1).
void set_pending_limit(std::size_t limit) noexcept;

/// "urcu" or "std": the backend this library was built with.
const char *backend_name() noexcept;

}  // namespace maple::rcu
