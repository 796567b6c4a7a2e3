#include "sculpt/linalg/blas.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::yes ? CblasTrans : CblasNoTrans; }
std::atomic<GemmObserver> gemm_observer{nullptr};
std::atomic<GemmSplit> gemm_split{GemmSplit::by_shape};
}  // namespace

void set_gemm_observer(GemmObserver observer) { gemm_observer.store(observer); }
void observe_gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k) {
  if (GemmObserver observe = gemm_observer.load(std::memory_order_relaxed))
    observe({trans_a, trans_b, m, n, k, omp_in_parallel() != 0});
}
void set_gemm_split(GemmSplit split) { gemm_split.store(split); }

namespace {
void sgemm_call(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Rows (or columns) of C per thread below which OpenBLAS keeps the whole call (its own
// threading, or one thread).
constexpr int64_t kMinBlockPerThread = 64;
// Blocks are multiples of this, so no block boundary splits a micro-kernel tile.
constexpr int64_t kBlockAlign = 16;

// C is cut by columns only when it is at least this many times wider than tall.
constexpr int64_t kColumnCutRatio = 4;

// [begin, end) of thread t's block when `extent` is cut into one aligned block per thread.
std::pair<int64_t, int64_t> block_of(int64_t extent, int64_t team, int64_t t) {
  const int64_t block = (extent + team - 1) / team;
  const int64_t per = (block + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  const int64_t begin = std::min(extent, t * per);
  return {begin, std::min(extent, begin + per)};
}
}  // namespace

// C is cut into one contiguous block per thread and each thread makes its own single-threaded
// OpenBLAS call (inside a parallel region OpenBLAS's OpenMP build runs on the calling thread).
// Every thread packs the whole of the operand it shares with the others: cut by rows, each packs
// all of op(B) (k×n); by columns, all of op(A) (m×k). C is cut by rows unless it is at least 4
// times wider than tall: for the head's logits chunk (256 × 4096 × 256) the column cut saves
// packing the 4096×256 head weight once per thread and runs ~10 % faster (bench_gemm
// BM_Split_Fwd_HeadChunk against BM_Rows_Fwd_HeadChunk), while for the down projection's weight
// gradient (256 × 688 × 1024) it was ~4 % slower than the row cut despite packing less (op(A) is
// the transposed gradient there). On the training step's shapes this is 3–15 % faster
// than OpenBLAS's own 2-thread split, which synchronises its threads per packed panel
// (bench_gemm BM_Split_* against BM_OpenBLAS_*). The partition depends only on the shape and
// the team size, so a given thread count always gives the same bits; against OpenBLAS's own
// split the last bits can differ (its blocking of k and of edge tiles follows the block shapes).
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const bool nested = omp_in_parallel() != 0;
  observe_gemm(trans_a, trans_b, m, n, k);
  const int threads = nested ? 1 : omp_get_max_threads();
  const GemmSplit split = gemm_split.load(std::memory_order_relaxed);
  const bool by_rows = split == GemmSplit::rows || n < kColumnCutRatio * m;
  if (threads < 2 || split == GemmSplit::openblas ||
      (by_rows ? m : n) < threads * kMinBlockPerThread) {
    sgemm_call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    // The team may be smaller than asked (nested parallelism off): blocks follow the team.
    const int64_t team = omp_get_num_threads(), t = omp_get_thread_num();
    if (by_rows) {
      const auto [r0, r1] = block_of(m, team, t);
      // Row r of op(A) starts at a + r·lda (no transpose) or at column r of the stored A.
      const float* a_rows = trans_a == Trans::no ? a + r0 * lda : a + r0;
      if (r1 > r0) sgemm_call(trans_a, trans_b, r1 - r0, n, k, alpha, a_rows, lda, b, ldb, beta, c + r0 * ldc, ldc);
    } else {
      const auto [j0, j1] = block_of(n, team, t);
      // Column j of op(B) starts at column j of the stored B (no transpose) or at b + j·ldb.
      const float* b_cols = trans_b == Trans::no ? b + j0 : b + j0 * ldb;
      if (j1 > j0) sgemm_call(trans_a, trans_b, m, j1 - j0, k, alpha, a, lda, b_cols, ldb, beta, c + j0, ldc);
    }
  }
}

void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
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

template <typename T>
void linear_forward(const T* x, const T* weight, const T* bias, T* y, int64_t rows, int64_t in_features,
                    int64_t out_features) {
  T beta = 0;
  if (bias) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out_features; ++o) y[r * out_features + o] = bias[o];
    beta = 1;
  }
  gemm(Trans::no, Trans::yes, rows, out_features, in_features, T(1), x, in_features, weight, in_features, beta, y,
       out_features);
}

template <typename T>
void linear_forward_residual(const T* x, const T* weight, const T* bias, const T* residual, T* y, int64_t rows,
                             int64_t in_features, int64_t out_features) {
  if (residual != y) std::memcpy(y, residual, sizeof(T) * static_cast<size_t>(rows * out_features));
  if (bias)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out_features; ++o) y[r * out_features + o] += bias[o];
  gemm(Trans::no, Trans::yes, rows, out_features, in_features, T(1), x, in_features, weight, in_features, T(1), y,
       out_features);
}

template <typename T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dx, T* dweight, T* dbias, int64_t rows,
                     int64_t in_features, int64_t out_features, Write dx_write, Write dw_write) {
  if (dx)
    gemm(Trans::no, Trans::no, rows, in_features, out_features, T(1), dy, out_features, weight, in_features,
         dx_write == Write::overwrite ? T(0) : T(1), dx, in_features);
  gemm(Trans::yes, Trans::no, out_features, in_features, rows, T(1), dy, out_features, x, in_features,
       dw_write == Write::overwrite ? T(0) : T(1), dweight, in_features);
  if (dbias && dw_write == Write::overwrite) std::fill(dbias, dbias + out_features, T(0));
  if (dbias)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out_features; ++o) dbias[o] += dy[r * out_features + o];
}

template void linear_forward<float>(const float*, const float*, const float*, float*, int64_t, int64_t, int64_t);
template void linear_forward<double>(const double*, const double*, const double*, double*, int64_t, int64_t, int64_t);
template void linear_forward_residual<float>(const float*, const float*, const float*, const float*, float*, int64_t,
                                             int64_t, int64_t);
template void linear_forward_residual<double>(const double*, const double*, const double*, const double*, double*,
                                              int64_t, int64_t, int64_t);
template void linear_backward<float>(const float*, const float*, const float*, float*, float*, float*, int64_t,
                                     int64_t, int64_t, Write, Write);
template void linear_backward<double>(const double*, const double*, const double*, double*, double*, double*,
                                      int64_t, int64_t, int64_t, Write, Write);

}  // namespace sculpt
