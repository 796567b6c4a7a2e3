#include "sculpt/core/threads.h"

#include <omp.h>

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_parallel(void);
}

namespace sculpt {

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

const char* blas_threading_runtime() {
  switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    case 2: return "openmp";
    default: return "unknown";
  }
}

}  // namespace sculpt
