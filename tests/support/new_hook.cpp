// tests/support/new_hook.cpp - the replaced global operator new of
// new_hook.h.
#include "new_hook.h"

#include <cstdlib>
#include <new>

namespace maple_test {

std::atomic<allocation_hook> new_hook{nullptr};

}  // namespace maple_test

namespace {

void *hooked_new(std::size_t n) {
  maple_test::allocation_hook h = maple_test::new_hook.load(std::memory_order_acquire);
  if (h != nullptr && !h(n)) throw std::bad_alloc();
  void *p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void *operator new(std::size_t n) { return hooked_new(n); }
void *operator new[](std::size_t n) { return hooked_new(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
  try {
    return hooked_new(n);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](std::size_t n, const std::nothrow_t &t) noexcept { return operator new(n, t); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
