// The one place a device name is turned into an at::Device (STYLE: device and dtype are chosen
// once, at the command line, and passed down).
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace vlprompt::core {

// "cpu", "cuda", "cuda:1". A CUDA device on a build or machine without CUDA is an Error saying
// so, never a silent fall-back to the CPU.
c10::Device parse_device(const std::string& name);

}  // namespace vlprompt::core
