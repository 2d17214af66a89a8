// Content fingerprints: a backbone's fingerprint goes into every delta file so loading a delta
// onto other weights is caught, and cache keys for frozen features use it too. Fingerprints are
// a file format, so they use a standard digest (SHA-256, OpenSSL) and name it in their value:
// "sha256:<64 hex digits>".
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace vlprompt::core {

// Streaming SHA-256.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  Hasher& update(const void* data, size_t n);
  // Length-prefixed (u64 little-endian), so that concatenations cannot collide.
  Hasher& update(const std::string& s);
  // Dtype name, rank, each size (i64), byte count and every byte of the tensor (as contiguous
  // CPU data), each length-prefixed as above.
  Hasher& update(const at::Tensor& t);
  std::string hex() const;  // 64 lowercase hex digits of the digest so far

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// "sha256:<hex>" of a named set of tensors: for each, by name, the name then the tensor.
std::string fingerprint(const std::map<std::string, at::Tensor>& tensors);

}  // namespace vlprompt::core
