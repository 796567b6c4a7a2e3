#include "sculpt/model/precision.h"

#include "sculpt/core/error.h"
#include "sculpt/linalg/bf16_gemm.h"

namespace sculpt {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") {
    check(bf16_gemm_available(), "this build of sculpt has no bf16 matrix multiply", "--precision bf16",
          "install libdnnl-dev (scripts/install-deps.sh) and rebuild, or use --precision fp32");
    return Precision::bf16;
  }
  throw Error("unknown precision '" + name + "'", "--precision", "use fp32 or bf16");
}

const char* precision_name(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

}  // namespace sculpt
