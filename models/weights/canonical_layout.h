// The canonical tensor set of a CLIP architecture: every name OpenAI's state dict holds for a
// ClipConfig, with its shape. Readers check files against it; writers check before writing.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/clip_config.h"
#include "src/core/safetensors.h"

namespace vlprompt::models::weights {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;

// Required tensors (canonical names) and their shapes. BatchNorm `num_batches_tracked` counters
// are not listed: they do not change a frozen model's output, so files may omit them.
ShapeMap canonical_shapes(const ClipConfig& config);

// True for tensors a file may hold or omit (BatchNorm `num_batches_tracked`).
bool is_optional_tensor(const std::string& name);

// Throws FileError naming `path` when heads do not divide widths, or the resolution is not a
// multiple of the patch size (ViT) or of 32 (ModifiedResNet).
void check_config(const ClipConfig& config, const std::string& path);

// check_config, then throws FileError naming `path` and the first tensor that is missing,
// unexpected, or of the wrong shape for `config`.
void check_tensors(const core::TensorMap& tensors, const ClipConfig& config,
                   const std::string& path);

// CPU, contiguous, detached; floating point upcast to fp32; integer tensors keep their type.
at::Tensor to_canonical_tensor(const at::Tensor& t);

std::string shape_string(at::IntArrayRef shape);  // "[64, 3, 16, 16]"

}  // namespace vlprompt::models::weights
