// src/rcu/retire_list.cpp - many unlinked objects, one deferred callback,
// and no allocation per batch once a thread has spare chunks.
//
// A chunk carries the batch's callback record (backend.h), so submit()
// queues the batch without allocating. Chunks are recycled per thread: a
// chunk remembers the cache of the thread that first made it, the callback
// pushes it back there (a lock-free push; only that thread takes, all at
// once, so there is no ABA), and the thread's next add() reuses it. Caches
// of exited threads pass to new threads, never to the heap, so the chunks
// kept are bounded by the most that were ever waiting for a grace period at
// once (at most one per pending object: see pending_limit()).
#include <maple/rcu.h>

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <new>
#include <utility>

#include "rcu/backend.h"
#include "rcu/test_hooks.h"

namespace maple::rcu::detail {

struct chunk_cache;

struct retire_chunk {
  static constexpr unsigned capacity = 11;  // fills 256 bytes with the header
  struct item {
    void *p;
    retire_list::deleter del;  // nullptr: the chunk's context deleter
  };
  callback_head head;  // used in a batch's newest chunk; first member
  retire_chunk *next;  // older chunk of the batch, or next spare chunk
  chunk_cache *home;   // where it goes back (nullptr: to the heap)
  retire_list::context_deleter del;
  void *context;
  std::size_t weight;  // newest chunk of a submitted batch: objects in it
  unsigned count;
  item items[capacity];
};
static_assert(sizeof(retire_chunk) <= 256);

// One thread's spare chunks.
struct chunk_cache {
  retire_chunk *spare = nullptr;                  // its thread's own list
  std::atomic<retire_chunk *> returned{nullptr};  // pushed by callbacks, taken all at once
  chunk_cache *next_cache = nullptr;              // registry link, set once
  bool in_use = false;                            // under registry_lock
};

namespace {

std::mutex registry_lock;
chunk_cache *caches = nullptr;  // never freed: callbacks may return chunks to any of them
pthread_key_t exit_key;

// Runs at thread exit (pthread key destructors run after thread_local
// ones, so a list submitted by a thread_local destructor still finds it).
void release_cache(void *c) {
  std::lock_guard g(registry_lock);
  static_cast<chunk_cache *>(c)->in_use = false;
  this_thread.chunks = nullptr;
}

// This thread's cache: a free one of an exited thread, or a new one.
// nullptr when out of memory (the chunks made then go back to the heap).
[[gnu::noinline]] chunk_cache *adopt_cache() noexcept {
  static const bool key_made = pthread_key_create(&exit_key, release_cache) == 0;
  if (!key_made) return nullptr;
  std::lock_guard g(registry_lock);
  chunk_cache *c = caches;
  while (c != nullptr && c->in_use) c = c->next_cache;
  if (c == nullptr) {
    c = new (std::nothrow) chunk_cache;
    if (c == nullptr) return nullptr;
    c->next_cache = caches;
    caches = c;
  }
  if (pthread_setspecific(exit_key, c) != 0) return nullptr;  // stays free for others
  c->in_use = true;
  this_thread.chunks = c;
  return c;
}

// A spare chunk of this thread, else a new one; nullptr when out of memory
// (or when the test hook says so).
retire_chunk *take_chunk() noexcept {
  if (fail_this_allocation()) return nullptr;
  chunk_cache *c = this_thread.chunks;
  if (c != nullptr) [[likely]] {
    retire_chunk *k = c->spare;
    if (k == nullptr) k = c->returned.exchange(nullptr, std::memory_order_acquire);
    if (k != nullptr) {
      c->spare = k->next;
      return k;
    }
  } else {
    c = adopt_cache();
  }
  auto *k = new (std::nothrow) retire_chunk;
  if (k != nullptr) k->home = c;
  return k;
}

void give_back(retire_chunk *k) noexcept {
  chunk_cache *c = k->home;
  if (c == nullptr) {
    delete k;
    return;
  }
  retire_chunk *top = c->returned.load(std::memory_order_relaxed);
  do {
    k->next = top;
  } while (!c->returned.compare_exchange_weak(top, k, std::memory_order_release,
                                              std::memory_order_relaxed));
}

// Frees every object of the chunks from k on and gives the chunks back.
void free_chain(retire_chunk *k) noexcept {
  while (k != nullptr) {
    for (unsigned i = 0; i < k->count; ++i) {
      retire_chunk::item &it = k->items[i];
      if (it.del != nullptr)
        it.del(it.p);
      else
        k->del(k->context, it.p);
    }
    retire_chunk *next = k->next;
    give_back(k);
    k = next;
  }
}

// The deferred callback of a submitted batch.
void run_batch(callback_head *h) noexcept {
  auto *k = reinterpret_cast<retire_chunk *>(h);  // head is the first member
  std::size_t weight = k->weight;
  free_chain(k);
  callback_done(weight);
}

}  // namespace

std::size_t retire_chunk_capacity() noexcept { return retire_chunk::capacity; }

}  // namespace maple::rcu::detail

namespace maple::rcu {

retire_list::retire_list(retire_list &&other) noexcept
    : head_(std::exchange(other.head_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      del_(other.del_),
      context_(other.context_) {}

retire_list &retire_list::operator=(retire_list &&other) noexcept {
  if (this != &other) {
    submit();
    head_ = std::exchange(other.head_, nullptr);
    size_ = std::exchange(other.size_, 0);
    del_ = other.del_;
    context_ = other.context_;
  }
  return *this;
}

void retire_list::add(void *p, deleter del) noexcept { push(p, del); }

void retire_list::add(void *p) noexcept {
  if (del_ == nullptr) detail::fatal("retire_list::add(p) on a list made without a deleter");
  push(p, nullptr);
}

void retire_list::push(void *p, deleter del) noexcept {
  // Checked on every call, not only when the fallback below needs it.
  if (detail::this_thread.word > 1) detail::fatal("retire_list::add called inside a read section");
  detail::retire_chunk *c = head_;
  if (c == nullptr || c->count == detail::retire_chunk::capacity) [[unlikely]] {
    c = detail::take_chunk();
    if (c == nullptr) {
      // No room: everything held is already unreachable for new readers, so
      // one grace period makes all of it, p included, safe to free now.
      detail::backend_synchronize();
      detail::free_chain(std::exchange(head_, nullptr));
      size_ = 0;
      if (del != nullptr)
        del(p);
      else
        del_(context_, p);
      return;
    }
    c->next = head_;
    c->del = del_;
    c->context = context_;
    c->count = 0;
    head_ = c;
  }
  c->items[c->count++] = {p, del};
  ++size_;
}

void retire_list::submit() noexcept {
  if (size_ == 0) return;
  detail::retire_chunk *batch = std::exchange(head_, nullptr);
  std::size_t weight = std::exchange(size_, 0);
  batch->weight = weight;
  detail::call_weighted(&batch->head, detail::run_batch, weight);
}

}  // namespace maple::rcu
