#include "prompts/seeded_linear.h"

#include <cmath>
#include <functional>

namespace vlprompt::prompts {

void reset_linear(torch::nn::Linear& linear, at::Generator& generator) {
  at::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(linear->weight.size(1)));
  for (at::Tensor& p : {std::ref(linear->weight), std::ref(linear->bias)}) {
    if (!p.defined()) continue;  // a layer made with bias(false)
    p.copy_(at::empty(p.sizes(), at::kFloat).uniform_(-bound, bound, generator));
  }
}

}  // namespace vlprompt::prompts
