// linalg: the only place BLAS and LAPACK are called. Everything here is row-major; LAPACK's
// column-major convention is handled inside (a row-major m×n matrix is a column-major n×m one).
#pragma once
#include <cstdint>

#include "sculpt/core/tensor.h"

namespace sculpt {

enum class Trans { no, yes };

// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions.
// op(A) is m×k, op(B) is k×n.
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Double-precision twin, used by tests and (later) --svd-dtype f64.
void gemm_f64(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
              int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// Tensor convenience: 2-D row-major tensors, C = alpha · op(A) · op(B) + beta · C.
void matmul(const Tensor& a, Trans trans_a, const Tensor& b, Trans trans_b, Tensor& c, float alpha = 1.f,
            float beta = 0.f);

// y (m×n) = x (m×k) · Wᵀ (W is k_out×k in HF [out, in] layout) + bias.
void linear_forward(const float* x, const float* weight, const float* bias, float* y, int64_t rows,
                    int64_t in_features, int64_t out_features);

}  // namespace sculpt
