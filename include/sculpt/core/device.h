// Where a tensor's bytes live (DESIGN §7.1). Today every tensor is host memory; a backend other
// than the CPU allocates on its own device and host-only access refuses its tensors.
#pragma once
#include <string>

namespace sculpt {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;  // which device of its kind (always 0 for the CPU)
  bool is_host() const { return kind == DeviceKind::cpu; }
  friend bool operator==(const Device& a, const Device& b) { return a.kind == b.kind && a.index == b.index; }
};

std::string device_name(const Device& device);  // "cpu", "cuda:1"

}  // namespace sculpt
