// The engine state a public tree holds, for the library's own layers (the
// facade's definitions, the address-space model) and for the tests that
// inspect nodes. Users never need it.
#pragma once

#include <maple/raw_tree.h>

namespace maple::detail {

struct tree_access {
  template <unsigned S>
  static tree_core &core(basic_raw_tree<S> &t) noexcept {
    return t.core_;
  }
  template <unsigned S>
  static const tree_core &core(const basic_raw_tree<S> &t) noexcept {
    return t.core_;
  }
};

}  // namespace maple::detail
