#include "models/clip/clip_model.h"

#include <algorithm>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "src/core/hash.h"
#include "src/core/strings.h"
#include "src/nn/autograd_records.h"
#include "src/nn/delta_linear.h"
#include "src/nn/shared_prefix.h"

namespace vlprompt::models {
namespace {
using core::ends_with;

// Top-level entries of OpenAI's state dict that describe the model rather than weigh it.
bool is_description_entry(const std::string& name) {
  return name == "input_resolution" || name == "context_length" || name == "vocab_size";
}

// BatchNorm's training counter: never read in eval, and not every exporter writes it.
bool is_optional_entry(const std::string& name) { return ends_with(name, ".num_batches_tracked"); }

std::string shape_of(const at::Tensor& t) { return c10::str(t.sizes()); }

}  // namespace

ClipImpl::ClipImpl(const ClipConfig& config) : config_(config) {
  const VisionConfig& vision = config.vision;
  const TextConfig& text = config.text;
  if (vision.type == "vit") {
    vit_ = register_module("visual", VisionTransformer(vision, config.embed_dim));
  } else if (vision.type == "modified_resnet") {
    resnet_ = register_module("visual", ModifiedResNet(vision, config.embed_dim));
  } else {
    throw Error("model '" + config.name + "': vision type '" + vision.type +
                "' is not one of: vit, modified_resnet");
  }
  transformer_ = register_module(
      "transformer",
      nn::Transformer(nn::TransformerOptions(text.width, text.layers, text.heads).causal(true)));
  token_embedding_ =
      register_module("token_embedding", torch::nn::Embedding(text.vocab_size, text.width));
  ln_final_ = register_module(
      "ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({text.width}).eps(1e-5)));
  positional_embedding_ =
      register_parameter("positional_embedding", at::zeros({text.context_length, text.width}));
  text_projection_ =
      register_parameter("text_projection", at::zeros({text.width, config.embed_dim}));
  logit_scale_ = register_parameter("logit_scale", at::zeros({}));
  for (auto& p : parameters()) p.requires_grad_(false);
  eval();
}

at::Tensor ClipImpl::encode_image(const at::Tensor& pixels, nn::DeltaSites* sites) {
  // Inference in chunks of 16 images: past that the activations ([B * tokens, 4 * width]) leave
  // the caches and the memory-bound steps (bias, layer norm, activation) take over; ViT-B/16 ran
  // at 2.3 img/s in batches of 64 against 4.6 in batches of 8-32 (bench image-tower --batch).
  constexpr int64_t kChunk = 16;
  if (sites == nullptr && !nn::autograd_records({pixels}) && pixels.dim() == 4 &&
      pixels.size(0) > kChunk) {
    std::vector<at::Tensor> parts;
    for (const at::Tensor& chunk : pixels.split(kChunk)) parts.push_back(encode_image(chunk));
    return at::cat(parts);
  }
  if (resnet_) {
    // The convolutional tower has no token sequence: an image-side delta cannot act on it, and
    // running without it would report a prompted model that was never prompted.
    if (sites) {
      throw Error(
          "image-side delta sites (visual prompts) need a ViT image tower; this backbone's "
          "image tower is a ModifiedResNet (" +
          config_.name + ")");
    }
    return resnet_->forward(pixels);
  }
  return vit_->forward(pixels, sites);
}

at::Tensor ClipImpl::embed_tokens(const at::Tensor& ids) {
  if (ids.scalar_type() != at::kLong) {
    if (at::isFloatingType(ids.scalar_type())) {
      throw Error("token ids: expected an integer tensor, got " +
                  std::string(c10::toString(ids.scalar_type())));
    }
    return at::embedding(token_embedding_->weight, ids.to(at::kLong));
  }
  return at::embedding(token_embedding_->weight, ids);
}

at::Tensor ClipImpl::encode_text(const at::Tensor& ids_in, nn::DeltaSites* sites,
                                 TextPositions positions) {
  const int64_t context = config_.text.context_length;
  if (ids_in.dim() != 2 || ids_in.size(0) == 0 || ids_in.size(1) > context) {
    throw Error("encode_text: expected token ids [B, L <= " + std::to_string(context) + "], got " +
                c10::str(ids_in.sizes()));
  }
  const at::Tensor ids = ids_in.to(at::kLong);
  const int64_t batch = ids.size(0);
  at::Tensor x =
      sites
          ? at::embedding(
                nn::tower_tensor_or(sites, "token_embedding.weight", token_embedding_->weight), ids)
          : embed_tokens(ids);
  if (sites) x = sites->input_tokens(x, ids);
  // End-of-text has the largest id in CLIP's vocabulary; insertions before it shift it right.
  const int64_t inserted = sites ? sites->inserted_tokens() : 0;
  const at::Tensor eot = ids.argmax(-1) + inserted;
  // The ids line up with the positions only when nothing was inserted.
  nn::SharedPrefix declared;
  if (positions == TextPositions::kSharedPrefix && inserted == 0) {
    declared = sites ? sites->shared_prefix() : nn::SharedPrefix{nn::SharedPrefix::kUnlimited, {}};
  }
  const nn::SharedPrefixPlan plan = nn::plan_shared_prefix(ids, eot, declared);
  const int64_t available = std::min<int64_t>(x.size(1), context);
  if (plan.last_end >= available) {
    throw Error("encode_text: end-of-text token at position " + std::to_string(plan.last_end) +
                " but the sequence has " + std::to_string(available) +
                " positions (context_length " + std::to_string(context) + ")");
  }
  // Causal attention: positions after a sequence's end-of-text never reach its feature.
  const int64_t length = positions == TextPositions::kFull ? available : plan.last_end + 1;
  x = x.narrow(1, 0, length) +
      nn::tower_tensor_or(sites, "positional_embedding", positional_embedding_)
          .narrow(0, 0, length);
  at::Tensor features;
  if (plan.length > 0) {
    // Each row's own positions run to its end-of-text, its feature is the last of them.
    const at::Tensor prefix = x.index_select(0, plan.representatives).narrow(1, 0, plan.length);
    features =
        transformer_->forward_shared_prefix(prefix, x.narrow(1, plan.length, length - plan.length),
                                            eot + 1 - plan.length, plan.groups, sites);
  } else {
    x = transformer_->forward(x, sites);
    const int64_t width = x.size(2);
    features = x.gather(1, eot.view({batch, 1, 1}).expand({batch, 1, width})).squeeze(1);
  }
  // ln_final is per token, so applying it to the gathered tokens only is the same.
  const auto final_norm = nn::norm_delta(sites, -1, nn::NormSite::kFinal);
  const at::Tensor normed = final_norm ? nn::apply_layer_norm(features, ln_final_->weight,
                                                              ln_final_->bias, 1e-5, final_norm)
                                       : ln_final_->forward(features);
  return at::matmul(normed, nn::tower_tensor_or(sites, "text_projection", text_projection_));
}

at::Tensor ClipImpl::logits(const at::Tensor& image_features, const at::Tensor& text_features) {
  const at::Tensor image = image_features / image_features.norm(2, -1, /*keepdim=*/true);
  const at::Tensor text = text_features / text_features.norm(2, -1, /*keepdim=*/true);
  return logit_scale_.exp() * at::matmul(image, text.t());
}

at::Tensor ClipImpl::paired_logits(const at::Tensor& image_features,
                                   const at::Tensor& text_features) {
  const at::Tensor image = image_features / image_features.norm(2, -1, /*keepdim=*/true);
  const at::Tensor text = text_features / text_features.norm(2, -1, /*keepdim=*/true);
  return logit_scale_.exp() * at::bmm(text, image.unsqueeze(-1)).squeeze(-1);
}

core::TensorMap ClipImpl::weights() const {
  core::TensorMap out;
  for (const auto& p : named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}

void ClipImpl::load_weights(const core::TensorMap& weights, const std::string& source) {
  const core::TensorMap expected = this->weights();
  std::vector<std::string> problems;
  for (const auto& [name, target] : expected) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      if (!is_optional_entry(name)) {
        problems.push_back("tensor '" + name + "': missing, expected shape " + shape_of(target));
      }
    } else if (it->second.sizes() != target.sizes()) {
      problems.push_back("tensor '" + name + "': shape " + shape_of(it->second) +
                         " in the file, the " + config_.name + " architecture expects " +
                         shape_of(target));
    }
  }
  for (const auto& [name, tensor] : weights) {
    if (!expected.count(name) && !is_description_entry(name)) {
      problems.push_back("tensor '" + name + "': unexpected, shape " + shape_of(tensor) + " (the " +
                         config_.name + " architecture has no such tensor)");
    }
  }
  if (!problems.empty()) {
    std::string message = problems.front();
    if (problems.size() > 1) {
      message += " (and " + std::to_string(problems.size() - 1) + " more:";
      const size_t shown = std::min<size_t>(problems.size(), 6);
      for (size_t i = 1; i < shown; ++i) message += " " + problems[i] + ";";
      if (problems.size() > shown) message += " ...";
      message += ")";
    }
    throw FileError(source, message);
  }
  {
    at::NoGradGuard no_grad;
    for (const auto& [name, target] : expected) {
      auto it = weights.find(name);
      if (it != weights.end()) target.copy_(it->second);
    }
  }
  for (auto& p : parameters()) p.requires_grad_(false);
  eval();
  fingerprint_ = core::fingerprint(this->weights());
}

at::Device weights_device(const Clip& clip) { return clip->parameters().front().device(); }

}  // namespace vlprompt::models
