#include "prompts/tip_search.h"

#include "src/core/error.h"

namespace vlprompt::prompts {

std::vector<double> tip_grid(double scale, int64_t steps) {
  std::vector<double> out;
  out.reserve(steps);
  for (int64_t i = 0; i < steps; ++i) {
    out.push_back(static_cast<double>(i) * (scale - 0.1) / static_cast<double>(steps) + 0.1);
  }
  return out;
}

at::Tensor tip_cache_logits(const at::Tensor& affinity, const at::Tensor& values, double beta) {
  // The reference writes ((-1) * (beta - beta * affinity)).exp(): the same value.
  return at::matmul(at::exp(-beta * (1 - affinity)), values.to(affinity.scalar_type()));
}

TipSearch search_tip_grid(const at::Tensor& base_logits, const at::Tensor& affinity,
                          const at::Tensor& values, const at::Tensor& labels,
                          const std::vector<double>& betas, const std::vector<double>& alphas) {
  const int64_t n = labels.size(0);
  if (n == 0) throw Error("tip-adapter search: no labelled images to search on");
  if (base_logits.size(0) != n || affinity.size(0) != n) {
    throw Error("tip-adapter search: " + std::to_string(n) + " labels for " +
                std::to_string(base_logits.size(0)) + " logits and " +
                std::to_string(affinity.size(0)) + " affinities");
  }
  at::NoGradGuard no_grad;
  const at::Tensor target = labels.to(base_logits.device());
  TipSearch best;
  for (double beta : betas) {
    const at::Tensor cache = tip_cache_logits(affinity, values, beta);
    for (double alpha : alphas) {
      const at::Tensor right = (base_logits + alpha * cache).argmax(1).eq(target);
      const double top1 = 100.0 * right.sum().item<int64_t>() / static_cast<double>(n);
      ++best.points;
      if (top1 > best.top1) {
        best.top1 = top1;
        best.alpha = alpha;
        best.beta = beta;
      }
    }
  }
  return best;
}

}  // namespace vlprompt::prompts
