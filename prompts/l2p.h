// L2P, Learning to Prompt (Wang et al., CVPR 2022), on CLIP's image tower: a pool of prompts,
// each with a learned key. Every image chooses top_k prompts by matching its query, the frozen
// tower's image feature from a prompt-free pass (delta::ImageQuery), against the keys
// (prompts/l2p_pool.h); while training the batch votes and every image takes the batch's choice.
// The chosen prompts follow the class token, each at the class token's position (the L2P code
// gives prompts a copy of the pretrained class position embedding), and the image feature is the
// mean of the final norm over the prompt positions, projected as CLIP projects its class token.
// A pull term, -pull_constraint * reduce_sim, draws the chosen keys towards their queries.
//
// Where this differs from the L2P code, and why: the query is CLIP's image feature (the projected
// class token) rather than a ViT's pre-logits, and the linear head reads the projected feature,
// so that `head: text` (the frozen hand-written prompts) classifies the same feature; at
// evaluation each image chooses its own prompts, because the code's batch vote over a test batch
// drawn from one task leaks which task the batch is from (google-research/l2p issue 28).
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"

namespace vlprompt::prompts {

struct L2pOptions {
  /// L2p l2p(L2pOptions().pool_size(10).length(5).top_k(5), clip, classnames);
  TORCH_ARG(int64_t, pool_size) = 10;
  TORCH_ARG(int64_t, length) = 5;
  TORCH_ARG(int64_t, top_k) = 5;
  TORCH_ARG(double, pull_constraint) = 0.1;
  // Training: the batch's majority choice for every image (the code's batchwise_prompt).
  TORCH_ARG(bool, batchwise_prompt) = true;
  // "linear": L2P's linear head; "text": the frozen hand-written prompts of the classes.
  TORCH_ARG(std::string, head) = "linear";
  // "prompt": the mean over the prompt positions (the L2P code's head_type 'prompt');
  // "token": the class token, as CLIP reads it (the code's head_type 'token').
  TORCH_ARG(std::string, readout) = "prompt";
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("pool_size", pool_size_, "prompts in the pool, each with a key");
    v("length", length_, "tokens per prompt");
    v("top_k", top_k_, "prompts each image takes (top_k * length tokens follow the class token)");
    v("pull_constraint", pull_constraint_,
      "weight of the key-query pull term subtracted from the loss");
    v("batchwise_prompt", batchwise_prompt_,
      "training: every image takes the batch's majority choice (evaluation: its own)");
    v("head", head_, "classifier: linear (L2P) | text (frozen hand-written prompts)");
    v("readout", readout_,
      "image feature: prompt (mean over the prompt positions, L2P) | token (the class token)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class L2pImageSites;

class L2pImpl : public delta::Delta,
                public delta::ClassHead,
                public delta::LossTerm,
                public delta::ImageQuery {
 public:
  L2pImpl(L2pOptions options, const models::Clip& clip,
          const std::vector<std::string>& classnames = {});
  ~L2pImpl() override;

  // The image sites, given the batch's queries in context.image_features.
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kImage; }
  at::Tensor head_logits(const at::Tensor& image_features) override;
  // -pull_constraint * reduce_sim of the last training forward; undefined otherwise.
  at::Tensor loss_term(const delta::LossContext& context) override;
  void set_classnames(const std::vector<std::string>& classnames) override;
  std::map<std::string, std::string> hyperparameters() const override;
  // "prompt_share_<i>": the share of images that took prompt i since the last call (training).
  std::map<std::string, double> epoch_metrics() override;
  const L2pOptions& options() const { return options_; }

  at::Tensor prompt;      // [pool_size, length, width], U(-1, 1) as the L2P code starts it
  at::Tensor prompt_key;  // [pool_size, embed_dim], U(-1, 1)
  torch::nn::Linear head{nullptr};  // [embed_dim -> C] with head: linear

 private:
  friend class L2pImageSites;
  L2pOptions options_;
  std::vector<std::string> classnames_;
  at::Tensor class_position_;  // [width]: the class token's positional embedding (frozen)
  std::unique_ptr<L2pImageSites> image_sites_;
  at::Tensor last_reduce_sim_;
  at::Tensor usage_;  // [pool_size] int64, images per prompt since the last epoch_metrics
};
TORCH_MODULE(L2p);

}  // namespace vlprompt::prompts
