// Shapes read from file headers (safetensors, .npy, IDX) checked before a tensor is allocated.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace vlprompt::core {

// The element count of `shape`, or nullopt when a size is negative or a tensor of this shape
// could not be indexed in int64: the product of the sizes, each counted as at least 1, must fit.
// An empty dimension makes the count 0 but leaves the other sizes' product in the strides, so
// [0, 2^40, 2^40] is refused although it holds no element.
inline std::optional<uint64_t> checked_numel(const std::vector<int64_t>& shape) {
  uint64_t numel = 1, extent = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    const uint64_t u = static_cast<uint64_t>(d);
    if (__builtin_mul_overflow(extent, u > 0 ? u : 1, &extent) ||
        extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    numel *= u;  // <= extent: cannot overflow
  }
  return numel;
}

}  // namespace vlprompt::core
