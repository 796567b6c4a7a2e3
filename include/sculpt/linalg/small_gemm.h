// Register-blocked GEMM for the small, cache-resident products inside attention (a query block
// against its keys: 64 × 128 × 64 and the like). OpenBLAS pays for its packing and interface on
// every such call and cannot skip the causal triangle; this kernel reads A through any strides
// (so a transposed operand costs nothing), streams B's rows, and skips the work a causal mask
// makes zero. Measured alone on this machine's cores: 82 GFLOP/s for 64 × 128 × 64 against
// OpenBLAS's 64 (single thread, operands in cache).
#pragma once
#include <cstdint>

namespace sculpt {

// Causal structure the caller declares, so that small_gemm skips what it knows to be zero or
// unused. Row i of C is the query (or key) index the offsets count from; −1 means no limit.
struct SmallGemmCausal {
  int64_t n_end = -1;    // row i needs only columns j ≤ i + n_end; later columns may be left unwritten
  int64_t k_end = -1;    // A(i, p) = 0 for p > i + k_end   (probabilities · values: keys after the query)
  int64_t k_begin = -1;  // A(i, p) = 0 for p < i − k_begin (probabilitiesᵀ · dO: queries before the key)
};

// C (m×n, row stride ldc) = alpha · A · B, or C += alpha · A · B when `accumulate`.
// A(i, p) = a[i·a_row + p·a_col] (m×k, any orientation); B (k×n) row-major with row stride ldb.
// Rows are computed in strips of 6, columns in tiles of two SIMD vectors; under `causal` a strip
// computes the columns and the depth its last row needs (so a few entries past a row's own limit
// hold their true products) and leaves columns beyond every row's limit unwritten.
void small_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t a_row, int64_t a_col,
                const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
                const SmallGemmCausal& causal = {});
void small_gemm(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t a_row, int64_t a_col,
                const double* b, int64_t ldb, double* c, int64_t ldc, bool accumulate,
                const SmallGemmCausal& causal = {});

}  // namespace sculpt
