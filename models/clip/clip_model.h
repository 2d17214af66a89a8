// CLIP: an image tower (ViT or ModifiedResNet) and a causal text tower projected into one
// embedding space. Weights are frozen; deltas reach the towers only through nn::DeltaSites.
// Parameter and buffer names are OpenAI's state-dict names ("visual.transformer.resblocks.0.
// attn.in_proj_weight", "token_embedding.weight", ...), the canonical naming every loader maps to.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "models/clip/modified_resnet.h"
#include "models/clip/vision_transformer.h"
#include "models/clip_config.h"
#include "src/core/safetensors.h"
#include "src/nn/delta_sites.h"
#include "src/nn/transformer.h"

namespace vlprompt::models {

// The positions encode_text runs through the text tower.
enum class TextPositions {
  kSharedPrefix,  // to the longest end-of-text; a prefix the rows share computed once
  kTruncated,     // to the longest end-of-text, every row in full
  kFull,          // all context_length positions
};

class ClipImpl : public torch::nn::Module {
 public:
  explicit ClipImpl(const ClipConfig& config);

  // pixels [B, 3, R, R], CLIP-normalized float -> [B, embed_dim], not normalized (encode_image).
  // ViT: `sites` sees the tokens (input_tokens after the positional embedding, then the
  // transformer's layer sites). A ModifiedResNet has no token sequence and ignores `sites`.
  at::Tensor encode_image(const at::Tensor& pixels, nn::DeltaSites* sites = nullptr);

  // token ids [B, context_length] int64 (SOT ... EOT, zero padded) -> [B, embed_dim], not
  // normalized. A causal tower's feature at end-of-text sees nothing after it, so by default it
  // runs only up to the longest end-of-text + 1, and the leading positions its rows share (the
  // sites' SharedPrefix, checked against the ids) once per group of rows; `positions` asks for
  // less (tests and benchmarks). All three are the same features and gradients.
  // `sites`: input_tokens(embeddings, ids) before the positional embedding; the feature is read
  // at argmax(ids) + inserted_tokens(); then the transformer's layer sites.
  at::Tensor encode_text(const at::Tensor& ids, nn::DeltaSites* sites = nullptr,
                         TextPositions positions = TextPositions::kSharedPrefix);

  // Token embeddings [B, L] -> [B, L, text_width] (CoOp initialises context from words).
  at::Tensor embed_tokens(const at::Tensor& ids);

  // exp(logit_scale) * normalize(image) @ normalize(text).T -> [N_image, N_text].
  at::Tensor logits(const at::Tensor& image_features, const at::Tensor& text_features);
  // Each image against its own class texts (prompts conditioned on the image): image [N, D],
  // text [N, C, D] -> [N, C].
  at::Tensor paired_logits(const at::Tensor& image_features, const at::Tensor& text_features);

  // Copies every parameter and buffer from `weights` (canonical names). A missing, unexpected or
  // mis-shaped tensor throws FileError naming `source` and the tensor. Freezes all parameters.
  void load_weights(const core::TensorMap& weights, const std::string& source);

  // All parameters and buffers under canonical names (what converters write).
  core::TensorMap weights() const;

  // Content hash of the weights; delta files record it to refuse other backbones.
  const std::string& fingerprint() const { return fingerprint_; }
  const ClipConfig& config() const { return config_; }

 private:
  ClipConfig config_;
  std::string fingerprint_;
  // Submodules are registered under OpenAI's names ("visual", "transformer", "token_embedding",
  // "ln_final"; tensors "positional_embedding", "text_projection", "logit_scale").
  VisionTransformer vit_{nullptr};  // "visual" when config.vision.type == "vit"
  ModifiedResNet resnet_{nullptr};  // "visual" when "modified_resnet"
  nn::Transformer transformer_{nullptr};
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::LayerNorm ln_final_{nullptr};
  at::Tensor positional_embedding_;  // [context_length, text width]
  at::Tensor text_projection_;       // [text width, embed_dim]
  at::Tensor logit_scale_;           // scalar, log of the softmax temperature's inverse
};
TORCH_MODULE(Clip);

// The device the model's weights are on (where its inputs must be).
at::Device weights_device(const Clip& clip);

}  // namespace vlprompt::models
