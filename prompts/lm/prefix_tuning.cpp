#include "prompts/lm/prefix_tuning.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "prompts/lm/virtual_tokens.h"
#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts::lm {

class PrefixTuningSites : public nn::DeltaSites {
 public:
  explicit PrefixTuningSites(PrefixTuningImpl& delta) : delta_(delta) {}
  // The encoder runs once per pass, not once per layer.
  void bind() { prefix_ = delta_.n_virtual() > 0 ? delta_.prefix() : at::Tensor(); }

  std::optional<nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    if (!prefix_.defined()) return std::nullopt;
    const int64_t n = prefix_.size(2), w = prefix_.size(3);
    return nn::KVPrefix{prefix_[layer][0].unsqueeze(0).expand({batch, n, w}),
                        prefix_[layer][1].unsqueeze(0).expand({batch, n, w})};
  }

 private:
  PrefixTuningImpl& delta_;
  at::Tensor prefix_;
};

PrefixEncoderImpl::PrefixEncoderImpl(int64_t n, int64_t width, int64_t hidden, int64_t out,
                                     at::Generator& generator) {
  // nn.Embedding's N(0, 1) and nn.Linear's default, each drawn from the delta's seed.
  embedding = register_parameter("embedding", at::empty({n, width}).normal_(0.0, 1.0, generator));
  torch::nn::Linear first(width, hidden), last(hidden, out);
  reset_linear(first, generator);
  reset_linear(last, generator);
  transform = register_module("transform", torch::nn::Sequential(first, torch::nn::Tanh(), last));
}

at::Tensor PrefixEncoderImpl::forward() { return transform->forward(embedding); }

PrefixTuningImpl::PrefixTuningImpl(PrefixTuningOptions options, const LmMethodContext& context)
    : Delta("prefix_tuning"),
      options_(std::move(options)),
      sites_(std::make_unique<PrefixTuningSites>(*this)) {
  if (!context.model) throw Error("prefix_tuning: needs a LLaMA model");
  const auto& config = context.model->config();
  layers_ = config.num_hidden_layers;
  kv_width_ = config.kv_width();
  const int64_t n = options_.n_virtual();
  check_virtual_sizes("prefix_tuning", n, options_.encoder_hidden_size(), config);
  if (options_.init_weights() != "random" && options_.init_weights() != "zero") {
    throw Error("prefix_tuning.init_weights: unknown value '" + options_.init_weights() +
                "' (expected random or zero)");
  }
  if (options_.encoder_hidden_size() < 0) {
    throw Error("prefix_tuning.encoder_hidden_size: " +
                std::to_string(options_.encoder_hidden_size()) + " is negative");
  }
  if (options_.encoder_hidden_size() == 0) options_.encoder_hidden_size(kv_width_);
  const bool zero = options_.init_weights() == "zero";
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  const at::Device device = context.model->model->embed_tokens->weight.device();
  at::NoGradGuard no_grad;
  if (options_.prefix_projection()) {
    encoder = register_module("encoder", PrefixEncoder(n, kv_width_, options_.encoder_hidden_size(),
                                                       layers_ * 2 * kv_width_, generator));
    if (zero) {
      auto last = encoder->transform[2]->as<torch::nn::Linear>();
      last->weight.zero_();
      last->bias.zero_();
    }
    encoder->to(device);
  } else {
    at::Tensor start = at::zeros({layers_, 2, n, kv_width_});
    if (!zero) start.normal_(0.0, 1.0, generator);
    make_plain(start.to(device));
  }
}

PrefixTuningImpl::~PrefixTuningImpl() = default;

void PrefixTuningImpl::make_plain(const at::Tensor& prefix) {
  key = register_module("key", torch::nn::ParameterList());
  value = register_module("value", torch::nn::ParameterList());
  for (int64_t l = 0; l < layers_; ++l) {
    // append() keeps the tensor's requires_grad, which a detached copy has not.
    key->append(prefix[l][0].detach().clone().set_requires_grad(true));
    value->append(prefix[l][1].detach().clone().set_requires_grad(true));
  }
}

at::Tensor PrefixTuningImpl::prefix() const {
  const int64_t n = options_.n_virtual();
  if (encoder) {
    // PEFT's layout: row t of [n, layers * 2 * kv_width] is (layer, key|value, kv_width).
    return encoder.ptr()->forward().view({n, layers_, 2, kv_width_}).permute({1, 2, 0, 3});
  }
  std::vector<at::Tensor> rows;
  for (int64_t l = 0; l < layers_; ++l) rows.push_back(at::stack({key->at(l), value->at(l)}));
  return at::stack(rows);
}

void PrefixTuningImpl::collapse() {
  if (!encoder) return;
  at::Tensor plain;
  {
    at::NoGradGuard no_grad;
    plain = prefix();
  }
  unregister_module("encoder");
  encoder = nullptr;
  make_plain(plain);
}

nn::DeltaSites* PrefixTuningImpl::sites(delta::Tower tower, const delta::SiteContext&) {
  if (tower != delta::Tower::kText) return nullptr;
  sites_->bind();
  return sites_.get();
}

core::TensorMap PrefixTuningImpl::export_tensors() const {
  if (!encoder) return named_tensors();
  at::NoGradGuard no_grad;
  const at::Tensor p = prefix();
  core::TensorMap out;
  for (int64_t l = 0; l < layers_; ++l) {
    out[method() + ".key." + std::to_string(l)] = p[l][0].clone();
    out[method() + ".value." + std::to_string(l)] = p[l][1].clone();
  }
  return out;
}

void PrefixTuningImpl::load_named_tensors(const core::TensorMap& tensors,
                                          const std::string& source) {
  // The exported (plain) form: key.0 ... instead of the encoder's parameters.
  if (encoder && tensors.count(method() + ".key.0")) collapse();
  Delta::load_named_tensors(tensors, source);
}

std::map<std::string, std::string> PrefixTuningImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_prefix_tuning(const core::ResolvedConfig& config,
                                                 const std::string& section,
                                                 const LmMethodContext& context) {
  return PrefixTuning(read_delta_options<PrefixTuningOptions>(config, section, context.seed),
                      context)
      .ptr();
}

}  // namespace

VLPROMPT_LM_DELTA(prefix_tuning,
                  "Prefix Tuning (Li and Liang): per-layer key/value prefixes of a text LM",
                  make_prefix_tuning, PrefixTuningOptions);

}  // namespace vlprompt::prompts::lm
