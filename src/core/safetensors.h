// The safetensors format: 8-byte little-endian header length, a JSON header mapping each tensor
// name to {dtype, shape, data_offsets} (plus an optional "__metadata__" of string pairs), then
// the raw little-endian bytes. Used for vlprompt weights, delta files and HF checkpoints.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

namespace vlprompt::core {

using TensorMap = std::map<std::string, at::Tensor>;
using Metadata = std::map<std::string, std::string>;

struct TensorFile {
  TensorMap tensors;
  Metadata metadata;
};

// Reads and validates a safetensors file. Every defect (truncated file, bad header, unknown
// dtype, offsets outside the data, size not matching the shape) throws FileError naming the file
// and, where one is at fault, the tensor.
TensorFile read_safetensors(const std::string& path);

// Header only: the metadata and each tensor's dtype and shape, without reading data.
struct TensorInfo {
  std::string dtype;  // safetensors spelling: F32, F16, BF16, I64, ...
  std::vector<int64_t> shape;
};
std::map<std::string, TensorInfo> read_safetensors_header(const std::string& path,
                                                          Metadata* metadata = nullptr);

// Serializes tensors (made contiguous, on CPU) and metadata; written atomically.
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const Metadata& metadata = {});
std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});

// safetensors dtype name <-> ATen scalar type; throws Error for unknown names.
// FileError naming `source` and the first floating-point tensor holding a NaN or an infinity:
// weights and deltas are loaded through this, since a NaN delta otherwise evaluates at chance
// with exit 0.
void check_finite(const TensorMap& tensors, const std::string& source);

at::ScalarType dtype_from_safetensors(const std::string& name);
std::string dtype_to_safetensors(at::ScalarType type);

}  // namespace vlprompt::core
