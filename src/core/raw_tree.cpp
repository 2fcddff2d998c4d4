// The library's engine: basic_raw_tree<16>, 256-byte nodes.
#include "core/raw_tree_impl.h"

#include <cstdio>
#include <cstdlib>

namespace maple {

template class basic_raw_tree<16>;

namespace detail {

void reserve_exhausted() noexcept {
  std::fputs(
      "maple: store_prealloc() needed more nodes than preallocate() reserved "
      "(the tree changed in between, or a preallocation bug)\n",
      stderr);
  std::abort();
}

const char *write_kind_name(write_kind k) noexcept {
  switch (k) {
    case write_kind::store_root: return "store_root";
    case write_kind::new_root: return "new_root";
    case write_kind::exact_fit: return "exact_fit";
    case write_kind::slot_store: return "slot_store";
    case write_kind::append: return "append";
    case write_kind::node_store: return "node_store";
    case write_kind::spanning: return "spanning";
    case write_kind::leaf_split: return "leaf_split";
    case write_kind::internal_split: return "internal_split";
    case write_kind::root_split: return "root_split";
    case write_kind::push: return "push";
    case write_kind::rebalance: return "rebalance";
    case write_kind::root_collapse: return "root_collapse";
    case write_kind::count_: break;
  }
  return "?";
}

}  // namespace detail
}  // namespace maple
