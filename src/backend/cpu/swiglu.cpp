#include "sculpt/backend/cpu/swiglu.h"

#include <algorithm>
#include <cmath>

#include "sculpt/backend/cpu/vexp.h"
#include "sculpt/core/simd_clones.h"

namespace sculpt {

namespace {
// Elements per parallel work item: large enough that the dispatch through SCULPT_SIMD_CLONES is
// free, small enough to balance two to a few dozen threads on one layer's (tokens × F) gate.
constexpr int64_t kSpan = 4096;

template <typename T>
SCULPT_SIMD_CLONES void swiglu_forward_span(const T* gate, const T* up, T* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T g = gate[i];
    out[i] = g / (T(1) + vexp(-g)) * up[i];
  }
}

template <typename T>
SCULPT_SIMD_CLONES void swiglu_backward_span(const T* gate, const T* up, const T* dout, T* dgate, T* dup, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T g = gate[i];
    const T sig = T(1) / (T(1) + vexp(-g));
    dgate[i] = dout[i] * up[i] * sig * (T(1) + g * (T(1) - sig));
    dup[i] = dout[i] * g * sig;
  }
}

// Runs body(i0, len) over [0, n) in spans of kSpan, in parallel when n is large.
template <typename Body>
void for_each_span(int64_t n, const Body& body) {
  const int64_t spans = (n + kSpan - 1) / kSpan;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t s = 0; s < spans; ++s) body(s * kSpan, std::min(kSpan, n - s * kSpan));
}
}  // namespace

template <typename T>
void swiglu_forward(const T* gate, const T* up, T* out, int64_t n) {
  for_each_span(n, [&](int64_t i0, int64_t len) { swiglu_forward_span(gate + i0, up + i0, out + i0, len); });
}

template <typename T>
void swiglu_backward(const T* gate, const T* up, const T* dout, T* dgate, T* dup, int64_t n) {
  for_each_span(n, [&](int64_t i0, int64_t len) {
    swiglu_backward_span(gate + i0, up + i0, dout + i0, dgate + i0, dup + i0, len);
  });
}

template void swiglu_forward<float>(const float*, const float*, float*, int64_t);
template void swiglu_forward<double>(const double*, const double*, double*, int64_t);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, int64_t);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, int64_t);

}  // namespace sculpt
