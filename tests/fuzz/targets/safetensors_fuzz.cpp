// safetensors (weights, delta files, HF checkpoints): header JSON, offsets, dtypes, shapes.
#include <ATen/ATen.h>

#include "src/core/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace core = vlprompt::core;

VLPROMPT_FUZZ_TARGET(safetensors) {
  const std::string path = fz::write_input(data, size, "input.safetensors");
  core::Metadata header_metadata;
  const auto header = core::read_safetensors_header(path, &header_metadata);
  const core::TensorFile file = core::read_safetensors(path);
  // The header-only read (inspect) and the full read (every loader) must agree on what they accept.
  if (header.size() != file.tensors.size() || header_metadata != file.metadata) {
    fz::fail("read_safetensors_header and read_safetensors disagree");
  }
  for (const auto& [name, tensor] : file.tensors) {
    const auto info = header.find(name);
    if (info == header.end() || info->second.shape != tensor.sizes().vec() ||
        core::dtype_from_safetensors(info->second.dtype) != tensor.scalar_type()) {
      fz::fail("tensor '" + name + "': header and data disagree");
    }
  }
  core::check_finite(file.tensors, path);
  // What was accepted writes back and reads back the same.
  core::write_safetensors(path, file.tensors, file.metadata);
  const core::TensorFile again = core::read_safetensors(path);
  if (again.metadata != file.metadata || again.tensors.size() != file.tensors.size()) {
    fz::fail("safetensors round trip changed the metadata or the tensor list");
  }
  for (const auto& [name, tensor] : file.tensors) {
    if (!at::equal(again.tensors.at(name), tensor)) fz::fail("round trip changed '" + name + "'");
  }
}
