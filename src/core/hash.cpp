#include "src/core/hash.h"

#include <cstdio>
#include <cstring>

namespace vlprompt::core {
namespace {

inline uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x;
}

}  // namespace

Hasher& Hasher::update(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    state_ = mix(state_ ^ w) + 0x632be59bd9b4e019ull;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i < n; ++i, ++k) tail |= static_cast<uint64_t>(p[i]) << (8 * k);
  state_ = mix(state_ ^ tail ^ (n << 56));
  length_ += n;
  return *this;
}

Hasher& Hasher::update(const std::string& s) { return update(s.data(), s.size()); }

Hasher& Hasher::update(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU).contiguous();
  update(std::string(c10::toString(c.scalar_type())));
  for (int64_t d : c.sizes()) update(&d, sizeof(d));
  return update(c.data_ptr(), c.numel() * c.element_size());
}

uint64_t Hasher::digest() const { return mix(state_ ^ length_); }

std::string Hasher::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(digest()));
  return buf;
}

std::string fingerprint(const std::map<std::string, at::Tensor>& tensors) {
  Hasher h;
  for (const auto& [name, t] : tensors) h.update(name).update(t);
  return h.hex();
}

}  // namespace vlprompt::core
