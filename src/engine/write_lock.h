// The writer lock of a tree: its own write_mutex, or an external lock the user
// holds around every write (set_external_lock() of the public trees). Write calls
// hold a write_lock_scope for their duration; in checked builds
// (MAPLE_CHECKED) the external lock's held() is asserted instead.
#pragma once

#include <maple/detail/tree_core.h>

namespace maple::detail {

#ifdef MAPLE_CHECKED
inline constexpr bool checked_build = true;
#else
inline constexpr bool checked_build = false;
#endif

/// Prints which call ran without the external lock, and aborts.
[[noreturn]] void external_lock_not_held(const char *op) noexcept;

/// Checked builds: aborts naming `op` unless the calling thread holds the
/// tree's external lock. Trees using their own mutex, and unchecked builds:
/// nothing (the call compiles away).
inline void assert_external_lock_held(const tree_core &t, const char *op) noexcept {
  if constexpr (checked_build) {
    const external_lock &l = t.ext;
    if (l.held != nullptr && !l.held(l.context)) external_lock_not_held(op);
  } else {
    (void)t;
    (void)op;
  }
}

/// Serialises one write call: takes the tree's write_mutex, or with an external
/// lock takes nothing and (checked builds) asserts that it is held.
class write_lock_scope {
 public:
  write_lock_scope(const tree_core &t, const char *op) {
    if (t.uses_external_lock()) {
      assert_external_lock_held(t, op);
    } else {
      m_ = &t.lock;
      m_->lock();
    }
  }
  ~write_lock_scope() {
    if (m_ != nullptr) m_->unlock();
  }
  write_lock_scope(const write_lock_scope &) = delete;
  write_lock_scope &operator=(const write_lock_scope &) = delete;

 private:
  write_mutex *m_ = nullptr;
};

}  // namespace maple::detail
