// A randomly initialised Llama of a given shape, for tests that need a real model but not a
// fixture (context 32; weights drawn with `stddev` from Rng(seed)).
#pragma once
#include <cstdint>

#include "sculpt/core/rng.h"
#include "sculpt/model/llama.h"
#include "sculpt/text/byte_tokenizer.h"

namespace sculpt::testing {

struct TinyShape {
  int64_t hidden = 16, intermediate = 24, layers = 1, heads = 2, kv_heads = 1, head_dim = 8, vocab = kByteTokenizerVocab;
  bool tied = true;
};

inline LlamaModel tiny_model(const TinyShape& s, uint64_t seed, float stddev) {
  ModelConfig c;
  c.hidden_size = s.hidden, c.intermediate_size = s.intermediate, c.num_layers = s.layers;
  c.num_heads = s.heads, c.num_kv_heads = s.kv_heads, c.head_dim = s.head_dim, c.vocab_size = s.vocab;
  c.max_position_embeddings = 32, c.tie_word_embeddings = s.tied;
  LlamaModel m(c);
  Rng rng(seed);
  init_random(m, rng, stddev);
  return m;
}

}  // namespace sculpt::testing
