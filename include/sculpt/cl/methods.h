// Every continual-learning method by name. A new method is its own file in cl/ (a Strategy) and
// one line in methods.cpp; the CLI's --methods, its help and the runner take the list from here.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sculpt/cl/ewc.h"
#include "sculpt/cl/lora.h"
#include "sculpt/cl/osft/osft.h"
#include "sculpt/cl/sequential.h"
#include "sculpt/cl/strategy.h"

namespace sculpt {

// The options of every method, resolved once (flags, or the demo's settings); each method reads
// its own.
struct MethodSettings {
  OsftOptions osft;
  EwcOptions ewc;
  ReplayOptions replay;
  LoraOptions lora;  // variant is set from the method name
};

struct MethodInfo {
  std::string name;
  std::string summary;  // one line for --help and the docs
  std::unique_ptr<Strategy> (*make)(const MethodSettings&);
};

// In the order --help lists them.
const std::vector<MethodInfo>& methods();
// "seqft, osft, ..." for help texts and errors.
std::string method_names();
// The strategy of method `name`; an Error naming --methods when there is no such method.
std::unique_ptr<Strategy> make_method(const std::string& name, const MethodSettings& settings);
// Throws the same Error as make_method for an unknown name.
void check_method_name(const std::string& name);

}  // namespace sculpt
