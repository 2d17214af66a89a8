// The one rule behind every inference fast path (fused attention, one-pass QuickGELU, folded
// BatchNorm, in-place ReLU, chunked image encoding): take it only when autograd records nothing,
// i.e. grad mode is off or none of the tensors involved requires a gradient.
#pragma once

#include <ATen/ATen.h>

#include <initializer_list>

namespace vlprompt::nn {

inline bool autograd_records(std::initializer_list<at::Tensor> tensors) {
  if (!at::GradMode::is_enabled()) return false;
  for (const at::Tensor& t : tensors) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

}  // namespace vlprompt::nn
