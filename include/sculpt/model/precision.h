// The arithmetic of the training graph's matrix products (DESIGN §7.1, --precision):
//   fp32  every product in fp32 (OpenBLAS sgemm);
//   bf16  the projections' and the head's products take bf16 operands (the weights rounded once
//         per optimizer step from the fp32 masters, the activations and their gradients rounded
//         before each product) and accumulate in fp32 (oneDNN). Norms, attention, the loss, the
//         gradients, the optimizer and OSFT stay fp32.
#pragma once
#include <string>

namespace sculpt {

enum class Precision { fp32, bf16 };

// "fp32" / "bf16"; an Error naming the flag for anything else, or for bf16 in a build without
// oneDNN.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);

}  // namespace sculpt
