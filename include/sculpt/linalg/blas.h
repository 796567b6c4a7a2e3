// linalg: the only place BLAS and LAPACK are called. Everything here is row-major; LAPACK's
// column-major convention is handled inside (a row-major m×n matrix is a column-major n×m one).
#pragma once
#include <cstdint>

#include "sculpt/core/tensor.h"
#include "sculpt/core/write.h"

namespace sculpt {

enum class Trans { no, yes };

// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions.
// op(A) is m×k, op(B) is k×n. Outside a parallel region with ≥ 2 threads, C is cut into one
// block per thread (≥ 64 rows, or ≥ 64 columns when C is ≥ 4 times wider than tall), each
// block a single-threaded OpenBLAS call.
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
// Report a float product to the observer, if one is set, as the OpenBLAS call that would compute
// it: gemm() reports every call, small_gemm its products.
void observe_gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k);
// Benchmarks only: how gemm() parallelises a call outside a parallel region, so that the
// choices can be measured against each other in one run. `by_shape` (the default) cuts C by
// columns when it is ≥ 4 times wider than tall and by rows otherwise, `rows` always by rows,
// `openblas` hands the call whole to OpenBLAS's own threading.
enum class GemmSplit { by_shape, rows, openblas };
void set_gemm_split(GemmSplit split);

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
// dx or db may be null when not needed. dx_write = overwrite gives dx = dy·W instead, and
// dw_write = overwrite dW = dyᵀ·x and db = Σ_rows dy.
template <typename T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias, int64_t rows,
                     int64_t in_features, int64_t out_features, Write dx_write = Write::accumulate,
                     Write dw_write = Write::accumulate);

}  // namespace sculpt
