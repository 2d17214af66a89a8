// P-Tuning (Liu et al., "GPT Understands, Too", 2021) on a frozen LLaMA-family LM: n virtual-token
// embeddings produced by a prompt encoder, prepended like Prompt Tuning (PEFT's P_TUNING,
// PromptEncoder):
//   encoder.embedding [n, hidden]
//   mlp:  encoder.mlp_head = Linear(hidden, h) - ReLU - Linear(h, h) - ReLU - Linear(h, hidden)
//   lstm: encoder.lstm_head = bidirectional LSTM(hidden -> h, encoder_num_layers layers,
//         encoder_dropout), then encoder.mlp_head = Linear(2h, 2h) - ReLU - Linear(2h, hidden)
// (h = encoder_hidden_size, 0 meaning hidden, as PEFT's default token_dim).
// As with Prefix Tuning (see delta::Delta::export_tensors), named_tensors() are the encoder's
// parameters (checkpoints), export_tensors() the collapsed "embeddings" [n, hidden] (the delta
// file, PEFT's prompt_embeddings); loading that form collapses the delta.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include "prompts/lm/virtual_tokens.h"
#include "prompts/registry.h"

namespace vlprompt::prompts::lm {

struct PTuningOptions {
  /// PTuning p(PTuningOptions().n_virtual(10).encoder("lstm"), context);
  TORCH_ARG(int64_t, n_virtual) = 20;
  TORCH_ARG(std::string, encoder) = "mlp";
  TORCH_ARG(int64_t, encoder_hidden_size) = 0;
  TORCH_ARG(int64_t, encoder_num_layers) = 2;
  TORCH_ARG(double, encoder_dropout) = 0.0;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_virtual", n_virtual_, "virtual tokens prepended to the input (0 = the plain model)");
    v("encoder", encoder_, "the prompt encoder: mlp | lstm");
    v("encoder_hidden_size", encoder_hidden_size_, "the encoder's width (0 = the model's hidden)");
    v("encoder_num_layers", encoder_num_layers_, "LSTM layers (lstm only; mlp has 3 linears)");
    v("encoder_dropout", encoder_dropout_, "dropout between the LSTM's layers (lstm only)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

// PEFT's PromptEncoder.
class PromptEncoderImpl : public torch::nn::Module {
 public:
  PromptEncoderImpl(const PTuningOptions& options, int64_t hidden, at::Generator& generator);
  at::Tensor forward();  // [n, hidden]
  at::Tensor embedding;
  torch::nn::LSTM lstm_head{nullptr};  // lstm only
  torch::nn::Sequential mlp_head{nullptr};
};
TORCH_MODULE(PromptEncoder);

class PTuningImpl : public VirtualTokenDeltaImpl {
 public:
  PTuningImpl(PTuningOptions options, const LmMethodContext& context);

  at::Tensor virtual_tokens() override;
  int64_t n_virtual() const override { return options_.n_virtual(); }
  std::map<std::string, std::string> hyperparameters() const override;
  core::TensorMap export_tensors() const override;
  void load_named_tensors(const core::TensorMap& tensors, const std::string& source) override;

  // Replaces the encoder by the embeddings it produces now (no-op when already collapsed).
  void collapse();
  bool collapsed() const { return !encoder; }
  const PTuningOptions& options() const { return options_; }

  PromptEncoder encoder{nullptr};  // until collapsed
  at::Tensor embeddings;           // once collapsed: [n, hidden], "embeddings"

 private:
  PTuningOptions options_;
};
TORCH_MODULE(PTuning);

}  // namespace vlprompt::prompts::lm
