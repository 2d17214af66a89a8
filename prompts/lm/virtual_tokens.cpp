#include "prompts/lm/virtual_tokens.h"

#include "src/core/error.h"

namespace vlprompt::prompts::lm {

class PrependSites : public nn::DeltaSites {
 public:
  explicit PrependSites(VirtualTokenDeltaImpl& delta) : delta_(delta) {}

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override {
    if (delta_.n_virtual() == 0) return tokens;
    const at::Tensor v = delta_.virtual_tokens();
    return prepend_rows(v.unsqueeze(0).expand({tokens.size(0), v.size(0), v.size(1)}), tokens);
  }
  int64_t inserted_tokens() const override { return delta_.n_virtual(); }

 private:
  VirtualTokenDeltaImpl& delta_;
};

VirtualTokenDeltaImpl::VirtualTokenDeltaImpl(std::string method)
    : Delta(std::move(method)), sites_(std::make_unique<PrependSites>(*this)) {}

VirtualTokenDeltaImpl::~VirtualTokenDeltaImpl() = default;

nn::DeltaSites* VirtualTokenDeltaImpl::sites(delta::Tower tower, const delta::SiteContext&) {
  return tower == delta::Tower::kText ? sites_.get() : nullptr;
}

at::Tensor prepend_rows(const at::Tensor& virtual_tokens, const at::Tensor& tokens) {
  if (virtual_tokens.size(2) != tokens.size(2)) {
    throw Error("virtual tokens have width " + std::to_string(virtual_tokens.size(2)) +
                " but the model's token embeddings have width " + std::to_string(tokens.size(2)));
  }
  return at::cat({virtual_tokens.to(tokens.scalar_type()), tokens}, 1);
}

}  // namespace vlprompt::prompts::lm
