// Every format to every other: reference tiny_vit.pt -> vlprompt -> HF -> .pt gives identical
// tensors at each step; the ModifiedResNet fixture survives .pt -> vlprompt -> .pt.
#include "models/weights/weights.h"
#include "src/core/hash.h"
#include "tests/weights/weights_test_support.h"

namespace vlprompt::models::weights {
namespace {

TEST(RoundTrip, ViTThroughEveryFormat) {
  VLP_REQUIRE_SHARED(testing::kTinyVitPt);
  const std::string dir = testing::scratch_dir("round_trip");
  const LoadedWeights pt = read_weights(testing::shared_path(testing::kTinyVitPt));
  const ClipConfig config = infer_config(pt.tensors);

  write_weights(dir + "/tiny.safetensors", Format::kVlprompt, pt.tensors, config);
  const LoadedWeights vlp = read_weights(dir + "/tiny.safetensors");
  testing::expect_identical(pt.tensors, vlp.tensors);

  write_weights(dir + "/tiny_hf", Format::kHuggingFace, vlp.tensors, *vlp.config);
  const LoadedWeights hf = read_weights(dir + "/tiny_hf");
  EXPECT_EQ(hf.format, Format::kHuggingFace);
  testing::expect_identical(pt.tensors, hf.tensors);
  EXPECT_EQ(hf.config->text.heads, config.text.heads);
  EXPECT_EQ(hf.config->vision.image_resolution, 64);

  write_weights(dir + "/tiny_again.pt", Format::kOpenAIPt, hf.tensors, *hf.config);
  const LoadedWeights back = read_weights(dir + "/tiny_again.pt");
  EXPECT_EQ(back.format, Format::kOpenAIPt);
  testing::expect_identical(pt.tensors, back.tensors);
  EXPECT_EQ(core::fingerprint(back.tensors), core::fingerprint(pt.tensors));
}

TEST(RoundTrip, HfWrittenFolderMatchesPythonLayout) {
  VLP_REQUIRE_SHARED(testing::kTinyVitPt);
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/model.safetensors");
  const std::string dir = testing::scratch_dir("round_trip") + "/hf_layout";
  const LoadedWeights pt = read_weights(testing::shared_path(testing::kTinyVitPt));
  write_weights(dir, Format::kHuggingFace, pt.tensors, infer_config(pt.tensors));
  // Same HF names and bytes as the Python mapping (an independent implementation).
  const core::TensorMap ours = core::read_safetensors(dir + "/model.safetensors").tensors;
  const core::TensorMap python =
      core::read_safetensors(testing::clip_fixture("tiny_vit_hf/model.safetensors")).tensors;
  testing::expect_identical(python, ours);
}

TEST(RoundTrip, ModifiedResNetThroughPtAndVlprompt) {
  VLP_REQUIRE_FIXTURE("tiny_rn.pt");
  const std::string dir = testing::scratch_dir("round_trip");
  const LoadedWeights pt = read_weights(testing::clip_fixture("tiny_rn.pt"));
  const ClipConfig config = infer_config(pt.tensors);
  write_weights(dir + "/rn.safetensors", Format::kVlprompt, pt.tensors, config);
  const LoadedWeights vlp = read_weights(dir + "/rn.safetensors");
  testing::expect_identical(pt.tensors, vlp.tensors);
  EXPECT_EQ(vlp.config->vision.resnet_layers, (std::vector<int64_t>{1, 2, 1, 1}));
  write_weights(dir + "/rn_again.pt", Format::kOpenAIPt, vlp.tensors, *vlp.config);
  testing::expect_identical(pt.tensors, read_weights(dir + "/rn_again.pt").tensors);
}

}  // namespace
}  // namespace vlprompt::models::weights
