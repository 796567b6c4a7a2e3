// The Llama forward pass that keeps what its backward needs, and the hand-written reverse sweep.
// Gradients accumulate (+=) into a table with the model's parameter names and shapes.
//
// Loss: Σ_rows weight_r · CE(logits_r, target_r). The caller chooses the weights (1/N over the
// target tokens of a whole optimizer step, so that k micro-batches give the same update as one).
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/core/arena.h"
#include "sculpt/core/write.h"
#include "sculpt/model/bf16_weights.h"
#include "sculpt/model/decoder_layer.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"
#include "sculpt/model/linear_ops.h"

namespace sculpt {

// One micro-batch of right-padded sequences.
struct TokenBatch {
  int64_t batch = 0, seq = 0;
  std::vector<int32_t> tokens;   // (B·T) inputs, padded with 0
  std::vector<int32_t> targets;  // (B·T) the token each position must predict
  std::vector<float> loss_mask;  // (B·T) 1 where the target counts (completion tokens), else 0
  int64_t target_tokens() const;
};

// Gradients with the model's names and shapes; a tied head shares the embedding's gradient.
class Gradients {
 public:
  explicit Gradients(const LlamaModel& model);
  std::vector<Parameter>& table() { return grads_; }
  const std::vector<Parameter>& table() const { return grads_; }
  Tensor& of(const std::string& name);
  // The same tensors bound once, laid out like the model's (no lookup by name in the step).
  LayerWeights& layer(int64_t l) { return layers_[static_cast<size_t>(l)]; }
  Tensor& embed() { return embed_; }            // (V, D)
  Tensor& final_norm() { return final_norm_; }  // (D,)
  Tensor& lm_head() { return lm_head_; }        // (V, D); aliases embed() when tied
  void zero();
  double global_norm() const;  // sqrt(Σ g²) over every gradient, in double, one pass over flat()
  void scale(float factor);
  // Every gradient in one buffer laid out as the model's flat() (zero gaps included).
  Tensor& flat() { return flat_; }
  const Tensor& flat() const { return flat_; }

 private:
  Tensor flat_;
  std::vector<Parameter> grads_;
  std::vector<LayerWeights> layers_;
  Tensor embed_, final_norm_, lm_head_;
};

// Float counts of the saved activations and the backward workspace for a batch shape, and of the
// part of that workspace a forward pass alone touches (the attention scratch, and in bf16 the
// rounded input of one product): the arena's other pages are reserved, never written, so a
// forward-only use of the graph keeps them out of memory. In bf16, weight_copies counts the
// bf16 copies of the projections and the head (in floats' room: two bf16 to a float).
// loss_head is what loss()'s head writes in the workspace after the forward: one chunk of logits,
// its rows' weights and, in bf16, the chunk's rounded rows.
struct TrainingMemoryPlan {
  int64_t activations = 0, backward = 0, forward_scratch = 0, weight_copies = 0, loss_head = 0;
  static TrainingMemoryPlan make(const ModelConfig& config, int64_t batch, int64_t seq, int threads,
                                 int64_t head_chunk_rows, Precision precision = Precision::fp32);
  // Floats a graph used only through loss() touches: the activations, the larger of the two uses
  // of the workspace (it is reset between them), the bf16 copies.
  int64_t loss_only() const { return activations + std::max(forward_scratch, loss_head) + weight_copies; }
  std::string describe() const;
};

class TrainingGraph {
 public:
  // Workspace for micro-batches of up to max_batch × max_seq tokens in all (any split into
  // sequences of at most max_seq tokens). Every op runs on `backend`.
  TrainingGraph(const LlamaModel& model, int64_t max_batch, int64_t max_seq, Precision precision = Precision::fp32,
                Backend& backend = cpu_backend());

  // bf16: rounds the model's fp32 weights into the graph's bf16 copies. Call it after every
  // change of the weights (optimizer_step does, once per step); fp32: nothing to do.
  void load_weights();
  Precision precision() const { return precision_; }

  // Forward and backward; adds the gradient of Σ scale·mask·CE into `grads`, or with
  // Write::overwrite writes it over whatever they held (a step's first micro-batch: no
  // zero-fill of the gradients before it). Returns the unscaled loss sum over target tokens.
  double forward_backward(const TokenBatch& batch, float scale, Gradients& grads,
                          Write grads_write = Write::accumulate);
  // Forward only: the loss sum over target tokens.
  double loss(const TokenBatch& batch);

  const TrainingMemoryPlan& plan() const { return plan_; }
  static constexpr int64_t kHeadChunkRows = 256;  // logits are built this many rows at a time

 private:
  friend class ActivationProbe;
  void forward(const TokenBatch& batch);
  double head(const TokenBatch& batch, float scale, Gradients* grads, Write grads_write = Write::accumulate);

  const LlamaModel& model_;
  int64_t max_batch_, max_seq_;
  Precision precision_;
  Backend& backend_;
  std::optional<Bf16Weights> bf16_;  // bf16 only: the operands of the products
  LinearOps linear_;               // the products, in precision_
  RopeTable rope_;
  TrainingMemoryPlan plan_;
  Arena saved_, work_;
  // What each layer's backward reads: its own arrays, views into saved_ rebuilt per batch; a
  // layer's x_out is the next one's x_in (the last one's x_final_).
  std::vector<DecoderLayerArrays> layers_;
  std::vector<int64_t> positions_, starts_;
  Tensor x_final_, inv_rms_final_, h_final_, d_h_final_;
};

}  // namespace sculpt

namespace sculpt {

// Read access to the inputs of every projection after a forward pass (for calibration:
// OSFT's adaptive importance). rows = B·T; padding rows are included.
class ActivationProbe {
 public:
  explicit ActivationProbe(TrainingGraph& graph) : graph_(graph) {}
  void forward(const TokenBatch& batch) { graph_.forward(batch); }
  // The input x of the linear layer named `param_name` (e.g. "model.layers.3.mlp.down_proj.weight"):
  // (rows, in_features). Throws Error for names that are not layer projections.
  Tensor input_of(const std::string& param_name) const;

 private:
  TrainingGraph& graph_;
};

}  // namespace sculpt
