#include "src/engine/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "src/core/error.h"

// PyTorch 2.4 replaced the CUDA-specific autocast calls with per-device-type ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define VLPROMPT_AUTOCAST_BY_DEVICE 1
#endif

namespace vlprompt::engine {
namespace {

bool autocast_enabled() {
#ifdef VLPROMPT_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

void set_autocast(bool enabled, at::ScalarType dtype) {
#ifdef VLPROMPT_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

at::ScalarType autocast_dtype() {
#ifdef VLPROMPT_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw Error("precision: unknown value '" + name + "'; expected fp32 or bf16");
}

std::string precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

void check_precision(Precision precision, const at::Device& device) {
  if (precision == Precision::kBf16 && !device.is_cuda()) {
    throw Error("precision bf16 needs a CUDA device (got " + device.str() + "); CPU runs use fp32");
  }
}

AutocastGuard::AutocastGuard(Precision precision, const at::Device& device) {
  if (precision != Precision::kBf16 || !device.is_cuda()) return;
  active_ = true;
  was_enabled_ = autocast_enabled();
  previous_dtype_ = autocast_dtype();
  set_autocast(true, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The cast cache holds bf16 copies of the weights; it must not outlive the outermost region.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(was_enabled_, previous_dtype_);
}

}  // namespace vlprompt::engine
