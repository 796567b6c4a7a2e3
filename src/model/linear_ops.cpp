#include "sculpt/model/linear_ops.h"

namespace sculpt {

void LinearOps::set_scratch(Tensor in16, Tensor out16) {
  in16_buffer_ = std::move(in16);
  out16_buffer_ = std::move(out16);
  in16_ = Tensor();
}

const Tensor& LinearOps::rounded(const Tensor& x, Input input) {
  if (x.dtype() == DType::bf16) return x;  // kept in bf16 already (the training graph's h1, h2, act)
  if (input == Input::fresh || in16_.empty()) {
    in16_ = in16_buffer_.view(0, x.shape());
    backend_.copy(x, in16_);
  }
  return in16_;
}

void LinearOps::forward(const Tensor& x, const Tensor& w, const Tensor& w16, const Tensor& bias,
                         const Tensor* residual, Tensor& y, Input input) {
  // y = residual (+ bias), then y += x·Wᵀ in the product itself (beta = 1): the residual
  // connection costs no pass of its own.
  if (residual && residual->address() != y.address()) backend_.copy(*residual, y);
  if (!bias.empty()) backend_.add_rows(bias, y, residual ? Write::accumulate : Write::overwrite);
  const float beta = residual || !bias.empty() ? 1.f : 0.f;
  if (precision_ == Precision::fp32) backend_.matmul(x, Trans::no, w, Trans::yes, y, 1.f, beta);
  else backend_.matmul(rounded(x, input), Trans::no, w16, Trans::yes, y, 1.f, beta);
}

void LinearOps::backward(const Tensor& x, const Tensor& w, const Tensor& w16, const Tensor& dy, Tensor* dx,
                          Tensor& dw, Tensor* db, Write dx_write, Write dw_write, Input input) {
  const float dx_beta = dx_write == Write::overwrite ? 0.f : 1.f, dw_beta = dw_write == Write::overwrite ? 0.f : 1.f;
  if (precision_ == Precision::fp32) {
    if (dx) backend_.matmul(dy, Trans::no, w, Trans::no, *dx, 1.f, dx_beta);
    backend_.matmul(dy, Trans::yes, x, Trans::no, dw, 1.f, dw_beta);
  } else {
    Tensor dy16 = out16_buffer_.view(0, dy.shape());
    backend_.copy(dy, dy16);
    if (dx) backend_.matmul(dy16, Trans::no, w16, Trans::no, *dx, 1.f, dx_beta);
    backend_.matmul(dy16, Trans::yes, rounded(x, input), Trans::no, dw, 1.f, dw_beta);
  }
  if (db) backend_.sum_rows(dy, *db, dw_write);
}

}  // namespace sculpt
