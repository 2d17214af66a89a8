#include "src/core/device.h"

#include <ATen/Context.h>

#include "src/core/error.h"

namespace vlprompt::core {

c10::Device parse_device(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error("--device '" + name + "' is not a device name (expected cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !at::hasCUDA()) {
    throw Error("--device " + name + ": this build or machine has no CUDA; use --device cpu");
  }
  return device;
}

}  // namespace vlprompt::core
