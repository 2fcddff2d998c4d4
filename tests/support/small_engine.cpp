// tests/support/small_engine.cpp - instantiates the whole engine with 4-slot nodes
// (maple::basic_raw_tree<4>) and its cursors from the template definitions,
// so every typed test also runs on a geometry where small data makes deep
// trees.
#include "tree/geometry_list.h"
#include "tree/raw_tree_impl.h"

MAPLE_INSTANTIATE_GEOMETRY(4);

// The smallest geometry that holds allocation trees (3 children per
// internal node): tests/support/tree_types.h, alloc_tree<6>.
MAPLE_INSTANTIATE_GEOMETRY(6);
