// tests/support/wide_engine.cpp - instantiates the engine with the kernel's 32-bit
// node width (basic_raw_tree<32>: 32 slots, 31 pivots) and with the widest
// geometry the node layout allows (basic_raw_tree<64>), for the regression
// catalogue's node-size entries (4: parent-slot encoding of wide nodes; 33:
// tests parameterised by node size). See docs/regressions.md.
#include "tree/geometry_list.h"
#include "tree/raw_tree_impl.h"

MAPLE_INSTANTIATE_GEOMETRY(32);
MAPLE_INSTANTIATE_GEOMETRY(64);
