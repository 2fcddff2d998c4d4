/* module 4 of the make-c-project workload */
#include "mod.h"

long mod4_sum(const int *v, int n) {
  long s = 0;
  for (int i = 0; i < n; ++i) s += (long)v[i] * 4;
  return s;
}
