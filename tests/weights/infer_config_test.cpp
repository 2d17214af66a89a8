// Architecture inference from tensor shapes (OpenAI's build_model rules).
#include "models/weights/canonical_layout.h"
#include "models/weights/weights.h"
#include "tests/weights/weights_test_support.h"

namespace vlprompt::models::weights {
namespace {

using testing::error_of;

TEST(InferConfig, ReferenceTinyVit) {
  VLP_REQUIRE_SHARED(testing::kTinyVitPt);
  const ClipConfig c =
      infer_config(read_weights(testing::shared_path(testing::kTinyVitPt)).tensors);
  EXPECT_EQ(c.embed_dim, 64);
  EXPECT_EQ(c.vision.type, "vit");
  EXPECT_EQ(c.vision.image_resolution, 64);
  EXPECT_EQ(c.vision.patch_size, 16);
  EXPECT_EQ(c.vision.width, 64);
  EXPECT_EQ(c.vision.layers, 2);
  EXPECT_EQ(c.vision.heads, 1);
  EXPECT_EQ(c.text.width, 64);
  EXPECT_EQ(c.text.heads, 1);
  EXPECT_EQ(c.text.layers, 2);
  EXPECT_EQ(c.text.context_length, 77);
  EXPECT_EQ(c.text.vocab_size, 49408);
}

TEST(InferConfig, ModifiedResNetFixture) {
  VLP_REQUIRE_FIXTURE("tiny_rn.pt");
  const ClipConfig c = infer_config(read_weights(testing::clip_fixture("tiny_rn.pt")).tensors);
  EXPECT_EQ(c.vision.type, "modified_resnet");
  EXPECT_EQ(c.vision.resnet_layers, (std::vector<int64_t>{1, 2, 1, 1}));
  EXPECT_EQ(c.vision.width, 16);
  EXPECT_EQ(c.vision.heads, 8);  // width * 32 / 64
  EXPECT_EQ(c.vision.image_resolution, 64);
  EXPECT_EQ(c.embed_dim, 32);
  EXPECT_EQ(c.text.width, 64);
  EXPECT_EQ(c.text.heads, 1);
  EXPECT_EQ(c.text.layers, 2);
}

TEST(InferConfig, SecondViTFixture) {
  VLP_REQUIRE_FIXTURE("tiny_vit48.pt");
  const ClipConfig c = infer_config(read_weights(testing::clip_fixture("tiny_vit48.pt")).tensors);
  EXPECT_EQ(c.vision.type, "vit");
  EXPECT_EQ(c.vision.image_resolution, 48);
  EXPECT_EQ(c.vision.patch_size, 8);
  EXPECT_EQ(c.vision.width, 128);
  EXPECT_EQ(c.vision.heads, 2);
  EXPECT_EQ(c.vision.layers, 3);
  EXPECT_EQ(c.embed_dim, 96);
  EXPECT_EQ(c.text.width, 128);
  EXPECT_EQ(c.text.heads, 2);
  EXPECT_EQ(c.text.layers, 2);
}

TEST(InferConfig, MissingRequiredTensorIsNamed) {
  core::TensorMap t = read_weights(testing::clip_fixture("tiny_vit48.pt")).tensors;
  t.erase("ln_final.weight");
  const std::string msg = error_of([&] { infer_config(t, "model.pt"); });
  EXPECT_CONTAINS(msg, "model.pt");
  EXPECT_CONTAINS(msg, "'ln_final.weight'");
}

TEST(InferConfig, ResNetWithoutAttentionPoolIsNamed) {
  core::TensorMap t;
  t["visual.layer1.0.conv1.weight"] = at::zeros({16, 16, 1, 1});
  const std::string msg = error_of([&] { infer_config(t, "rn.pt"); });
  EXPECT_CONTAINS(msg, "'visual.attnpool.positional_embedding'");
}

TEST(CanonicalLayout, IncompleteCheckpointIsNamedWhenChecked) {
  core::TensorMap t = read_weights(testing::clip_fixture("tiny_vit48.pt")).tensors;
  const ClipConfig c = infer_config(t);
  t.erase("visual.transformer.resblocks.1.mlp.c_fc.bias");
  const std::string msg = error_of([&] { check_tensors(t, c, "x.pt"); });
  EXPECT_CONTAINS(msg, "x.pt: missing tensor 'visual.transformer.resblocks.1.mlp.c_fc.bias'");
}

TEST(Formats, NamesRoundTripAndDestinationDefaults) {
  for (Format f : {Format::kOpenAIPt, Format::kHuggingFace, Format::kVlprompt})
    EXPECT_EQ(parse_format(format_name(f)), f);
  const std::string msg = error_of([] { parse_format("onnx"); });
  EXPECT_CONTAINS(msg, "'onnx'");
  EXPECT_CONTAINS(msg, "openai-pt, hf or vlprompt");
  EXPECT_EQ(format_for_destination("a/b.pt"), Format::kOpenAIPt);
  EXPECT_EQ(format_for_destination("a/b.safetensors"), Format::kVlprompt);
  EXPECT_EQ(format_for_destination("a/clip-hf"), Format::kHuggingFace);
}

}  // namespace
}  // namespace vlprompt::models::weights
