// The library's engine: basic_raw_tree<16>, 256-byte nodes.
#include "tree/geometry_list.h"
#include "tree/raw_tree_impl.h"

#include <cstdio>
#include <cstdlib>

MAPLE_INSTANTIATE_GEOMETRY(16);

namespace maple {

const char *to_string(cursor_state s) noexcept {
  switch (s) {
    case cursor_state::start: return "start";
    case cursor_state::active: return "active";
    case cursor_state::root_entry: return "root_entry";
    case cursor_state::none: return "none";
    case cursor_state::paused: return "paused";
    case cursor_state::overflow: return "overflow";
    case cursor_state::underflow: return "underflow";
    case cursor_state::error: return "error";
  }
  return "?";
}

namespace detail {

void cursor_rule_broken(const char *op, cursor_state st, std::uint64_t index, std::uint64_t last,
                        const char *rule) noexcept {
  std::fprintf(stderr, "maple: cursor misuse in %s(): cursor state %s, range [%#llx, %#llx]: %s\n",
               op, to_string(st), static_cast<unsigned long long>(index),
               static_cast<unsigned long long>(last), rule);
  std::abort();
}

void external_lock_not_held(const char *op) noexcept {
  std::fprintf(stderr,
               "maple: external lock not held in %s: the tree's writers serialise on a lock the "
               "caller owns (set_external_lock), and its held() says this thread does not hold "
               "it\n",
               op);
  std::abort();
}

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
