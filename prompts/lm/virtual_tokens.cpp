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

void check_virtual_sizes(const std::string& method, int64_t n_virtual, int64_t encoder_hidden,
                         const models::llama::LlamaConfig& config) {
  if (n_virtual < 0)
    throw Error(method + ".n_virtual: " + std::to_string(n_virtual) + " is negative");
  if (n_virtual >= config.max_position_embeddings)
    throw Error(method + ".n_virtual: " + std::to_string(n_virtual) +
                " virtual tokens leave no position for text in the model's "
                "max_position_embeddings (" +
                std::to_string(config.max_position_embeddings) + ")");
  const int64_t most = 16 * config.hidden_size;
  if (encoder_hidden < 0 || encoder_hidden > most)
    throw Error(method + ".encoder_hidden_size: " + std::to_string(encoder_hidden) +
                ", expected 0 (the model's width) to " + std::to_string(most) +
                " (16x the model's hidden_size " + std::to_string(config.hidden_size) + ")");
}

}  // namespace vlprompt::prompts::lm
