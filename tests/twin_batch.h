// The padded, partially masked training batch that tools/golden/llama_twin.py trained on
// (tests/fixtures/train/<case>.safetensors), shared by the training and OSFT tests.
#pragma once
#include <string>

#include "sculpt/io/safetensors.h"
#include "sculpt/model/training_graph.h"
#include "test_support.h"

namespace sculpt::testing {

inline TokenBatch twin_batch(const std::string& case_name) {
  SafetensorsFile g(fixtures("train/" + case_name + ".safetensors"));
  auto tokens = g.read_i64("tokens"), targets = g.read_i64("targets");
  Tensor mask = g.read_f32("mask");
  TokenBatch b;
  b.batch = mask.dim(0);
  b.seq = mask.dim(1);
  b.tokens.assign(tokens.begin(), tokens.end());
  b.targets.assign(targets.begin(), targets.end());
  b.loss_mask.assign(mask.data(), mask.data() + mask.numel());
  return b;
}

}  // namespace sculpt::testing
