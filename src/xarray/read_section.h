// The read-side critical section the XArray's lockless readers enter.
//
// Until the shared RCU layer (maple/rcu.h) is merged this is a no-op and
// retired nodes are freed only when the array is destroyed (node_memory.cpp),
// which is what keeps concurrent readers safe meanwhile.
#pragma once

namespace maple::detail {

class xa_read_section {
 public:
  // User-provided, like the real guard's, so that a scoped section is not
  // an "unused variable".
  xa_read_section() noexcept {}  // NOLINT(modernize-use-equals-default)
  ~xa_read_section() {}          // NOLINT(modernize-use-equals-default)
  xa_read_section(const xa_read_section &) = delete;
  xa_read_section &operator=(const xa_read_section &) = delete;
};

}  // namespace maple::detail
