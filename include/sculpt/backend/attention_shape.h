// The dimensions of one causal grouped-query attention call, shared by every backend's kernels.
#pragma once
#include <cstdint>

namespace sculpt {

struct AttentionShape {
  int64_t batch = 0;        // B
  int64_t q_len = 0;        // T: query rows per sequence
  int64_t kv_capacity = 0;  // S: key rows stored per sequence in the buffers
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t window = 0;       // sliding window, 0 = none
};

}  // namespace sculpt
