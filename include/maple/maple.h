// maple/maple.h - every public header of the tree library (target
// maple::maple) in one include. The XArray (maple/xarray.h, maple/xa_state.h;
// target maple::xarray) and the address-space model (maple/mm.h; target
// maple::mm) are separate libraries with their own headers.
#pragma once

#include <maple/cursor.h>
#include <maple/entry.h>
#include <maple/error.h>
#include <maple/failing_resource.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>
#include <maple/tree.h>
