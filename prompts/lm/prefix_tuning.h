// Prefix Tuning (Li and Liang, "Prefix-Tuning: Optimizing Continuous Prompts for Generation",
// ACL 2021) on a frozen LLaMA-family LM: per layer l, n_virtual extra keys and values
// key.l / value.l [n, kv_width] (kv_width = num_key_value_heads * head_dim), unrotated, which every
// text position attends to (HF past_key_values; the text's positions start after them).
//
// Trained either directly (the per-layer tensors are the parameters) or, with
// prefix_projection, through PEFT's reparameterisation (PrefixEncoder):
//   encoder.embedding [n, kv_width] -> encoder.transform = Linear(kv_width, encoder_hidden_size)
//   -> tanh -> Linear(encoder_hidden_size, layers * 2 * kv_width)
// whose output row t, viewed [layers, 2, kv_width], is (key, value) of position t at each layer
// (PEFT's layout: token_dim is kv_width under grouped-query attention, as PEFT sets it).
//
// Saving (see delta::Delta::export_tensors): named_tensors() are the trained parameters (the
// encoder's, with projection), so checkpoints resume exactly; export_tensors() are always the
// plain key.l / value.l, so a delta file is the same whichever way it was trained. Loading such a
// file into a delta built with projection collapses it (collapse()): the encoder is dropped and
// the plain tensors become its parameters (an optimiser holding the old ones must be rebuilt). A
// zero-length prefix fills no site (the plain model). sites() runs the encoder once for the pass
// it is called for: call it again for every forward pass (as delta::Delta says).
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/container/parameterlist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "prompts/registry.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts::lm {

struct PrefixTuningOptions {
  /// PrefixTuning p(PrefixTuningOptions().n_virtual(10).prefix_projection(true), context);
  TORCH_ARG(int64_t, n_virtual) = 20;
  TORCH_ARG(bool, prefix_projection) = true;
  // 0: kv_width (PEFT's default, token_dim).
  TORCH_ARG(int64_t, encoder_hidden_size) = 0;
  // "random" or "zero" (PEFT's init_weights None / "zero": the prefix starts at zeros).
  TORCH_ARG(std::string, init_weights) = "random";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_virtual", n_virtual_, "prefix length (0 = the plain model)");
    v("prefix_projection", prefix_projection_, "train through PEFT's embedding->MLP encoder");
    v("encoder_hidden_size", encoder_hidden_size_, "the encoder MLP's width (0 = kv width)");
    v("init_weights", init_weights_, "random | zero (the prefix starts at zero)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

// PEFT's PrefixEncoder with projection: embedding -> Linear -> tanh -> Linear.
class PrefixEncoderImpl : public torch::nn::Module {
 public:
  PrefixEncoderImpl(int64_t n, int64_t width, int64_t hidden, int64_t out,
                    at::Generator& generator);
  // [n, layers * 2 * kv_width]
  at::Tensor forward();
  at::Tensor embedding;
  torch::nn::Sequential transform{nullptr};
};
TORCH_MODULE(PrefixEncoder);

class PrefixTuningSites;

class PrefixTuningImpl : public delta::Delta {
 public:
  PrefixTuningImpl(PrefixTuningOptions options, const LmMethodContext& context);
  ~PrefixTuningImpl() override;

  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }
  std::map<std::string, std::string> hyperparameters() const override;
  core::TensorMap export_tensors() const override;
  void load_named_tensors(const core::TensorMap& tensors, const std::string& source) override;

  // The prefix of every layer, [layers, 2, n, kv_width] (key then value), with the graph.
  at::Tensor prefix() const;
  // Replaces the encoder by the plain tensors it produces now (no-op when already plain).
  void collapse();
  bool collapsed() const { return !encoder; }

  int64_t n_virtual() const { return options_.n_virtual(); }
  int64_t num_layers() const { return layers_; }
  int64_t kv_width() const { return kv_width_; }
  const PrefixTuningOptions& options() const { return options_; }

  PrefixEncoder encoder{nullptr};                         // with projection, until collapsed
  torch::nn::ParameterList key{nullptr}, value{nullptr};  // plain: key.l, value.l [n, kv_width]

 private:
  void make_plain(const at::Tensor& prefix);
  PrefixTuningOptions options_;
  int64_t layers_ = 0, kv_width_ = 0;
  std::unique_ptr<PrefixTuningSites> sites_;
};
TORCH_MODULE(PrefixTuning);

}  // namespace vlprompt::prompts::lm
