#include "src/core/hash.h"

#include <openssl/evp.h>

#include <cstdio>

#include "src/core/error.h"

namespace vlprompt::core {

struct Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
};

Hasher::Hasher() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    throw Error("SHA-256: OpenSSL could not start a digest");
  }
}

Hasher::~Hasher() { EVP_MD_CTX_free(state_->ctx); }

Hasher& Hasher::update(const void* data, size_t n) {
  if (n > 0 && EVP_DigestUpdate(state_->ctx, data, n) != 1) throw Error("SHA-256: update failed");
  return *this;
}

namespace {
void put_u64(Hasher& h, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  h.update(b, 8);
}
}  // namespace

Hasher& Hasher::update(const std::string& s) {
  put_u64(*this, s.size());
  return update(s.data(), s.size());
}

Hasher& Hasher::update(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU).contiguous();
  update(std::string(c10::toString(c.scalar_type())));
  put_u64(*this, static_cast<uint64_t>(c.dim()));
  for (int64_t d : c.sizes()) put_u64(*this, static_cast<uint64_t>(d));
  const size_t bytes = c.numel() * c.element_size();
  put_u64(*this, bytes);
  return update(c.data_ptr(), bytes);
}

std::string Hasher::hex() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  const bool ok =
      copy && EVP_MD_CTX_copy_ex(copy, state_->ctx) == 1 && EVP_DigestFinal_ex(copy, md, &n) == 1;
  EVP_MD_CTX_free(copy);
  if (!ok) throw Error("SHA-256: final failed");
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", md[i]);
    out += buf;
  }
  return out;
}

std::string fingerprint(const std::map<std::string, at::Tensor>& tensors) {
  Hasher h;
  for (const auto& [name, t] : tensors) h.update(name).update(t);
  return "sha256:" + h.hex();
}

}  // namespace vlprompt::core
