// ID allocation in allocating arrays: the lowest free index in a window,
// found through the free mark, and the cyclic variant.
#include <mutex>

#include "xarray/impl.h"

namespace maple {

using detail::xa_impl;

std::error_code xarray::alloc(void *entry, xa_limit limit, std::uint64_t &id) {
  if (!is_alloc() || xa_is_internal(entry)) return errc::invalid_argument;
  if (!entry) entry = xa_zero_entry();  // the ID is taken even for nullptr
  std::uint64_t min = limit.min;
  if (flags_ == xa_flags::alloc1 && min == 0) min = 1;
  std::lock_guard g(*this);
  std::uint64_t index = 0;
  if (!xa_impl::find_free(*this, min, limit.max, index)) return errc::busy;
  xa_state s(*this, index);
  xa_impl::store(s, reinterpret_cast<detail::xa_word>(entry));
  if (s.error()) return s.error();
  id = index;
  return {};
}

std::error_code xarray::alloc_cyclic(void *entry, xa_limit limit, std::uint64_t &next,
                                     std::uint64_t &id, bool *wrapped) {
  bool wrap = false;
  xa_limit first = limit;
  if (next > first.min) first.min = next;
  std::error_code ec = alloc(entry, first, id);
  if (ec == errc::busy && first.min > limit.min) {
    ec = alloc(entry, limit, id);
    wrap = true;
  }
  if (ec) return ec;
  {
    std::lock_guard g(*this);
    if (cyclic_wrapped_) {
      cyclic_wrapped_ = false;
      wrap = true;
    }
    next = id + 1;
    if (next == 0) cyclic_wrapped_ = true;
  }
  if (wrapped) *wrapped = wrap;
  return {};
}

}  // namespace maple
