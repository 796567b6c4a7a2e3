#include "sculpt/linalg/blas.h"

#include <cblas.h>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::yes ? CblasTrans : CblasNoTrans; }
}  // namespace

void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm_f64(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
              int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void matmul(const Tensor& a, Trans trans_a, const Tensor& b, Trans trans_b, Tensor& c, float alpha, float beta) {
  check(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, "matmul expects 2-D tensors, got " +
                                                             shape_to_string(a.shape()) + ", " +
                                                             shape_to_string(b.shape()) + ", " +
                                                             shape_to_string(c.shape()));
  int64_t m = trans_a == Trans::no ? a.dim(0) : a.dim(1);
  int64_t k = trans_a == Trans::no ? a.dim(1) : a.dim(0);
  int64_t kb = trans_b == Trans::no ? b.dim(0) : b.dim(1);
  int64_t n = trans_b == Trans::no ? b.dim(1) : b.dim(0);
  check(k == kb && c.dim(0) == m && c.dim(1) == n,
        "matmul shapes disagree: op(A) " + std::to_string(m) + "x" + std::to_string(k) + ", op(B) " +
            std::to_string(kb) + "x" + std::to_string(n) + ", C " + shape_to_string(c.shape()));
  gemm(trans_a, trans_b, m, n, k, alpha, a.data(), a.dim(1), b.data(), b.dim(1), beta, c.data(), c.dim(1));
}

void linear_forward(const float* x, const float* weight, const float* bias, float* y, int64_t rows,
                    int64_t in_features, int64_t out_features) {
  float beta = 0.f;
  if (bias) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out_features; ++o) y[r * out_features + o] = bias[o];
    beta = 1.f;
  }
  gemm(Trans::no, Trans::yes, rows, out_features, in_features, 1.f, x, in_features, weight, in_features, beta,
       y, out_features);
}

}  // namespace sculpt
