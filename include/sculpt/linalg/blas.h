// linalg: the only place BLAS and LAPACK are called. Everything here is row-major; LAPACK's
// column-major convention is handled inside (a row-major m×n matrix is a column-major n×m one).
#pragma once
#include <cstdint>

#include "sculpt/core/tensor.h"

namespace sculpt {

enum class Trans { no, yes };

// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions.
// op(A) is m×k, op(B) is k×n. Outside a parallel region with ≥ 2 threads and ≥ 64 rows per
// thread, C's rows are split over the threads, each making a single-threaded OpenBLAS call.
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Benchmarks only: when set, every float gemm() reports its shape before running (from any
// thread; `nested` is true inside an OpenMP parallel region, where OpenBLAS runs single-threaded).
// Used to compute a step's sgemm roofline from the exact GEMMs it issues.
struct GemmCall {
  Trans trans_a, trans_b;
  int64_t m, n, k;
  bool nested;
};
using GemmObserver = void (*)(const GemmCall&);
void set_gemm_observer(GemmObserver observer);
// Benchmarks only: false hands every float gemm() whole to OpenBLAS's own threading, so that
// the row split can be measured against it in one run (default true).
void set_gemm_row_split(bool enabled);

// Double-precision overload (gradient checks, --svd-dtype f64).
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
              int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// Tensor convenience: 2-D row-major tensors, C = alpha · op(A) · op(B) + beta · C.
void matmul(const Tensor& a, Trans trans_a, const Tensor& b, Trans trans_b, Tensor& c, float alpha = 1.f,
            float beta = 0.f);

// y (rows×out) = x (rows×in) · Wᵀ + bias, W in HF [out, in] layout; bias may be null.
template <typename T>
void linear_forward(const T* x, const T* weight, const T* bias, T* y, int64_t rows, int64_t in_features,
                    int64_t out_features);

// y (rows×out) = residual + x · Wᵀ + bias: a residual connection folded into the GEMM (beta = 1),
// which saves the zero-fill of y and a separate add pass. residual may be y itself.
template <typename T>
void linear_forward_residual(const T* x, const T* weight, const T* bias, const T* residual, T* y, int64_t rows,
                             int64_t in_features, int64_t out_features);

// Backward of linear_forward, accumulating:  dx += dy·W,  dW += dyᵀ·x,  db += Σ_rows dy.
// dx or db may be null when not needed. With Dx::overwrite, dx = dy·W instead (the first
// contribution to a buffer: no zero-fill before it).
enum class Dx { accumulate, overwrite };
template <typename T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias, int64_t rows,
                     int64_t in_features, int64_t out_features, Dx dx_mode = Dx::accumulate);

}  // namespace sculpt
