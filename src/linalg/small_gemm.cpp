#include "sculpt/linalg/small_gemm.h"

#include <algorithm>
#include <cstring>

#include "sculpt/core/simd_clones.h"
#include "sculpt/linalg/blas.h"

namespace sculpt {

namespace {
// The tile is MR rows × two vectors of 32 bytes (16 floats or 8 doubles): 2·MR accumulators plus
// two B vectors and a broadcast, 15 of the 16 AVX registers at MR = 6. GCC's generic vectors
// become ymm registers in the x86-64-v3 clone and pairs of xmm registers in the baseline one.
// Everything below is always_inline so that it is compiled inside the clone that calls it.
constexpr int kStripRows = 6;

// (No helper takes or returns a vector: that would change the baseline clone's ABI; memcpy
// compiles to one unaligned load or store.)
template <typename T>
struct SimdVector {
  typedef T vec __attribute__((vector_size(32)));
  static constexpr int64_t lanes = 32 / sizeof(T);
};

// C[0..MR)[0..2·lanes) (=|+=) alpha Σ_{p<k} A(i, p) B[p][·]
template <int MR, typename T>
[[gnu::always_inline]] inline void register_tile(int64_t k, const T* a, int64_t a_row, int64_t a_col, const T* b,
                                                 int64_t ldb, T* c, int64_t ldc, T alpha, bool accumulate) {
  using S = SimdVector<T>;
  using vec = typename S::vec;
  vec lo[MR], hi[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) lo[i] = hi[i] = vec{};
  for (int64_t p = 0; p < k; ++p) {
    vec b0, b1;
    std::memcpy(&b0, b + p * ldb, sizeof b0);
    std::memcpy(&b1, b + p * ldb + S::lanes, sizeof b1);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i * a_row + p * a_col];
      lo[i] += ai * b0;
      hi[i] += ai * b1;
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
    vec c0 = alpha * lo[i], c1 = alpha * hi[i];
    if (accumulate) {
      vec old0, old1;
      std::memcpy(&old0, ci, sizeof old0);
      std::memcpy(&old1, ci + S::lanes, sizeof old1);
      c0 += old0, c1 += old1;
    }
    std::memcpy(ci, &c0, sizeof c0);
    std::memcpy(ci + S::lanes, &c1, sizeof c1);
  }
}

// The last columns (fewer than a tile), one dot product each.
template <int MR, typename T>
[[gnu::always_inline]] inline void tail_columns(int64_t n, int64_t k, const T* a, int64_t a_row, int64_t a_col,
                                                const T* b, int64_t ldb, T* c, int64_t ldc, T alpha, bool accumulate) {
  for (int i = 0; i < MR; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += a[i * a_row + p * a_col] * b[p * ldb + j];
      T& out = c[i * ldc + j];
      out = accumulate ? out + alpha * sum : alpha * sum;
    }
}

// One strip of MR rows: columns [0, n), depth [k_lo, k_hi).
template <int MR, typename T>
[[gnu::always_inline]] inline void row_strip(int64_t n, int64_t k_lo, int64_t k_hi, const T* a, int64_t a_row,
                                             int64_t a_col, const T* b, int64_t ldb, T* c, int64_t ldc, T alpha,
                                             bool accumulate) {
  const int64_t width = 2 * SimdVector<T>::lanes, depth = std::max<int64_t>(0, k_hi - k_lo);
  a += k_lo * a_col, b += k_lo * ldb;
  int64_t j = 0;
  for (; j + width <= n; j += width)
    register_tile<MR>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, alpha, accumulate);
  if (j < n) tail_columns<MR>(n - j, depth, a, a_row, a_col, b + j, ldb, c + j, ldc, alpha, accumulate);
}

template <int MR, typename T>
[[gnu::always_inline]] inline void row_strip_at(int64_t i0, int64_t n, int64_t k, const T* a, int64_t a_row,
                                                int64_t a_col, const T* b, int64_t ldb, T* c, int64_t ldc, T alpha,
                                                bool accumulate, const SmallGemmCausal& causal) {
  const int64_t last = i0 + MR - 1;  // the strip's last row needs the most columns and depth
  int64_t n_strip = causal.n_end >= 0 ? std::min(n, last + causal.n_end + 1) : n;
  // Round the columns up to whole tiles where C has them: a full tile beats the scalar tail.
  const int64_t width = 2 * SimdVector<T>::lanes;
  n_strip = std::min(n, (n_strip + width - 1) / width * width);
  const int64_t k_hi = causal.k_end >= 0 ? std::min(k, last + causal.k_end + 1) : k;
  const int64_t k_lo = causal.k_begin >= 0 ? std::clamp<int64_t>(i0 - causal.k_begin, 0, k) : 0;
  row_strip<MR>(n_strip, k_lo, k_hi, a + i0 * a_row, a_row, a_col, b, ldb, c + i0 * ldc, ldc, alpha, accumulate);
}

// The last rows (fewer than a strip) as one strip of exactly that many rows.
template <int MR, typename T>
[[gnu::always_inline]] inline void last_rows(int64_t rows, int64_t i0, int64_t n, int64_t k, const T* a,
                                             int64_t a_row, int64_t a_col, const T* b, int64_t ldb, T* c, int64_t ldc,
                                             T alpha, bool accumulate, const SmallGemmCausal& causal) {
  if constexpr (MR > 0) {
    if (rows == MR) return row_strip_at<MR>(i0, n, k, a, a_row, a_col, b, ldb, c, ldc, alpha, accumulate, causal);
    last_rows<MR - 1>(rows, i0, n, k, a, a_row, a_col, b, ldb, c, ldc, alpha, accumulate, causal);
  }
}

template <typename T>
[[gnu::always_inline]] inline void small_gemm_body(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_row,
                                                   int64_t a_col, const T* b, int64_t ldb, T* c, int64_t ldc,
                                                   bool accumulate, const SmallGemmCausal& causal) {
  int64_t i = 0;
  for (; i + kStripRows <= m; i += kStripRows)
    row_strip_at<kStripRows>(i, n, k, a, a_row, a_col, b, ldb, c, ldc, alpha, accumulate, causal);
  last_rows<kStripRows - 1>(m - i, i, n, k, a, a_row, a_col, b, ldb, c, ldc, alpha, accumulate, causal);
}
}  // namespace

SCULPT_SIMD_CLONES void small_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t a_row,
                                   int64_t a_col, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
                                   const SmallGemmCausal& causal) {
  // The sgemm roofline (bench_train_step --roofline) counts the product at its declared shape,
  // as OpenBLAS would compute it, causal triangle included.
  observe_gemm(a_col == 1 ? Trans::no : Trans::yes, Trans::no, m, n, k);
  small_gemm_body(m, n, k, alpha, a, a_row, a_col, b, ldb, c, ldc, accumulate, causal);
}

SCULPT_SIMD_CLONES void small_gemm(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t a_row,
                                   int64_t a_col, const double* b, int64_t ldb, double* c, int64_t ldc, bool accumulate,
                                   const SmallGemmCausal& causal) {
  small_gemm_body(m, n, k, alpha, a, a_row, a_col, b, ldb, c, ldc, accumulate, causal);
}

}  // namespace sculpt
