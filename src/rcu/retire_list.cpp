// src/rcu/retire_list.cpp - many unlinked objects, one deferred callback.
#include <maple/rcu.h>

#include <new>
#include <utility>

#include "rcu/backend.h"

namespace maple::rcu {

// 1 KiB blocks of (pointer, deleter) pairs, chained newest first.
struct retire_list::chunk {
  static constexpr unsigned capacity = 63;
  chunk *next = nullptr;
  unsigned count = 0;
  std::pair<void *, deleter> items[capacity];
};

void retire_list::free_chunks(void *first) noexcept {
  auto *c = static_cast<chunk *>(first);
  while (c != nullptr) {
    for (unsigned i = 0; i < c->count; ++i) c->items[i].second(c->items[i].first);
    chunk *next = c->next;
    delete c;
    c = next;
  }
}

retire_list::~retire_list() { submit(); }

retire_list::retire_list(retire_list &&other) noexcept
    : head_(std::exchange(other.head_, nullptr)), size_(std::exchange(other.size_, 0)) {}

retire_list &retire_list::operator=(retire_list &&other) noexcept {
  if (this != &other) {
    submit();
    head_ = std::exchange(other.head_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void retire_list::add(void *p, deleter del) noexcept {
  // Checked on every call, not only when the fallback below needs it.
  if (in_read_section()) detail::fatal("retire_list::add called inside a read section");
  if (head_ == nullptr || head_->count == chunk::capacity) {
    chunk *c = detail::fail_this_allocation() ? nullptr : new (std::nothrow) chunk;
    if (c == nullptr) {
      // No room: everything held is already unreachable for new readers, so
      // one grace period makes all of it, p included, safe to free now.
      detail::backend_synchronize();
      free_chunks(std::exchange(head_, nullptr));
      size_ = 0;
      del(p);
      return;
    }
    c->next = head_;
    head_ = c;
  }
  head_->items[head_->count++] = {p, del};
  ++size_;
}

void retire_list::submit() noexcept {
  if (size_ == 0) return;
  chunk *batch = std::exchange(head_, nullptr);
  detail::defer_weighted(free_chunks, batch, std::exchange(size_, 0));
}

}  // namespace maple::rcu
