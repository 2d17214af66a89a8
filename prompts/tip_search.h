// Tip-Adapter's closed form and its hyper-parameter search (Zhang et al., ECCV 2022;
// gaopengcuhk/Tip-Adapter at d0e2d6f, main.py and utils.py), as plain functions of tensors:
//   affinity A = f K^T                       f: L2-normalised image features [N, D], K: keys [M, D]
//   cache      = exp(-beta (1 - A)) V         V: one-hot values [M, C]
//   logits     = base + alpha * cache         base: the image-text logits [N, C]
// The search walks the official grid (search_hp): beta_i = i (scale_beta - 0.1) / steps_beta + 0.1
// for i < steps_beta, alpha likewise, beta outer and alpha inner, and keeps the first point with
// the highest top-1 (a strictly better one replaces it, as `acc > best_acc` does).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace vlprompt::prompts {

// The official search_hp's list: i * (scale - 0.1) / steps + 0.1 for i in range(steps).
std::vector<double> tip_grid(double scale, int64_t steps);

// exp(-beta (1 - A)) V from the affinity A [N, M] and the values V [M, C].
at::Tensor tip_cache_logits(const at::Tensor& affinity, const at::Tensor& values, double beta);

struct TipSearch {
  double alpha = 0, beta = 0;
  double top1 = -1;  // percent, on the data searched
  int64_t points = 0;
};

// The grid point with the best top-1 of base + alpha * cache on (affinity, labels); labels [N].
TipSearch search_tip_grid(const at::Tensor& base_logits, const at::Tensor& affinity,
                          const at::Tensor& values, const at::Tensor& labels,
                          const std::vector<double>& betas, const std::vector<double>& alphas);

}  // namespace vlprompt::prompts
