#include "sculpt/cl/methods.h"

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
template <LoraVariant Variant>
std::unique_ptr<Strategy> make_lora(const MethodSettings& s) {
  LoraOptions o = s.lora;
  o.variant = Variant;
  return std::make_unique<LoraStrategy>(o);
}
}  // namespace

const std::vector<MethodInfo>& methods() {
  static const std::vector<MethodInfo> registry = {
      {"seqft", "plain sequential fine-tuning (the lower bound)",
       [](const MethodSettings&) -> std::unique_ptr<Strategy> { return std::make_unique<SeqFtStrategy>(); }},
      {"osft", "Orthogonal Subspace Fine-Tuning (adaptive SVD)",
       [](const MethodSettings& s) -> std::unique_ptr<Strategy> { return std::make_unique<OsftStrategy>(s.osft); }},
      {"seqlora", "one LoRA adapter trained through all tasks", make_lora<LoraVariant::seqlora>},
      {"inclora", "a new LoRA adapter per task, earlier ones merged", make_lora<LoraVariant::inclora>},
      {"olora", "O-LoRA: new adapters orthogonal to the earlier ones", make_lora<LoraVariant::olora>},
      {"ewc", "Elastic Weight Consolidation (diagonal Fisher)",
       [](const MethodSettings& s) -> std::unique_ptr<Strategy> { return std::make_unique<EwcStrategy>(s.ewc); }},
      {"replay", "sequential fine-tuning with a fraction of earlier tasks replayed",
       [](const MethodSettings& s) -> std::unique_ptr<Strategy> { return std::make_unique<ReplayStrategy>(s.replay); }},
      {"mtl", "all tasks at once (multi-task, the upper bound)",
       [](const MethodSettings&) -> std::unique_ptr<Strategy> { return std::make_unique<MultiTaskStrategy>(); }},
  };
  return registry;
}

std::string method_names() {
  std::string out;
  for (const auto& m : methods()) out += (out.empty() ? "" : ", ") + m.name;
  return out;
}

void check_method_name(const std::string& name) {
  for (const auto& m : methods())
    if (m.name == name) return;
  throw Error("unknown method '" + name + "'", "--methods", "choose from " + method_names());
}

std::unique_ptr<Strategy> make_method(const std::string& name, const MethodSettings& settings) {
  for (const auto& m : methods())
    if (m.name == name) return m.make(settings);
  check_method_name(name);
  return nullptr;  // unreachable
}

}  // namespace sculpt
