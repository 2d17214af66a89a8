// Hugging Face CLIP folders: the Python-made layout of the reference tiny ViT loads to exactly
// its tensors; bad configs and tensor sets are refused naming the file and the tensor/key.
#include <nlohmann/json.hpp>

#include "models/weights/hf_config.h"
#include "models/weights/weights.h"
#include "src/core/file_io.h"
#include "tests/weights/weights_test_support.h"

namespace vlprompt::models::weights {
namespace {

using testing::clip_fixture;
using testing::error_of;
using json = nlohmann::json;

// A copy of the Python-made HF folder under scratch/<name>, with `edit` applied to its config
// and `tensors` (HF names) written as its model.safetensors.
std::string hf_copy(const std::string& name, const std::function<void(json&)>& edit,
                    const std::function<void(core::TensorMap&)>& edit_tensors) {
  const std::string dir = testing::scratch_dir("hf/" + name);
  json config = json::parse(core::read_file(clip_fixture("tiny_vit_hf/config.json")));
  if (edit) edit(config);
  core::atomic_write(dir + "/config.json", config.dump(2));
  if (edit_tensors) {
    core::TensorFile f = core::read_safetensors(clip_fixture("tiny_vit_hf/model.safetensors"));
    edit_tensors(f.tensors);
    core::write_safetensors(dir + "/model.safetensors", f.tensors);
  } else {
    core::atomic_write(dir + "/model.safetensors",
                       core::read_file(clip_fixture("tiny_vit_hf/model.safetensors")));
  }
  return dir;
}

TEST(HfClip, PythonMadeFolderLoadsToExactlyTheReferenceTensors) {
  VLP_REQUIRE_SHARED(testing::kTinyVitPt);
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/config.json");
  const LoadedWeights hf = read_weights(clip_fixture("tiny_vit_hf"));
  const LoadedWeights pt = read_weights(testing::shared_path(testing::kTinyVitPt));
  EXPECT_EQ(hf.format, Format::kHuggingFace);
  testing::expect_identical(pt.tensors, hf.tensors);
  ASSERT_TRUE(hf.config.has_value());
  EXPECT_EQ(hf.config->vision.heads, 1);
  EXPECT_EQ(hf.config->vision.patch_size, 16);
  EXPECT_EQ(hf.config->vision.image_resolution, 64);
  EXPECT_EQ(hf.config->embed_dim, 64);
  EXPECT_EQ(hf.config->text.layers, 2);
  EXPECT_EQ(hf.vocab, "");
}

TEST(HfClip, VocabJsonBesideIsReported) {
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/config.json");
  const std::string dir = hf_copy("with_vocab", nullptr, nullptr);
  core::atomic_write(dir + "/vocab.json", "{}");
  EXPECT_EQ(read_weights(dir).vocab, dir + "/vocab.json");
}

TEST(HfClip, HiddenActOtherThanQuickGeluIsRefusedNamingTheValue) {
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/config.json");
  const std::string dir = hf_copy(
      "gelu", [](json& c) { c["vision_config"]["hidden_act"] = "gelu"; }, nullptr);
  const std::string msg = error_of([&] { read_weights(dir); });
  EXPECT_CONTAINS(msg, dir + "/config.json");
  EXPECT_CONTAINS(msg, "'vision_config.hidden_act' is \"gelu\"");
  EXPECT_CONTAINS(msg, "quick_gelu");
}

TEST(HfClip, MissingTensorIsNamed) {
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/config.json");
  const std::string dir = hf_copy("missing", nullptr, [](core::TensorMap& t) {
    t.erase("text_model.encoder.layers.1.self_attn.k_proj.bias");
  });
  const std::string msg = error_of([&] { read_weights(dir); });
  EXPECT_CONTAINS(msg, dir + "/model.safetensors");
  EXPECT_CONTAINS(msg, "missing tensor 'text_model.encoder.layers.1.self_attn.k_proj.bias'");
}

TEST(HfClip, ConfigDisagreeingWithTensorsIsNamed) {
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/config.json");
  const std::string dir = hf_copy(
      "wide", [](json& c) { c["projection_dim"] = 32; }, nullptr);
  const std::string msg = error_of([&] { read_weights(dir); });
  EXPECT_CONTAINS(msg, dir + "/model.safetensors");
  // The first canonical tensor whose shape follows from projection_dim.
  EXPECT_CONTAINS(msg, "'text_projection.weight' has shape [64, 64]");
  EXPECT_CONTAINS(msg, "[64, 32]");
}

TEST(HfClip, UnexpectedTensorIsNamed) {
  VLP_REQUIRE_FIXTURE("tiny_vit_hf/config.json");
  const std::string dir = hf_copy("extra", nullptr, [](core::TensorMap& t) {
    t["vision_model.encoder.layers.2.mlp.fc1.weight"] = at::zeros({256, 64});
  });
  const std::string msg = error_of([&] { read_weights(dir); });
  EXPECT_CONTAINS(msg, "unexpected tensor 'vision_model.encoder.layers.2.mlp.fc1.weight'");
}

TEST(HfClip, FolderWithoutConfigIsRefused) {
  const std::string dir = testing::scratch_dir("hf/no_config");
  const std::string msg = error_of([&] { read_weights(dir); });
  EXPECT_CONTAINS(msg, dir);
  EXPECT_CONTAINS(msg, "config.json");
}

TEST(HfClip, ModifiedResNetCannotBeWrittenAsHf) {
  VLP_REQUIRE_FIXTURE("tiny_rn.pt");
  const LoadedWeights rn = read_weights(clip_fixture("tiny_rn.pt"));
  const std::string out = testing::scratch_dir("hf") + "/rn_hf";
  const std::string msg = error_of(
      [&] { write_weights(out, Format::kHuggingFace, rn.tensors, infer_config(rn.tensors)); });
  EXPECT_CONTAINS(msg, "ModifiedResNet");
  EXPECT_FALSE(std::filesystem::exists(out + "/config.json"));
}

TEST(HfClip, ConfigJsonTakesTransformersDefaultsAndIgnoresOtherKeys) {
  // An older transformers' layout: only `*_config_dict`, null for "the default", extra keys.
  const json config = {
      {"model_type", "clip"},
      {"projection_dim", 64},
      {"text_config", nullptr},
      {"text_config_dict",
       {{"hidden_size", 64},
        {"intermediate_size", 256},
        {"dropout", 0.0},
        {"vocab_size", nullptr}}},
      {"vision_config",
       {{"hidden_size", 128}, {"intermediate_size", 512}, {"image_size", 64}, {"patch_size", 16}}}};
  const ClipConfig c = hf_config_from_json(config.dump(), "x/config.json");
  EXPECT_EQ(c.embed_dim, 64);
  EXPECT_EQ(c.text.width, 64);
  EXPECT_EQ(c.text.vocab_size, 49408);
  EXPECT_EQ(c.text.context_length, 77);
  EXPECT_EQ(c.vision.width, 128);
  EXPECT_EQ(c.vision.heads, 12);
  EXPECT_EQ(c.vision.patch_size, 16);
}

TEST(HfClip, ConfigJsonErrorsNameTheFileAndKey) {
  const auto error_for = [](const json& config) {
    return error_of([&] { hf_config_from_json(config.dump(), "x/config.json"); });
  };
  // intermediate_size left to the default (2048) no longer matches the width.
  std::string msg = error_for({{"text_config", {{"hidden_size", 64}}}});
  EXPECT_CONTAINS(msg, "x/config.json: key 'text_config.intermediate_size' is 2048, expected 256");
  EXPECT_CONTAINS(msg, "transformers' default");
  msg = error_for({{"vision_config", {{"num_hidden_layers", 0}}}});
  EXPECT_CONTAINS(msg,
                  "key 'vision_config.num_hidden_layers' has '0'; expected a positive integer");
  msg = error_for({{"vision_config", {{"patch_size", 16.5}}}});
  EXPECT_CONTAINS(msg, "key 'vision_config.patch_size' has '16.5'; expected an integer");
  msg = error_for({{"text_config_dict", {{"layer_norm_eps", 1e-6}}}});
  EXPECT_CONTAINS(msg, "key 'text_config_dict.layer_norm_eps' is 1e-06, expected 1e-05");
  msg = error_for({{"model_type", "siglip"}});
  EXPECT_CONTAINS(msg, "x/config.json: key 'model_type' is \"siglip\", expected \"clip\"");
}

}  // namespace
}  // namespace vlprompt::models::weights
