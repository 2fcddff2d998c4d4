// maple/detail/write_mutex.h - the writer lock of a tree that has no
// external lock: one atomic word, taken with one compare-and-swap when free
// and released with one exchange; a writer that finds it taken sleeps on the
// word (C++20 atomic wait/notify) instead of spinning.
#pragma once

#include <atomic>

namespace maple::detail {

/// A non-recursive mutex (Lockable: std::unique_lock and std::lock work with
/// it). The word reads 0 (free), 1 (held) or 2 (held, and a writer may be
/// asleep on it: the unlock then wakes one).
class write_mutex {
 public:
  write_mutex() noexcept = default;
  write_mutex(const write_mutex &) = delete;
  write_mutex &operator=(const write_mutex &) = delete;

  void lock() noexcept {
    if (!try_lock()) [[unlikely]]
      lock_contended();
  }
  bool try_lock() noexcept {
    unsigned free = 0;
    return word_.compare_exchange_strong(free, 1, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (word_.exchange(0, std::memory_order_release) == 2) [[unlikely]]
      word_.notify_one();
  }

 private:
  void lock_contended() noexcept {
    // Marked 2 whenever this writer may sleep, so that the holder's unlock
    // wakes it; a writer that takes the word this way holds it as 2 (an
    // unlock with nobody asleep then costs one needless notify).
    while (word_.exchange(2, std::memory_order_acquire) != 0)
      word_.wait(2, std::memory_order_relaxed);
  }

  std::atomic<unsigned> word_{0};
};

}  // namespace maple::detail
