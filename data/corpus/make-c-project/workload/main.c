/* main of the make-c-project workload */
#include <stdio.h>

#include "mod.h"

int main(void) {
  int v[100];
  for (int i = 0; i < 100; ++i) v[i] = i;
  printf("%ld\n", mod1_sum(v, 100) + mod2_sum(v, 100) + mod3_sum(v, 100) + mod4_sum(v, 100) +
                      mod5_sum(v, 100));
  return 0;
}
