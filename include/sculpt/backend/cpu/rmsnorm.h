// RMSNorm: y = x · r ⊙ w with r = 1/sqrt(mean(x²) + eps), over the last axis (HF LlamaRMSNorm).
// Templated on the scalar so the same code runs in float (training) and double (finite-difference
// checks); float and double are instantiated.
#pragma once
#include <cstdint>

#include "sculpt/core/write.h"

namespace sculpt {

// x, y: (rows, dim); weight: (dim,). y may alias x. inv_rms (rows,) receives r when non-null.
template <typename T>
void rmsnorm_forward(const T* x, const T* weight, T* y, int64_t rows, int64_t dim, T eps, T* inv_rms = nullptr);

// Backward. With g = dy ⊙ w:   dx = r·g − x · r³/D · Σ_j g_j x_j,   dw = Σ_rows dy ⊙ x·r.
// dx and dw are accumulated (+=), or written (=) where dx_write / dw_write say overwrite.
// inv_rms is what the forward saved.
template <typename T>
void rmsnorm_backward(const T* x, const T* weight, const T* inv_rms, const T* dy, T* dx, T* dweight, int64_t rows,
                      int64_t dim, Write dx_write = Write::accumulate, Write dw_write = Write::accumulate);

}  // namespace sculpt
