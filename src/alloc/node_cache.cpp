// Per-thread slab cache for 256-byte nodes (see node_cache.h).
#include "alloc/node_cache.h"

#include <mutex>
#include <new>
#include <vector>

namespace maple::detail {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
constexpr std::size_t kChunkAlign = 4096;
constexpr std::size_t kThreadCap = 8192;  // blocks kept per thread before sharing
constexpr std::size_t kBatch = 256;       // blocks moved between thread and shared list

struct free_block {
  free_block *next;
};

// Shared state; intentionally never destroyed so that trees living in static
// storage can still free nodes during process teardown.
struct shared_pool {
  std::mutex m;
  free_block *head = nullptr;
  std::size_t count = 0;
  std::vector<void *> chunks;  // keeps every chunk reachable (no leak reports)

  void put(free_block *first, free_block *last, std::size_t n) {
    std::lock_guard<std::mutex> g(m);
    last->next = head;
    head = first;
    count += n;
  }
  // Takes up to n blocks; returns the list and sets got.
  free_block *take(std::size_t n, std::size_t &got) {
    std::lock_guard<std::mutex> g(m);
    free_block *first = head, *b = head;
    got = 0;
    while (b && got < n) {
      ++got;
      if (got == n || !b->next) break;
      b = b->next;
    }
    if (!first) return nullptr;
    head = b->next;
    b->next = nullptr;
    count -= got;
    return first;
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

struct thread_cache {
  free_block *head = nullptr;
  std::size_t count = 0;
  char *bump = nullptr, *bump_end = nullptr;

  ~thread_cache() {
    while (bump && bump < bump_end) {
      push(reinterpret_cast<free_block *>(bump));
      bump += node_block_size;
    }
    if (head) give_back(count);
  }
  void push(free_block *b) noexcept {
    b->next = head;
    head = b;
    ++count;
  }
  void give_back(std::size_t n) {
    free_block *first = head, *last = head;
    for (std::size_t i = 1; i < n; ++i) last = last->next;
    head = last->next;
    count -= n;
    shared().put(first, last, n);
  }
  void *pop() noexcept {
    free_block *b = head;
    head = b->next;
    --count;
    return b;
  }
  void *allocate() {
    if (head) return pop();
    if (bump != bump_end) {
      void *p = bump;
      bump += node_block_size;
      return p;
    }
    std::size_t got = 0;
    if (free_block *l = shared().take(kBatch, got)) {
      head = l;
      count = got;
      return pop();
    }
    bump = shared().new_chunk();
    bump_end = bump + kChunkBytes;
    void *p = bump;
    bump += node_block_size;
    return p;
  }
  void deallocate(void *p) {
    push(static_cast<free_block *>(p));
    if (count > kThreadCap) give_back(kBatch);
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
