// maple/failing_resource.h - a memory resource that fails on purpose, for
// testing what a program does when a tree runs out of node memory.
//
// It wraps another resource (default: std::pmr::new_delete_resource(), so
// that LeakSanitizer and valgrind see every block) and, depending on the
// mode, throws std::bad_alloc instead of forwarding an allocation. Modes are
// deterministic: the same program and seed fail at the same allocations.
//
//   maple::failing_resource mr;
//   maple::raw_tree t(&mr);
//   mr.fail_nth(3);              // the 3rd allocation from now fails (once)
//   mr.fail_after(10);           // 10 more succeed, then every one fails
//   mr.fail_randomly(0.01, 42);  // each fails with probability 1%, seed 42
//   mr.never_fail();
//
// Every maple write that gets std::bad_alloc from its resource returns
// errc::no_memory and leaves the tree exactly as it was. outstanding()
// counts blocks allocated and not yet returned: a tree that is empty and
// holds no preallocation has none. Thread-safe (one internal mutex); the
// resource must outlive every tree using it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <mutex>
#include <new>

namespace maple {

class failing_resource final : public std::pmr::memory_resource {
 public:
  explicit failing_resource(
      std::pmr::memory_resource *upstream = std::pmr::new_delete_resource()) noexcept
      : up_(upstream) {}

  /// The k-th allocation attempt from now (k >= 1) fails; the others
  /// succeed. k == 0 means none.
  void fail_nth(std::size_t k) noexcept {
    std::lock_guard<std::mutex> g(m_);
    set_mode(k ? mode::nth : mode::never);
    countdown_ = k;
  }
  /// `budget` more allocations succeed, then every one fails.
  void fail_after(std::size_t budget) noexcept {
    std::lock_guard<std::mutex> g(m_);
    set_mode(mode::after);
    countdown_ = budget;
  }
  /// Each allocation fails with probability p (0..1), drawn from a
  /// generator seeded with `seed` (splitmix64: the same on every platform).
  void fail_randomly(double p, std::uint64_t seed) noexcept {
    std::lock_guard<std::mutex> g(m_);
    set_mode(mode::random);
    threshold_ = p >= 1.0   ? ~std::uint64_t{0}
                 : p <= 0.0 ? 0
                            : static_cast<std::uint64_t>(p * 18446744073709551616.0);
    rng_ = seed;
  }
  /// Every allocation succeeds (the initial mode).
  void never_fail() noexcept {
    std::lock_guard<std::mutex> g(m_);
    set_mode(mode::never);
  }

  /// Allocations that succeeded / were refused, since construction.
  std::size_t allocations() const noexcept { return read(allocs_); }
  std::size_t failures() const noexcept { return read(fails_); }
  /// Blocks and bytes handed out and not yet deallocated.
  std::size_t outstanding() const noexcept { return read(live_); }
  std::size_t outstanding_bytes() const noexcept { return read(live_bytes_); }
  /// The wrapped resource.
  std::pmr::memory_resource *upstream() const noexcept { return up_; }

 private:
  enum class mode { never, nth, after, random };

  void set_mode(mode m) noexcept { mode_ = m; }
  std::size_t read(const std::size_t &x) const noexcept {
    std::lock_guard<std::mutex> g(m_);
    return x;
  }
  bool refuse() noexcept {  // caller holds m_
    switch (mode_) {
      case mode::never: return false;
      case mode::nth:
        if (--countdown_ != 0) return false;
        mode_ = mode::never;
        return true;
      case mode::after:
        if (countdown_ == 0) return true;
        --countdown_;
        return false;
      case mode::random: {
        std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        return threshold_ != 0 && z <= threshold_ - 1;
      }
    }
    return false;
  }

  void *do_allocate(std::size_t bytes, std::size_t align) override {
    {
      std::lock_guard<std::mutex> g(m_);
      if (refuse()) {
        ++fails_;
        throw std::bad_alloc();
      }
    }
    void *p = up_->allocate(bytes, align);
    std::lock_guard<std::mutex> g(m_);
    ++allocs_;
    ++live_;
    live_bytes_ += bytes;
    return p;
  }
  void do_deallocate(void *p, std::size_t bytes, std::size_t align) override {
    up_->deallocate(p, bytes, align);
    std::lock_guard<std::mutex> g(m_);
    --live_;
    live_bytes_ -= bytes;
  }
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept override {
    return this == &o;
  }

  std::pmr::memory_resource *up_;
  mutable std::mutex m_;
  mode mode_ = mode::never;
  std::size_t countdown_ = 0;
  std::uint64_t threshold_ = 0, rng_ = 0;
  std::size_t allocs_ = 0, fails_ = 0, live_ = 0, live_bytes_ = 0;
};

}  // namespace maple