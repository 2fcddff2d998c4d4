// Per-thread slab cache for 256-byte nodes (see node_cache.h).
#include "alloc/node_cache.h"

#include <mutex>
#include <new>
#include <vector>

namespace maple::detail {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
constexpr std::size_t kChunkAlign = 4096;
constexpr std::size_t kBatch = 256;  // blocks per batch moved between thread and shared list

// A free block; the first block of a batch in the shared list also links
// the batches and says how many blocks its batch has.
struct free_block {
  free_block *next;
  free_block *next_batch;
  std::size_t batch_n;
};

// Shared state; intentionally never destroyed so that trees living in static
// storage can still free nodes during process teardown. It holds batches
// (kBatch blocks, fewer from exiting threads), moved whole in O(1).
struct shared_pool {
  std::mutex m;
  free_block *batches = nullptr;
  std::size_t count = 0;       // blocks
  std::vector<void *> chunks;  // keeps every chunk reachable (no leak reports)

  void put(free_block *batch, std::size_t n) {
    batch->batch_n = n;
    std::lock_guard<std::mutex> g(m);
    batch->next_batch = batches;
    batches = batch;
    count += n;
  }
  // A batch and its size (got), or nullptr.
  free_block *take(std::size_t &got) {
    std::lock_guard<std::mutex> g(m);
    free_block *b = batches;
    if (b != nullptr) {
      batches = b->next_batch;
      got = b->batch_n;
      count -= got;
    }
    return b;
  }
  char *new_chunk() {
    void *c = ::operator new(kChunkBytes, std::align_val_t(kChunkAlign));
    std::lock_guard<std::mutex> g(m);
    try {
      chunks.push_back(c);
    } catch (...) {
      ::operator delete(c, std::align_val_t(kChunkAlign));
      throw;
    }
    return static_cast<char *>(c);
  }
};

shared_pool &shared() {
  static shared_pool *p = new shared_pool;
  return *p;
}

// Two lists of at most kBatch blocks each (a loaded and a spare magazine):
// a thread goes to the shared list only after kBatch frees or allocations
// past its last visit, and then moves a whole batch in O(1). A thread that
// only frees (an RCU callback worker) hands full batches to the threads
// that only allocate (the writers) at one lock per kBatch blocks.
struct thread_cache {
  free_block *cur = nullptr;
  std::size_t cur_n = 0;
  free_block *full = nullptr;  // exactly kBatch blocks, or none
  char *bump = nullptr, *bump_end = nullptr;

  ~thread_cache() {
    while (bump && bump < bump_end) {
      deallocate(bump);
      bump += node_block_size;
    }
    if (full) shared().put(full, kBatch);
    if (cur_n != 0) shared().put(cur, cur_n);
  }
  void *allocate() {
    if (cur_n == 0) [[unlikely]]
      return refill_and_allocate();
    free_block *b = cur;
    cur = b->next;
    --cur_n;
    return b;
  }
  void deallocate(void *p) {
    if (cur_n == kBatch) [[unlikely]]
      make_room();
    auto *b = static_cast<free_block *>(p);
    b->next = cur;
    cur = b;
    ++cur_n;
  }

  // The slow paths, out of line so that the fast ones save no registers.
  [[gnu::noinline]] void *refill_and_allocate() {
    if (full != nullptr) {
      cur = full;
      full = nullptr;
      cur_n = kBatch;
    } else if (free_block *b = shared().take(cur_n)) {
      cur = b;
    } else {
      if (bump == bump_end) {
        bump = shared().new_chunk();
        bump_end = bump + kChunkBytes;
      }
      void *p = bump;
      bump += node_block_size;
      return p;
    }
    return allocate();
  }
  [[gnu::noinline]] void make_room() {
    if (full != nullptr) shared().put(full, kBatch);
    full = cur;
    cur = nullptr;
    cur_n = 0;
  }
};

thread_cache &local() {
  static thread_local thread_cache c;
  return c;
}

class node_cache_resource final : public std::pmr::memory_resource {
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    if (bytes == node_block_size && align <= node_block_size) return local().allocate();
    return ::operator new(bytes, std::align_val_t(align));
  }
  void do_deallocate(void *p, std::size_t bytes, std::size_t align) override {
    if (bytes == node_block_size && align <= node_block_size) return local().deallocate(p);
    ::operator delete(p, std::align_val_t(align));
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }
};

}  // namespace

std::pmr::memory_resource *default_node_resource() noexcept {
  static node_cache_resource *r = new node_cache_resource;
  return r;
}

node_cache_stats default_node_cache_stats() noexcept {
  shared_pool &s = shared();
  std::lock_guard<std::mutex> g(s.m);
  return {s.chunks.size(), s.count};
}

}  // namespace maple::detail
