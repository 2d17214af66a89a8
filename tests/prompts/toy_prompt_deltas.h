// Two toy deltas for the generic prompted-CLIP method, registered like real ones (their .cpp
// registers them in the test binary only):
//   toy_image_shift  a learned vector added to every image token before ln_pre: an image-side
//                    site, so the method must see images in the loop;
//   toy_conditional  adds W @ (the row's image feature) to every text token: a prompt conditioned
//                    on the image, as CoCoOp's meta-net is, through the site context.
#pragma once

#include <ATen/ATen.h>

#include "models/clip/clip_model.h"
#include "src/delta/delta.h"

namespace vlprompt::testing {

class ToyImageShiftImpl : public delta::Delta, public nn::DeltaSites {
 public:
  explicit ToyImageShiftImpl(int64_t width) : Delta("toy_image_shift"), width_(width) {
    shift = register_parameter("shift", at::zeros({width}));
  }
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext&) override {
    return tower == delta::Tower::kImage ? this : nullptr;
  }
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kImage; }
  std::map<std::string, std::string> hyperparameters() const override {
    return {{"width", std::to_string(width_)}};
  }
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    return tokens + shift.to(tokens.scalar_type());
  }
  at::Tensor shift;

 private:
  int64_t width_;
};
TORCH_MODULE(ToyImageShift);

class ToyConditionalImpl : public delta::Delta,
                           public delta::ImageConditioned,
                           public nn::DeltaSites {
 public:
  ToyConditionalImpl(int64_t embed_dim, int64_t text_width) : Delta("toy_conditional") {
    weight = register_parameter("weight", at::zeros({text_width, embed_dim}));
    provide<delta::ImageConditioned>(this);
  }
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override {
    if (tower != delta::Tower::kText) return nullptr;
    context_ = &context;
    return this;
  }
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }
  std::map<std::string, std::string> hyperparameters() const override { return {}; }
  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor&) override {
    const at::Tensor image = context_->image_features.index_select(0, context_->image_rows);
    return tokens + at::matmul(image, weight.t()).unsqueeze(1).to(tokens.scalar_type());
  }
  at::Tensor weight;

 private:
  const delta::SiteContext* context_ = nullptr;
};
TORCH_MODULE(ToyConditional);

}  // namespace vlprompt::testing
