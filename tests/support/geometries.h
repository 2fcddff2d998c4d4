// The test geometries (4, 6, 32, 64 slots), instantiated in small_engine.cpp
// and wide_engine.cpp, declared for every other test and fuzz unit.
#pragma once

#include "tree/geometry_list.h"

MAPLE_DECLARE_GEOMETRY(4);
MAPLE_DECLARE_GEOMETRY(6);
MAPLE_DECLARE_GEOMETRY(32);
MAPLE_DECLARE_GEOMETRY(64);
