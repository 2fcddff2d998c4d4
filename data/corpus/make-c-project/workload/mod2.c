/* module 2 of the make-c-project workload */
#include "mod.h"

long mod2_sum(const int *v, int n) {
  long s = 0;
  for (int i = 0; i < n; ++i) s += (long)v[i] * 2;
  return s;
}
