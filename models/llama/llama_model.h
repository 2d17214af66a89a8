// A frozen LLaMA-family causal LM (Hugging Face LlamaForCausalLM / MistralForCausalLM) with HF's
// parameter names, so an HF state dict loads name for name:
//   model.embed_tokens.weight, model.layers.{i}.self_attn.{q,k,v,o}_proj.weight,
//   model.layers.{i}.mlp.{gate,up,down}_proj.weight, model.layers.{i}.input_layernorm.weight,
//   model.layers.{i}.post_attention_layernorm.weight, model.norm.weight, lm_head.weight (absent
//   when tie_word_embeddings: the head is the embedding matrix).
// Deltas enter only through nn::DeltaSites, as in CLIP.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/llama/llama_config.h"
#include "models/llama/llama_layers.h"
#include "src/nn/delta_sites.h"

namespace vlprompt::models::llama {

// Keys (rotated, except prefix keys, which enter as HF past keys do) and values seen so far,
// one [B, Hkv, T, d] pair per layer. Empty until the first forward_step.
struct LlamaCache {
  std::vector<at::Tensor> key;
  std::vector<at::Tensor> value;

  bool empty() const { return key.empty(); }
  // Positions held (prefix included); the next token's position.
  int64_t length() const { return key.empty() || !key[0].defined() ? 0 : key[0].size(2); }
};

// The decoder without its head ("model." in HF's names).
class LlamaBackboneImpl : public torch::nn::Module {
 public:
  explicit LlamaBackboneImpl(const LlamaConfig& config);

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  std::vector<LlamaDecoderLayer> layer_list;
};
TORCH_MODULE(LlamaBackbone);

class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const LlamaConfig& config);

  // ids [B, L] -> logits [B, L', vocab] (L' = L plus what input_tokens inserts). Sites: input
  // tokens on the embeddings, layer tokens before each layer, a key/value prefix per layer
  // ([B, P, kv_width], unrotated, visible to every query). Text positions start at
  // position_offset + P, as HF numbers tokens after past keys/values.
  at::Tensor logits(const at::Tensor& ids, nn::DeltaSites* sites = nullptr,
                    int64_t position_offset = 0);
  // The final normed hidden states [B, L', hidden] that logits() projects: callers that score a
  // few positions (rank classification, completion-only losses) project only those, never
  // materialising [B, L', vocab].
  at::Tensor hidden_states(const at::Tensor& ids, nn::DeltaSites* sites = nullptr,
                           int64_t position_offset = 0);

  // Incremental decoding: logits of `new_ids` [B, L] given `cache`, which is extended. On the
  // first call (empty cache) the sites' prefixes seed the cache and input/layer tokens apply; the
  // module-level sites apply at every call. So
  // a run of steps equals one logits() call over the whole sequence.
  at::Tensor forward_step(const at::Tensor& new_ids, LlamaCache& cache,
                          nn::DeltaSites* sites = nullptr);

  // Rank classification's shared prompt pass, in two steps. prefill: forward_step's first call
  // returning the final normed hidden states [B, L', hidden] instead of logits (the sites' prefix,
  // input and layer tokens included), `cache` filled with every position's keys and values.
  at::Tensor prefill(const at::Tensor& ids, LlamaCache& cache, nn::DeltaSites* sites = nullptr);
  // continuation_states: row n of `new_ids` [N, M] continues row rows[n] of `cache`, seeing its
  // first visible[n] positions (and not the padding after them), its own tokens at positions
  // visible[n] ... visible[n] + M - 1 with a causal triangle among them; module-level sites
  // only, as every later forward_step. Returns the final normed hidden states [N, M, hidden];
  // `cache` is not extended.
  at::Tensor continuation_states(const LlamaCache& cache, const at::Tensor& rows,
                                 const at::Tensor& visible, const at::Tensor& new_ids,
                                 nn::DeltaSites* sites = nullptr);

  // Continuous batching's decoding step: row n of `new_ids` [N, 1] continues its own sequence,
  // held in row n of `cache` ([N, Hkv, T, d] per layer) where `visible` [N, T] is true (rows of
  // different lengths share columns; the rest is padding), at position positions[n]. Module-level
  // sites only (the token-level ones acted when each row was prefilled). Appends the new keys and
  // values as column T; the caller appends a true column to `visible`. Returns logits [N, vocab].
  at::Tensor decode_step(const at::Tensor& new_ids, LlamaCache& cache, const at::Tensor& visible,
                         const at::Tensor& positions, nn::DeltaSites* sites = nullptr);

  const LlamaConfig& config() const { return config_; }
  // The output projection [vocab, hidden]: lm_head.weight, or the embeddings when tied; with
  // `sites`, their replacement when they train it (full fine-tuning).
  at::Tensor head_weight(nn::DeltaSites* sites = nullptr) const;

  LlamaBackbone model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tied

 private:
  // Runs the layers and the final norm on x [B, L, w] whose first position is `start`;
  // keys/values as in the layer.
  at::Tensor run_layers(at::Tensor x, nn::DeltaSites* sites, std::vector<at::Tensor>& keys,
                        std::vector<at::Tensor>& values, int64_t start);
  // The sites' per-layer prefixes as [B, Hkv, P, d] (undefined where none); P in *length.
  void prefixes(nn::DeltaSites* sites, int64_t batch, std::vector<at::Tensor>& keys,
                std::vector<at::Tensor>& values, int64_t* length);

  LlamaConfig config_;
};
TORCH_MODULE(LlamaModel);

}  // namespace vlprompt::models::llama
