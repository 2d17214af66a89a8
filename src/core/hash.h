// Content fingerprints: a backbone's fingerprint goes into every delta file so loading a delta
// onto other weights is caught, and cache keys for frozen features use it too.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>

namespace vlprompt::core {

// Streaming 64-bit hash (multiply-xorshift over 8-byte words); not cryptographic, only a
// fingerprint that changes with any byte.
class Hasher {
 public:
  Hasher& update(const void* data, size_t n);
  Hasher& update(const std::string& s);
  // Name, dtype, shape and every byte of the tensor (as contiguous CPU data).
  Hasher& update(const at::Tensor& t);
  uint64_t digest() const;
  std::string hex() const;  // 16 lowercase hex digits

 private:
  uint64_t state_ = 0x9e3779b97f4a7c15ull;
  uint64_t length_ = 0;
};

// Fingerprint of a named set of tensors (order-independent of insertion: sorted by name).
std::string fingerprint(const std::map<std::string, at::Tensor>& tensors);

}  // namespace vlprompt::core
