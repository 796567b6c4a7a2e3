#include "sculpt/backend/backend.h"

namespace sculpt {

Tensor host_copy(Backend& backend, const Tensor& t) {
  Tensor host = Tensor::zeros(t.shape(), t.dtype());
  backend.sync();  // the device's pending work has written t
  backend.copy(t, host);
  return host;
}

Tensor device_copy(Backend& backend, const Tensor& t) {
  Tensor copy = backend.zeros(t.shape(), t.dtype());
  backend.copy(t, copy);
  return copy;
}

}  // namespace sculpt
