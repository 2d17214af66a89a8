#include "prompts/lm/p_tuning.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "prompts/seeded_linear.h"
#include "src/core/error.h"

namespace vlprompt::prompts::lm {
namespace {

torch::nn::Linear seeded_linear(int64_t in, int64_t out, at::Generator& generator) {
  torch::nn::Linear linear(in, out);
  reset_linear(linear, generator);
  return linear;
}

}  // namespace

PromptEncoderImpl::PromptEncoderImpl(const PTuningOptions& o, int64_t hidden,
                                     at::Generator& generator) {
  const int64_t n = o.n_virtual(), h = o.encoder_hidden_size();
  at::NoGradGuard no_grad;
  embedding = register_parameter("embedding", at::empty({n, hidden}).normal_(0.0, 1.0, generator));
  if (o.encoder() == "lstm") {
    lstm_head = register_module("lstm_head", torch::nn::LSTM(torch::nn::LSTMOptions(hidden, h)
                                                                 .num_layers(o.encoder_num_layers())
                                                                 .dropout(o.encoder_dropout())
                                                                 .bidirectional(true)
                                                                 .batch_first(true)));
    // nn.LSTM's default U(-1/sqrt(h), 1/sqrt(h)), from the delta's seed.
    const double bound = 1.0 / std::sqrt(static_cast<double>(h));
    for (auto& p : lstm_head->parameters()) p.uniform_(-bound, bound, generator);
    mlp_head = register_module(
        "mlp_head", torch::nn::Sequential(seeded_linear(2 * h, 2 * h, generator), torch::nn::ReLU(),
                                          seeded_linear(2 * h, hidden, generator)));
  } else {
    mlp_head = register_module(
        "mlp_head", torch::nn::Sequential(seeded_linear(hidden, h, generator), torch::nn::ReLU(),
                                          seeded_linear(h, h, generator), torch::nn::ReLU(),
                                          seeded_linear(h, hidden, generator)));
  }
}

at::Tensor PromptEncoderImpl::forward() {
  if (embedding.size(0) == 0) return embedding;
  if (!lstm_head) return mlp_head->forward(embedding);
  // PEFT runs the encoder on one row of indices: [1, n, hidden].
  const at::Tensor out = std::get<0>(lstm_head->forward(embedding.unsqueeze(0)));
  return mlp_head->forward(out).squeeze(0);
}

PTuningImpl::PTuningImpl(PTuningOptions options, const LmMethodContext& context)
    : VirtualTokenDeltaImpl("p_tuning"), options_(std::move(options)) {
  if (!context.model) throw Error("p_tuning: needs a LLaMA model");
  check_virtual_sizes("p_tuning", options_.n_virtual(), options_.encoder_hidden_size(),
                      context.model->config());
  if (options_.encoder() != "mlp" && options_.encoder() != "lstm") {
    throw Error("p_tuning.encoder: unknown value '" + options_.encoder() +
                "' (expected mlp or lstm)");
  }
  if (options_.encoder_hidden_size() < 0 || options_.encoder_num_layers() < 1) {
    throw Error("p_tuning: encoder_hidden_size must be >= 0 and encoder_num_layers >= 1 (got " +
                std::to_string(options_.encoder_hidden_size()) + ", " +
                std::to_string(options_.encoder_num_layers()) + ")");
  }
  const int64_t hidden = context.model->config().hidden_size;
  if (options_.encoder_hidden_size() == 0) options_.encoder_hidden_size(hidden);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  encoder = register_module("encoder", PromptEncoder(options_, hidden, generator));
  encoder->to(context.model->model->embed_tokens->weight.device());
}

at::Tensor PTuningImpl::virtual_tokens() { return encoder ? encoder->forward() : embeddings; }

void PTuningImpl::collapse() {
  if (!encoder) return;
  at::Tensor plain;
  {
    at::NoGradGuard no_grad;
    plain = encoder->forward().detach().clone();
  }
  unregister_module("encoder");
  encoder = nullptr;
  embeddings = register_parameter("embeddings", plain);
}

core::TensorMap PTuningImpl::export_tensors() const {
  if (!encoder) return named_tensors();
  at::NoGradGuard no_grad;
  return {{method() + ".embeddings", encoder.ptr()->forward().detach().clone()}};
}

void PTuningImpl::load_named_tensors(const core::TensorMap& tensors, const std::string& source) {
  if (encoder && tensors.count(method() + ".embeddings")) collapse();
  Delta::load_named_tensors(tensors, source);
}

std::map<std::string, std::string> PTuningImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_p_tuning(const core::ResolvedConfig& config,
                                            const std::string& section,
                                            const LmMethodContext& context) {
  return PTuning(read_delta_options<PTuningOptions>(config, section, context.seed), context).ptr();
}

}  // namespace

VLPROMPT_LM_DELTA(p_tuning, "P-Tuning (Liu et al.): virtual tokens from an MLP/LSTM prompt encoder",
                  make_p_tuning, PTuningOptions);

}  // namespace vlprompt::prompts::lm
