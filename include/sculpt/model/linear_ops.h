// A linear layer's products in the pass's precision, on a backend: y = [residual +] x·Wᵀ [+ bias]
// and its backward. fp32 multiplies the fp32 weights; bf16 rounds the input (and, backward, the
// output gradient) into bf16 scratch and multiplies the weights' bf16 copies, accumulating in fp32
// (DESIGN §7.1). Shared by the training graph and the inference forward (model/decoder_layer.h).
#pragma once
#include "sculpt/backend/backend.h"
#include "sculpt/core/tensor.h"
#include "sculpt/core/write.h"
#include "sculpt/model/precision.h"

namespace sculpt {

class LinearOps {
 public:
  // Whether x is the input of the previous call too (q, k and v share theirs, as do gate and up):
  // bf16 then reuses its rounding instead of rounding x again.
  enum class Input { fresh, same_as_last };

  LinearOps(Backend& backend, Precision precision) : backend_(backend), precision_(precision) {}

  // bf16 only: the scratch for this pass, each at least (rows × the widest input) bf16 elements:
  // `in16` for rounded inputs, `out16` (backward only) for rounded output gradients.
  void set_scratch(Tensor in16, Tensor out16 = {});

  // y (rows, out) = [residual +] x·Wᵀ [+ bias]; x: (rows, in), w: (out, in), w16: its bf16 copy
  // (read in bf16 precision only), bias: (out,) or empty. residual may be y itself. In bf16
  // precision x may be bf16 (then it is the operand as it is).
  void forward(const Tensor& x, const Tensor& w, const Tensor& w16, const Tensor& bias, const Tensor* residual,
               Tensor& y, Input input = Input::fresh);
  // The backward: dx (=|+=) dy·W, dW (=|+=) dyᵀ·x, db (=|+=) Σ_rows dy (dx, db may be null).
  void backward(const Tensor& x, const Tensor& w, const Tensor& w16, const Tensor& dy, Tensor* dx, Tensor& dw,
                Tensor* db, Write dx_write, Write dw_write, Input input = Input::fresh);

  Backend& backend() { return backend_; }
  Precision precision() const { return precision_; }

 private:
  // bf16: x itself when it is bf16 already; else x rounded into in16, or the last rounding when
  // the input is the same.
  const Tensor& rounded(const Tensor& x, Input input);

  Backend& backend_;
  Precision precision_;
  Tensor in16_buffer_, out16_buffer_;
  Tensor in16_;  // (rows, in) view of in16_buffer_: the last rounded input
};

}  // namespace sculpt
