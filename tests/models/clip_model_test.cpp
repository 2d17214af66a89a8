// The CLIP module: OpenAI's tensor names, CLIP's initialisation (deterministic per seed), strict
// weight loading with errors that name the tensor, frozen parameters, and logits.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "models/clip/load_clip.h"
#include "src/core/error.h"
#include "tests/test_support.h"

namespace vlprompt::models {
namespace {

using vlprompt::testing::error_of;

at::IntArrayRef shape(const core::TensorMap& w, const std::string& name) {
  EXPECT_TRUE(w.count(name)) << name;
  return w.count(name) ? w.at(name).sizes() : at::IntArrayRef();
}

TEST(ClipModel, VitTensorNamesAreOpenAIs) {
  const core::TensorMap w = Clip(load_config("tiny"))->weights();
  EXPECT_EQ(shape(w, "visual.conv1.weight"), at::IntArrayRef({64, 3, 16, 16}));
  EXPECT_EQ(shape(w, "visual.class_embedding"), at::IntArrayRef({64}));
  EXPECT_EQ(shape(w, "visual.positional_embedding"), at::IntArrayRef({17, 64}));
  EXPECT_EQ(shape(w, "visual.transformer.resblocks.1.attn.in_proj_weight"),
            at::IntArrayRef({192, 64}));
  EXPECT_EQ(shape(w, "visual.ln_post.bias"), at::IntArrayRef({64}));
  EXPECT_EQ(shape(w, "visual.proj"), at::IntArrayRef({64, 64}));
  EXPECT_EQ(shape(w, "token_embedding.weight"), at::IntArrayRef({49408, 64}));
  EXPECT_EQ(shape(w, "positional_embedding"), at::IntArrayRef({77, 64}));
  EXPECT_EQ(shape(w, "transformer.resblocks.0.mlp.c_fc.weight"), at::IntArrayRef({256, 64}));
  EXPECT_EQ(shape(w, "ln_final.weight"), at::IntArrayRef({64}));
  EXPECT_EQ(shape(w, "text_projection"), at::IntArrayRef({64, 64}));
  EXPECT_EQ(shape(w, "logit_scale"), at::IntArrayRef({}));
  // 5 visual tensors + 2 lns x 2 + 2 blocks x 12 per tower; text: 5 + 2 x 12.
  EXPECT_EQ(w.size(), (5u + 4u + 24u) + (5u + 24u));
}

TEST(ClipModel, ResNetTensorNamesAreOpenAIs) {
  const core::TensorMap w = Clip(load_config("tiny-rn"))->weights();
  EXPECT_EQ(shape(w, "visual.conv1.weight"), at::IntArrayRef({4, 3, 3, 3}));
  EXPECT_EQ(shape(w, "visual.bn3.running_var"), at::IntArrayRef({8}));
  EXPECT_EQ(shape(w, "visual.layer1.0.conv3.weight"), at::IntArrayRef({32, 8, 1, 1}));
  EXPECT_EQ(shape(w, "visual.layer1.0.downsample.0.weight"), at::IntArrayRef({32, 8, 1, 1}));
  EXPECT_EQ(shape(w, "visual.layer2.0.conv2.weight"), at::IntArrayRef({16, 16, 3, 3}));
  EXPECT_EQ(shape(w, "visual.layer4.0.downsample.1.running_mean"), at::IntArrayRef({256}));
  EXPECT_EQ(shape(w, "visual.attnpool.positional_embedding"), at::IntArrayRef({5, 256}));
  EXPECT_EQ(shape(w, "visual.attnpool.q_proj.weight"), at::IntArrayRef({256, 256}));
  EXPECT_EQ(shape(w, "visual.attnpool.c_proj.weight"), at::IntArrayRef({64, 256}));
  EXPECT_EQ(shape(w, "visual.attnpool.c_proj.bias"), at::IntArrayRef({64}));
  EXPECT_FALSE(w.count("visual.layer2.1.conv1.weight"));  // one block per stage
}

TEST(ClipModel, InitIsDeterministicPerSeed) {
  Clip a = init_clip(load_config("tiny"), 7), b = init_clip(load_config("tiny"), 7);
  Clip c = init_clip(load_config("tiny"), 8);
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  EXPECT_NE(a->fingerprint(), c->fingerprint());
  const core::TensorMap wa = a->weights(), wb = b->weights();
  for (const auto& [name, t] : wa) EXPECT_TRUE(at::equal(t, wb.at(name))) << name;
  EXPECT_EQ(a->fingerprint().rfind("sha256:", 0), 0u);
  EXPECT_EQ(a->fingerprint().size(), 7u + 64u);
}

TEST(ClipModel, InitFollowsCLIPScheme) {
  const core::TensorMap w = init_clip(load_config("tiny"), 1)->weights();
  EXPECT_NEAR(w.at("logit_scale").item<double>(), std::log(1.0 / 0.07), 1e-6);
  EXPECT_NEAR(w.at("token_embedding.weight").std().item<double>(), 0.02, 0.0005);
  EXPECT_NEAR(w.at("positional_embedding").std().item<double>(), 0.01, 0.0005);
  // Text attention std width^-0.5, projection std width^-0.5 * (2 layers)^-0.5.
  EXPECT_NEAR(w.at("transformer.resblocks.0.attn.in_proj_weight").std().item<double>(), 0.125,
              0.005);
  EXPECT_NEAR(w.at("transformer.resblocks.1.mlp.c_proj.weight").std().item<double>(), 0.0625,
              0.003);
  EXPECT_TRUE(at::equal(w.at("ln_final.weight"), at::ones({64})));
  EXPECT_TRUE(
      at::equal(w.at("visual.transformer.resblocks.0.attn.in_proj_bias"), at::zeros({192})));

  const core::TensorMap rn = init_clip(load_config("tiny-rn"), 1)->weights();
  // CLIP zero-inits each Bottleneck's last norm, not the stem's.
  EXPECT_TRUE(at::equal(rn.at("visual.layer3.0.bn3.weight"), at::zeros({128})));
  EXPECT_TRUE(at::equal(rn.at("visual.bn3.weight"), at::ones({8})));
  EXPECT_TRUE(at::equal(rn.at("visual.layer1.0.bn1.running_var"), at::ones({8})));
  EXPECT_NEAR(rn.at("visual.attnpool.k_proj.weight").std().item<double>(), 1.0 / 16.0, 0.002);
}

TEST(ClipModel, FrozenAndInEvalMode) {
  Clip clip = init_clip(load_config("tiny-rn"), 0);
  EXPECT_FALSE(clip->is_training());
  for (const auto& p : clip->parameters()) EXPECT_FALSE(p.requires_grad());
  // Batch norms use running statistics even if a caller switches to training mode.
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  const at::Tensor before = clip->encode_image(pixels);
  clip->train();
  EXPECT_TRUE(at::equal(clip->encode_image(pixels), before));
}

TEST(ClipModel, LoadWeightsRoundTrip) {
  Clip source = init_clip(load_config("tiny"), 3);
  Clip target(load_config("tiny"));
  core::TensorMap w = source->weights();
  w["input_resolution"] = at::scalar_tensor(64);  // OpenAI's description entries are ignored
  w["context_length"] = at::scalar_tensor(77);
  w["vocab_size"] = at::scalar_tensor(49408);
  target->load_weights(w, "copy.safetensors");
  EXPECT_EQ(target->fingerprint(), source->fingerprint());
  const at::Tensor pixels = at::randn({1, 3, 64, 64});
  EXPECT_TRUE(at::equal(target->encode_image(pixels), source->encode_image(pixels)));
}

TEST(ClipModel, LoadWeightsNamesMissingTensor) {
  core::TensorMap w = init_clip(load_config("tiny"), 0)->weights();
  w.erase("visual.proj");
  Clip clip(load_config("tiny"));
  const std::string e = error_of([&] { clip->load_weights(w, "model.pt"); });
  EXPECT_EQ(e, "model.pt: tensor 'visual.proj': missing, expected shape [64, 64]");
}

TEST(ClipModel, LoadWeightsNamesMisShapedAndUnexpectedTensors) {
  core::TensorMap w = init_clip(load_config("tiny"), 0)->weights();
  w["ln_final.weight"] = at::ones({65});
  w["visual.extra"] = at::ones({2});
  Clip clip(load_config("tiny"));
  const std::string e = error_of([&] { clip->load_weights(w, "model.pt"); });
  EXPECT_NE(e.find("model.pt: tensor 'ln_final.weight': shape [65] in the file, the tiny "
                   "architecture expects [64]"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("(and 1 more: tensor 'visual.extra': unexpected"), std::string::npos) << e;
  // Nothing was copied: the model keeps its weights when loading fails.
  EXPECT_TRUE(at::equal(clip->weights().at("ln_final.weight"), at::ones({64})));
}

TEST(ClipModel, LogitsAreScaledCosines) {
  Clip clip = init_clip(load_config("tiny"), 0);
  const at::Tensor image = at::randn({3, 64}), text = at::randn({2, 64});
  const at::Tensor logits = clip->logits(image, text);
  const double cos01 =
      (at::dot(image[0], text[1]) / (image[0].norm() * text[1].norm())).item<double>();
  EXPECT_EQ(logits.sizes(), at::IntArrayRef({3, 2}));
  EXPECT_NEAR(logits[0][1].item<double>(), cos01 / 0.07, 1e-4);
}

TEST(ClipModel, EncodeTextChecksItsInput) {
  Clip clip = init_clip(load_config("tiny"), 0);
  EXPECT_NE(error_of([&] {
              clip->encode_text(at::zeros({2, 78}, at::kLong));
            }).find("expected token ids [B, L <= 77], got [2, 78]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              clip->encode_image(at::zeros({1, 3, 32, 32}));
            }).find("expected pixels [B, 3, 64, 64], got [1, 3, 32, 32]"),
            std::string::npos);
}

TEST(LoadClip, ConfigNameGivesSeededRandomModelSaidPlainly) {
  const LoadedClip clip = load_clip("tiny", 3);
  EXPECT_EQ(clip.source, "config:tiny (random init, seed 3 \xE2\x80\x94 not pretrained)");
  EXPECT_EQ(clip.format, "init");
  EXPECT_EQ(clip.vocab, "");
  EXPECT_EQ(clip.model->fingerprint(), init_clip(load_config("tiny"), 3)->fingerprint());
}

TEST(LoadClip, MissingFileAndUnknownNameAreErrors) {
  const std::string file = error_of([] { load_clip("no/such/model.pt"); });
  EXPECT_NE(file.find("no/such/model.pt: no such model file or folder"), std::string::npos) << file;
  const std::string name = error_of([] { load_clip("tinyy"); });
  EXPECT_NE(name.find("did you mean 'tiny'"), std::string::npos) << name;
}

}  // namespace
}  // namespace vlprompt::models
