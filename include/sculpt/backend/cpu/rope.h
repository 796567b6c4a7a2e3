// Rotary position embeddings in HF's half-split layout: for pair i of a head (i < d/2),
// (x_i, x_{i+d/2}) is rotated by angle pos · inv_freq_i (the table's, backend/rope_table.h).
#pragma once
#include <cstdint>

#include "sculpt/backend/rope_table.h"

namespace sculpt {

// x: (rows, n_heads * head_dim); row r sits at absolute position positions[r]. In place.
template <typename T>
void rope_forward(T* x, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                  const RopeTable& table);

// The rotation is orthogonal, so its backward is the inverse rotation (angle −θ), in place on dx.
template <typename T>
void rope_backward(T* dx, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                   const RopeTable& table);

}  // namespace sculpt
