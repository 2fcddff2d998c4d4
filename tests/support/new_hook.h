// tests/support/new_hook.h - a test executable that links new_hook.cpp has
// the global operator new (its plain forms) replaced: every allocation asks
// the hook first, which may count it or refuse it (the operator then throws
// std::bad_alloc, or returns nullptr for the nothrow forms). Aligned forms
// are left to the library.
#pragma once

#include <atomic>
#include <cstddef>

namespace maple_test {

/// Asked before each plain operator new (any thread); false refuses the
/// allocation. nullptr: every allocation goes ahead.
using allocation_hook = bool (*)(std::size_t bytes) noexcept;
extern std::atomic<allocation_hook> new_hook;

}  // namespace maple_test
