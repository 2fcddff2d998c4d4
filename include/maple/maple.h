// maple/maple.h - everything public in one include.
#pragma once

#include <maple/cursor.h>
#include <maple/entry.h>
#include <maple/error.h>
#include <maple/failing_resource.h>
#include <maple/raw_tree.h>
#include <maple/rcu.h>
#include <maple/tree.h>
