// One threading runtime. sculpt's loops use OpenMP and it links the OpenMP build of OpenBLAS,
// so both share libgomp's pool: BLAS called from inside one of our parallel regions runs on the
// calling thread, and BLAS called outside uses the same workers. Nothing spins beside anything.
#pragma once

namespace sculpt {

// Sets the thread count for our loops and for BLAS together. n <= 0 means all cores.
void set_num_threads(int n);
int num_threads();
// Which runtime OpenBLAS was built with: "openmp", "pthreads" or "sequential".
const char* blas_threading_runtime();

}  // namespace sculpt
