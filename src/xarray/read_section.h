// The read-side critical section the XArray's lockless readers enter: the
// shared RCU layer's guard. Nodes are retired through it in node_memory.cpp.
#pragma once

#include <maple/rcu.h>

namespace maple::detail {

using xa_read_section = rcu::read_guard;

}  // namespace maple::detail
