// bf16 matrix multiply for bf16 precision (DESIGN §7.1): bf16 operands, fp32 accumulation and
// fp32 output. The kernel is oneDNN's matmul primitive, the faster of the two this CPU offers
// (BENCHMARKS.md, "bf16 matrix multiply kernel"); a build without oneDNN (libdnnl-dev) has none,
// and bf16 precision then refuses to start.
#pragma once
#include <cstdint>

#include "sculpt/linalg/blas.h"

namespace sculpt {

// Whether this build has a bf16 GEMM (oneDNN was found at build time).
bool bf16_gemm_available();

// C (m×n) = op(A) · op(B) + beta · C, row-major with leading dimensions, as gemm() in blas.h;
// A and B hold bf16 bits (core/dtype.h), C is fp32; beta is 0 or 1. op(A) is m×k, op(B) k×n.
// Kernels are compiled once per shape for a bounded number of shapes, then shared per layout
// (bf16_gemm.cpp); calls run on the OpenMP threads.
void gemm_bf16(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace sculpt
