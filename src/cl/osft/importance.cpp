#include "sculpt/cl/osft/importance.h"

#include <algorithm>
#include <cmath>

#include "sculpt/backend/backend.h"
#include "sculpt/core/error.h"
#include "sculpt/data/batching.h"
#include "sculpt/model/training_graph.h"

namespace sculpt {

int64_t importance_sequence_length(const std::vector<Example>& calibration) {
  int64_t longest = 1;
  for (const auto& e : calibration) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  return longest;
}

std::map<std::string, double> layer_importance(const LlamaModel& model, const std::vector<size_t>& targets,
                                               const std::vector<Example>& calibration) {
  check(!calibration.empty(), "no calibration examples", "adaptive rank policy",
        "pass --calibration-data with samples of the previous task");
  const int64_t longest = importance_sequence_length(calibration);
  const int64_t rows_per_batch = kImportanceRows;
  TrainingGraph graph(model, rows_per_batch, longest);
  ActivationProbe probe(graph);
  Backend& backend = cpu_backend();
  // Per row of a batch, the cosine between a target's input and output (on the device, then here).
  Tensor cosines_dev = backend.zeros({rows_per_batch * longest}, DType::f64);
  Tensor cosines = Tensor::zeros({rows_per_batch * longest}, DType::f64);
  std::vector<double> sum(targets.size(), 0.0);
  int64_t tokens = 0;
  for (size_t i = 0; i < calibration.size(); i += rows_per_batch) {
    std::vector<const Example*> group;
    for (size_t j = i; j < std::min(calibration.size(), i + rows_per_batch); ++j) group.push_back(&calibration[j]);
    TokenBatch b = make_token_batch(group);
    probe.forward(b);
    // Real (non-pad) rows: position t of sequence s is real when t < len − 1.
    std::vector<int64_t> real;
    for (int64_t s = 0; s < b.batch; ++s)
      for (int64_t t = 0; t + 1 < static_cast<int64_t>(group[s]->tokens.size()); ++t) real.push_back(s * b.seq + t);
    tokens += static_cast<int64_t>(real.size());
    for (size_t ti = 0; ti < targets.size(); ++ti) {
      const Parameter& p = model.parameters()[targets[ti]];
      const Tensor x = probe.input_of(p.name);  // (rows, M)
      const int64_t rows = b.batch * b.seq, n = p.value.dim(0);
      Tensor y = backend.zeros({rows, n}, DType::f32);
      backend.matmul(x, Trans::no, p.value, Trans::yes, y, 1.f, 0.f);  // y = x·Wᵀ (rows, N)
      Tensor cos_dev = cosines_dev.rows(0, rows), cos_host = cosines.rows(0, rows);  // (rows,)
      backend.row_cosines(x, y, cos_dev);
      backend.copy(cos_dev, cos_host);
      const double* cos_row = cos_host.data_as<double>();
      for (int64_t row : real) sum[ti] += cos_row[row];
    }
  }
  std::vector<double> clipped(targets.size());
  double mean = 0;
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    clipped[ti] = std::max(0.0, sum[ti] / static_cast<double>(std::max<int64_t>(tokens, 1)));
    mean += clipped[ti] / static_cast<double>(targets.size());
  }
  std::map<std::string, double> out;
  for (size_t ti = 0; ti < targets.size(); ++ti)
    out[model.parameters()[targets[ti]].name] = mean > 0 ? clipped[ti] / mean : 1.0;
  return out;
}

}  // namespace sculpt
