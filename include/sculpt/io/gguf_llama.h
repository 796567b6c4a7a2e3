// How llama.cpp writes a Llama-family model into GGUF, and how to read it back into sculpt's
// (Hugging Face) layout: the architecture from `<arch>.*` metadata, llama.cpp's tensor names, and
// the row permutation its converter applies to the q and k projections of `llama` models.
#pragma once
#include <string>

#include "sculpt/core/tensor.h"
#include "sculpt/io/gguf.h"
#include "sculpt/io/model_config.h"

namespace sculpt {

// The model config a GGUF file's metadata describes (general.architecture llama, mistral or
// qwen2). Errors name the file and the key; other architectures are refused with a hint.
ModelConfig gguf_model_config(const GgufFile& file);

// llama.cpp's name of a Hugging Face parameter: "model.layers.3.self_attn.q_proj.weight" ->
// "blk.3.attn_q.weight". Throws Error for a name that has no GGUF counterpart.
std::string gguf_tensor_name(const std::string& hf_name);

// True when llama.cpp's converter permuted the rows of this parameter (q/k weights and biases of
// llama and mistral; qwen2 keeps HF's order).
bool gguf_rows_permuted(const ModelConfig& config, const std::string& hf_name);

// Undoes the converter's permutation in place. Within each head of `head_dim` rows the converter
// interleaved the two rotary halves: GGUF row 2*i + j holds HF row j*head_dim/2 + i (j = 0, 1), so
// that ggml's rope rotates adjacent pairs. `rows` (n_heads*head_dim, cols) or (n_heads*head_dim,).
void gguf_unpermute_rows(Tensor& rows, int64_t head_dim);
// The converter's permutation (HF -> GGUF), for export.
void gguf_permute_rows(Tensor& rows, int64_t head_dim);

}  // namespace sculpt
