// Timing helpers for `vlprompt bench`: wall-clock medians, peak memory, and the BLAS rate on the
// same matrix shapes the model runs (so a tower's speed can be read against what BLAS allows).
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "src/engine/op_profile.h"

namespace vlprompt::pipeline {

using engine::median_seconds;

// Peak resident memory of this process so far, in MiB (VmHWM).
double peak_rss_mib();
// Starts a new peak (the high-water mark drops to the current resident size).
void reset_peak_rss();

// `n` class names for prompt benchmarks: Fashion-MNIST's for 10, else distinct one- to
// three-word names ("striped owl", "northern sea shark 1") of ImageNet-like token lengths.
std::vector<std::string> bench_class_names(int64_t n);

}  // namespace vlprompt::pipeline
