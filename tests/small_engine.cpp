// tests/small_engine.cpp - instantiates the whole engine with 4-slot nodes
// (maple::basic_raw_tree<4>) and its cursors from the template definitions,
// so every typed test also runs on a geometry where small data makes deep
// trees.
#include "core/raw_tree_impl.h"

template class maple::basic_raw_tree<4>;
template class maple::basic_cursor<4>;
template class maple::basic_write_cursor<4>;
template class maple::basic_write_guard<4>;
template class maple::basic_read_guard<4>;

// The smallest geometry that holds allocation trees (3 children per
// internal node): tests/tree_types.h, alloc_tree<6>.
template class maple::basic_raw_tree<6>;
template class maple::basic_cursor<6>;
template class maple::basic_write_cursor<6>;
template class maple::basic_write_guard<6>;
template class maple::basic_read_guard<6>;
