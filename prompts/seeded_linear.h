// nn.Linear's default initialisation (weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as
// PyTorch's reset_parameters gives) drawn from a delta's own generator instead of the global
// one, so that a delta's start depends on its seed alone. A layer without bias draws its weight
// only.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

namespace vlprompt::prompts {

void reset_linear(torch::nn::Linear& linear, at::Generator& generator);

}  // namespace vlprompt::prompts
