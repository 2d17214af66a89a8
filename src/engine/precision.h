// Training precision. fp32 everywhere; bf16 only as CUDA autocast: matmuls run in bf16 while the
// parameters (the master copies the optimizer updates) and the loss stay fp32, so no loss scaling
// is needed. CPUs here run bf16 ~25x slower than fp32, so CPU runs refuse it.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace vlprompt::engine {

enum class Precision { kFp32, kBf16 };

// "fp32" | "bf16"; Error naming the value otherwise.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);

// Error when `precision` cannot run on `device` (bf16 off CUDA).
void check_precision(Precision precision, const at::Device& device);

// Enables bf16 autocast for its scope when precision is bf16 on CUDA; does nothing otherwise.
// Restores the previous autocast state on exit.
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const at::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace vlprompt::engine
