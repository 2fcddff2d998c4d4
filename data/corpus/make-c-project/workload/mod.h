/* the make-c-project workload: five modules and a main */
long mod1_sum(const int *v, int n);
long mod2_sum(const int *v, int n);
long mod3_sum(const int *v, int n);
long mod4_sum(const int *v, int n);
long mod5_sum(const int *v, int n);
