// The linear-probe baseline: multinomial logistic regression on frozen (L2-normalized) image
// features, with its L2 strength chosen on the validation split only (CLIP's protocol).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace vlprompt::engine {

struct LinearProbe {
  at::Tensor weight;                              // [C, D]
  at::Tensor bias;                                // [C]
  double l2 = 0;                                  // the chosen strength
  std::vector<std::pair<double, double>> search;  // (l2, val top-1) for every candidate

  at::Tensor logits(const at::Tensor& features) const;  // features normalized inside
};

// Fits one probe: mean cross-entropy + l2 / 2 * ||W||^2, full-batch L-BFGS.
LinearProbe fit_linear_probe(const at::Tensor& features, const at::Tensor& labels,
                             int64_t num_classes, double l2, int64_t max_iter = 300);

// Tries every strength in `l2_grid` (default: 10^-6 .. 10^2), keeps the best val top-1
// (ties: the stronger regularisation), refits it. Val must be non-empty: never test.
LinearProbe search_linear_probe(const at::Tensor& train_features, const at::Tensor& train_labels,
                                const at::Tensor& val_features, const at::Tensor& val_labels,
                                int64_t num_classes, std::vector<double> l2_grid = {});

}  // namespace vlprompt::engine
