#include "sculpt/core/device.h"

namespace sculpt {

std::string device_name(const Device& device) {
  return device.kind == DeviceKind::cpu ? "cpu" : "cuda:" + std::to_string(device.index);
}

}  // namespace sculpt
