#include <gtest/gtest.h>
#include "strace_parser.h"
