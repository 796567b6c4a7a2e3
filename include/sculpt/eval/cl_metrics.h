// Continual-learning metrics over the accuracy matrix (Lopez-Paz & Ranzato 2017; Chaudhry et al.
// 2018), with T tasks trained in order:
//   R[i][j]   accuracy on task j's test split after training task i (0-based, i, j < T)
//   base[j]   accuracy on task j before any training (the starting model)
//   AA  = 1/T Σ_j R[T−1][j]                                 average accuracy at the end
//   BWT = 1/(T−1) Σ_{j<T−1} (R[T−1][j] − R[j][j])            backward transfer (< 0: forgetting)
//   FWT = 1/(T−1) Σ_{j≥1} (R[j−1][j] − base[j])              forward transfer to unseen tasks
//   MF  = 1/(T−1) Σ_{j<T−1} max_{j≤i<T−1} (R[i][j] − R[T−1][j])  average maximum forgetting
// Quantities that need two tasks (BWT, FWT, MF) are NaN for T = 1.
#pragma once
#include <vector>

namespace sculpt {

struct ClMetrics {
  double average_accuracy = 0, backward_transfer = 0, forward_transfer = 0, max_forgetting = 0;
};

// `R` is T×T; `base` has T entries (may be empty: FWT is then NaN). Throws Error on bad shapes.
ClMetrics cl_metrics(const std::vector<std::vector<double>>& R, const std::vector<double>& base);

}  // namespace sculpt
