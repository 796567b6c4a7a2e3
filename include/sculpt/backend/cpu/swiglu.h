// SwiGLU gate: out = silu(g) ⊙ u with silu(g) = g·σ(g).
#pragma once
#include <cstdint>

namespace sculpt {

// gate, up, out: (n,). out may alias gate or up.
template <typename T>
void swiglu_forward(const T* gate, const T* up, T* out, int64_t n);

// d silu(g)/dg = σ(g)·(1 + g·(1 − σ(g))):   dgate = dout·u·σ(1 + g(1−σ)),   dup = dout·silu(g).
// Written, not accumulated: the gate's only consumer is this product, so no zero-fill is needed.
template <typename T>
void swiglu_backward(const T* gate, const T* up, const T* dout, T* dgate, T* dup, int64_t n);

}  // namespace sculpt
