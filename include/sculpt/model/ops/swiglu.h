// SwiGLU gate: out = silu(gate) ⊙ up, silu(g) = g · σ(g).
#pragma once
#include <cstdint>

namespace sculpt {

// gate, up, out: (n,). out may alias gate or up.
void swiglu_forward(const float* gate, const float* up, float* out, int64_t n);

}  // namespace sculpt
