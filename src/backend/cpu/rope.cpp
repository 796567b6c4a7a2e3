#include "sculpt/backend/cpu/rope.h"

#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
// Rotates every pair by +θ (sign = 1) or −θ (sign = −1).
template <typename T>
void rotate(T* x, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim, const RopeTable& table,
            T sign) {
  const int64_t half = head_dim / 2, width = n_heads * head_dim;
  for (int64_t r = 0; r < rows; ++r)
    if (positions[r] < 0 || positions[r] >= table.max_positions())
      throw Error("position " + std::to_string(positions[r]) + " outside the rotary table (" +
                      std::to_string(table.max_positions()) + " positions)",
                  "rope", "the sequence is longer than the context the model was set up for");
#pragma omp parallel for schedule(static) if (rows * width > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const T* c = table.cos_at<T>(positions[r]);
    const T* s = table.sin_at<T>(positions[r]);
    for (int64_t h = 0; h < n_heads; ++h) {
      T* a = x + r * width + h * head_dim;  // first halves
      T* b = a + half;                      // second halves
      for (int64_t i = 0; i < half; ++i) {
        const T x1 = a[i], x2 = b[i], si = sign * s[i];
        a[i] = x1 * c[i] - x2 * si;
        b[i] = x2 * c[i] + x1 * si;
      }
    }
  }
}
}  // namespace

template <typename T>
void rope_forward(T* x, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                  const RopeTable& table) {
  rotate(x, positions, rows, n_heads, head_dim, table, T(1));
}

template <typename T>
void rope_backward(T* dx, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                   const RopeTable& table) {
  rotate(dx, positions, rows, n_heads, head_dim, table, T(-1));
}

template void rope_forward<float>(float*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);
template void rope_forward<double>(double*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);
template void rope_backward<float>(float*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);
template void rope_backward<double>(double*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);

}  // namespace sculpt
