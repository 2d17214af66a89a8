// vlprompt .safetensors weight files: architecture in __metadata__, validated on read; malformed
// safetensors are refused naming the file and the tensor.
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/weights/config_json.h"
#include "models/weights/weights.h"
#include "src/core/file_io.h"
#include "src/core/hash.h"
#include "tests/weights/weights_test_support.h"

namespace vlprompt::models::weights {
namespace {

using testing::error_of;

std::string format_scratch(const std::string& name) {
  return testing::scratch_dir("vlprompt") + "/" + name;
}

// A safetensors file from a raw header (JSON text) and `data_bytes` zero bytes of data.
std::string raw_safetensors(const std::string& name, const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header + std::string(data_bytes, '\0');
  const std::string path = format_scratch(name);
  core::atomic_write(path, bytes);
  return path;
}

class VlpromptFormat : public ::testing::Test {
 protected:
  void SetUp() override {
    // A TorchScript CLIP made by tests/fixtures/make_clip_fixtures.py (no ../shared needed).
    source_ = read_weights(testing::clip_fixture("tiny_vit48.pt")).tensors;
    config_ = infer_config(source_);
  }
  core::TensorMap source_;
  ClipConfig config_;
};

TEST_F(VlpromptFormat, RoundTripKeepsTensorsAndArchitecture) {
  const std::string path = format_scratch("tiny.safetensors");
  config_.name = "tiny-vit";
  write_weights(path, Format::kVlprompt, source_, config_, "tiny_vit.pt");
  const LoadedWeights back = read_weights(path);
  EXPECT_EQ(back.format, Format::kVlprompt);
  testing::expect_identical(source_, back.tensors);
  ASSERT_TRUE(back.config.has_value());
  EXPECT_EQ(config_to_json(*back.config), config_to_json(config_));
  core::Metadata meta;
  core::read_safetensors_header(path, &meta);
  EXPECT_EQ(meta.at("format_version"), "1");
  EXPECT_EQ(meta.at("source"), "tiny_vit.pt");
  EXPECT_EQ(meta.at("fingerprint"), core::fingerprint(source_));
  EXPECT_CONTAINS(meta.at("architecture"), "\"type\":\"vit\"");
}

TEST_F(VlpromptFormat, MissingTensorIsNamed) {
  source_.erase("visual.ln_post.bias");
  const std::string path = format_scratch("missing.safetensors");
  core::write_safetensors(path, source_,
                          {{"format_version", "1"}, {"architecture", config_to_json(config_)}});
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "missing tensor 'visual.ln_post.bias'");
}

TEST_F(VlpromptFormat, ShapeDisagreeingWithArchitectureIsNamed) {
  source_["visual.proj"] = at::zeros({64, 32});
  const std::string path = format_scratch("shape.safetensors");
  core::write_safetensors(path, source_,
                          {{"format_version", "1"}, {"architecture", config_to_json(config_)}});
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "tensor 'visual.proj' has shape [64, 32], expected [128, 96]");
}

// Regression: NaN or infinity in model weights loaded without a word.
TEST_F(VlpromptFormat, NanOrInfinityInWeightsIsNamed) {
  source_["visual.proj"][1][2] = std::numeric_limits<float>::quiet_NaN();
  const std::string path = format_scratch("nan.safetensors");
  core::write_safetensors(path, source_,
                          {{"format_version", "1"}, {"architecture", config_to_json(config_)}});
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "tensor 'visual.proj' holds 1 non-finite value (NaN)");
}

TEST_F(VlpromptFormat, WriterRefusesTensorsNotMatchingConfig) {
  config_.text.layers = 3;
  const std::string path = format_scratch("refused.safetensors");
  const std::string msg =
      error_of([&] { write_weights(path, Format::kVlprompt, source_, config_); });
  EXPECT_CONTAINS(msg, "missing tensor 'transformer.resblocks.2.attn.in_proj_bias'");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(VlpromptFormat, NewerFormatVersionIsRefused) {
  const std::string path = format_scratch("v9.safetensors");
  core::write_safetensors(path, source_,
                          {{"format_version", "9"}, {"architecture", config_to_json(config_)}});
  EXPECT_CONTAINS(error_of([&] { read_weights(path); }), "format_version is '9'");
}

TEST_F(VlpromptFormat, ProvenanceRoundTripsAndABadPretrainedValueIsNamed) {
  const std::string path = format_scratch("provenance.safetensors");
  write_weights(path, Format::kVlprompt, source_, config_, "", {false, "vlprompt init, seed 3"});
  const LoadedWeights back = read_weights(path);
  ASSERT_TRUE(back.provenance.pretrained.has_value());
  EXPECT_FALSE(*back.provenance.pretrained);
  EXPECT_EQ(back.provenance.how_made, "vlprompt init, seed 3");
  // A file that does not say is "unknown", never guessed.
  const std::string plain = format_scratch("no-provenance.safetensors");
  write_weights(plain, Format::kVlprompt, source_, config_);
  EXPECT_FALSE(read_weights(plain).provenance.pretrained.has_value());

  const std::string bad = format_scratch("bad-pretrained.safetensors");
  core::write_safetensors(bad, source_,
                          {{"pretrained", "yes"}, {"architecture", config_to_json(config_)}});
  const std::string error = error_of([&] { read_weights(bad); });
  EXPECT_CONTAINS(error, "bad-pretrained.safetensors");
  EXPECT_CONTAINS(error, "pretrained is 'yes'; expected \"true\" or \"false\"");
}

TEST_F(VlpromptFormat, PlainStateDictSafetensorsIsInferred) {
  // An open_clip-style state dict: OpenAI names, no architecture metadata.
  const std::string path = format_scratch("plain.safetensors");
  core::write_safetensors(path, source_);
  const LoadedWeights w = read_weights(path);
  EXPECT_FALSE(w.config.has_value());
  testing::expect_identical(source_, w.tensors);
}

TEST_F(VlpromptFormat, Fp16TensorsAreUpcast) {
  core::TensorMap half;
  for (const auto& [name, t] : source_) half[name] = t.to(at::kHalf);
  const std::string path = format_scratch("half.safetensors");
  core::write_safetensors(path, half);
  const LoadedWeights w = read_weights(path);
  for (const auto& [name, t] : w.tensors) {
    ASSERT_EQ(t.scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(at::equal(t, half.at(name).to(at::kFloat))) << name;
  }
}

TEST(VlpromptMalformed, TruncatedFileIsRefused) {
  const std::string good = raw_safetensors(
      "good.safetensors", R"({"logit_scale":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4);
  const std::string bytes = core::read_file(good);
  const std::string path = format_scratch("truncated.safetensors");
  core::atomic_write(path, bytes.substr(0, bytes.size() - 10));
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
}

TEST(VlpromptMalformed, WrongHeaderIsRefused) {
  const std::string path = raw_safetensors("header.safetensors", "{not json at all}", 0);
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "header");
}

TEST(VlpromptMalformed, OffsetsOutsideTheFileAreNamed) {
  const std::string path =
      raw_safetensors("offsets.safetensors",
                      R"({"logit_scale":{"dtype":"F32","shape":[],"data_offsets":[0,400]}})", 4);
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'logit_scale'");
}

TEST(VlpromptMalformed, UnknownDtypeIsNamed) {
  const std::string path = raw_safetensors(
      "dtype.safetensors", R"({"visual.proj":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4);
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'visual.proj'");
  EXPECT_CONTAINS(msg, "'Q7'");
}

TEST(VlpromptMalformed, IncompleteStateDictNamesTheMissingTensor) {
  const std::string path =
      raw_safetensors("partial.safetensors",
                      R"({"logit_scale":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4);
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "missing tensor");
}

}  // namespace
}  // namespace vlprompt::models::weights
