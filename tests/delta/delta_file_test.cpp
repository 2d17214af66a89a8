#include "src/delta/delta_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "src/core/error.h"
#include "src/core/safetensors.h"
#include "src/delta/delta_stack.h"
#include "tests/delta/toy_deltas.h"
#include "tests/test_support.h"

namespace vlprompt::delta {
namespace {

using testing::ScaleDelta;
using testing::ShiftDelta;

DeltaFileInfo sample_info() {
  DeltaFileInfo info;
  info.backbone = "ViT-B-16";
  info.backbone_fingerprint = "0123456789abcdef";
  info.tokenizer = "bpe_simple_vocab_16e6.txt.gz";
  info.classnames = {"cat", "dog", "sea \"lion\""};
  info.prompt_template = "a photo of a {}.";
  info.training = {{"epochs", 3}, {"shots", 16}};
  return info;
}

TEST(DeltaFile, RoundTripHoldsOnlyDeltaTensorsAndMetadata) {
  const std::string path = testing::scratch_dir("delta_file") + "/stack.safetensors";
  DeltaStack stack(DeltaStackOptions().sequential(true));
  stack->add("a", ScaleDelta(2.5));
  stack->add("b", ShiftDelta(-1.5));
  write_delta(path, *stack, sample_info());

  // The raw file: exactly the stack's two tensors.
  core::Metadata raw;
  auto header = core::read_safetensors_header(path, &raw);
  ASSERT_EQ(header.size(), 2u);
  EXPECT_TRUE(header.count("a.scale"));
  EXPECT_TRUE(header.count("b.shift"));
  EXPECT_EQ(raw.at("format"), "vlprompt-delta");
  EXPECT_EQ(raw.at("format_version"), "1");
  EXPECT_EQ(raw.at("method"), "stack");
  EXPECT_EQ(raw.at("classnames"), R"(["cat","dog","sea \"lion\""])");

  DeltaFile file = read_delta(path);
  EXPECT_EQ(file.info.source, path);
  EXPECT_EQ(file.info.method, "stack");
  EXPECT_EQ(file.info.hyperparameters.at("members"), "a,b");
  EXPECT_EQ(file.info.hyperparameters.at("a.prefix"), "1");
  EXPECT_EQ(file.info.backbone, "ViT-B-16");
  EXPECT_EQ(file.info.backbone_fingerprint, "0123456789abcdef");
  EXPECT_EQ(file.info.tokenizer, "bpe_simple_vocab_16e6.txt.gz");
  EXPECT_EQ(file.info.classnames, sample_info().classnames);
  EXPECT_EQ(file.info.prompt_template, "a photo of a {}.");
  EXPECT_EQ(file.info.training.at("shots"), 16);

  DeltaStack fresh;
  fresh->add("a", ScaleDelta(0.0));
  fresh->add("b", ShiftDelta(0.0));
  fresh->load_named_tensors(file.tensors, path);
  EXPECT_FLOAT_EQ(fresh->named_tensors().at("a.scale").item<float>(), 2.5f);
  EXPECT_FLOAT_EQ(fresh->named_tensors().at("b.shift").item<float>(), -1.5f);
}

TEST(DeltaFile, LoadingIntoAnotherShapeNamesTheTensor) {
  const std::string path = testing::scratch_dir("delta_file") + "/lone.safetensors";
  write_delta(path, *ScaleDelta(2.0), sample_info());
  DeltaFile file = read_delta(path);
  EXPECT_EQ(file.info.method, "scale");
  ASSERT_TRUE(file.tensors.count("scale.scale"));

  core::TensorMap wrong{{"scale.scale", at::ones({3})}};
  try {
    ScaleDelta(1.0)->load_named_tensors(wrong, path);
    FAIL() << "mis-shaped tensor accepted";
  } catch (const FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("'scale.scale' has shape [3], the scale delta expects [1]"),
              std::string::npos)
        << msg;
  }
  core::TensorMap extra{{"scale.scale", at::ones({1})}, {"visual.proj", at::ones({2})}};
  try {
    ScaleDelta(1.0)->load_named_tensors(extra, path);
    FAIL() << "unexpected tensor accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected tensor 'visual.proj'"), std::string::npos);
  }
}

TEST(DeltaFile, BackboneMismatchNamesBothSides) {
  const std::string path = testing::scratch_dir("delta_file") + "/check.safetensors";
  DeltaFileInfo made = sample_info();
  const std::string mine = "sha256:" + std::string(64, 'a'),
                    other = "sha256:" + std::string(64, 'b');
  made.backbone_fingerprint = mine;
  write_delta(path, *ScaleDelta(2.0), made);
  DeltaFileInfo info = read_delta(path).info;
  EXPECT_NO_THROW(check_backbone(info, mine, "ViT-B-16"));
  // A converted copy of the same weights under another name is the same backbone.
  EXPECT_NO_THROW(check_backbone(info, mine, "inferred"));
  try {
    check_backbone(info, other, "RN50");
    FAIL() << "other backbone accepted";
  } catch (const FileError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg, path + ": this scale delta was trained on backbone 'ViT-B-16' (fingerprint " +
                       mine + "), but the loaded backbone is 'RN50' (fingerprint " + other +
                       "): load the 'ViT-B-16' weights to use this delta");
  }
  try {
    check_backbone(info, other, "ViT-B-16");
    FAIL() << "other weights accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("same name, different weights"), std::string::npos);
  }
  // A delta from before SHA-256 fingerprints says so instead of blaming the weights.
  info.backbone_fingerprint = "0123456789abcdef";
  try {
    check_backbone(info, mine, "ViT-B-16");
    FAIL() << "old fingerprint accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("older kind"), std::string::npos) << e.what();
  }
}

TEST(DeltaFile, RefusesFilesThatAreNotDeltas) {
  const std::string dir = testing::scratch_dir("delta_file");
  const std::string weights = dir + "/weights.safetensors";
  core::write_safetensors(weights, {{"visual.proj", at::ones({2, 2})}}, {{"format", "pt"}});
  try {
    read_delta(weights);
    FAIL() << "weights file read as a delta";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(weights + ": metadata 'format' is 'pt', expected "
                                                   "'vlprompt-delta'"),
              std::string::npos)
        << e.what();
  }
  const std::string future = dir + "/future.safetensors";
  core::write_safetensors(future, {{"x.y", at::ones({1})}},
                          {{"format", "vlprompt-delta"}, {"format_version", "2"}});
  try {
    read_delta(future);
    FAIL() << "future version accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("'format_version' is '2', this build reads '1'"),
              std::string::npos);
  }
  const std::string bad = dir + "/bad.safetensors";
  DeltaFileInfo info = sample_info();
  info.method = "scale";
  write_delta(bad, ScaleDelta(1.0)->named_tensors(), info);
  core::TensorFile f = core::read_safetensors(bad);
  f.metadata["classnames"] = "[\"cat\", 3]";
  core::write_safetensors(bad, f.tensors, f.metadata);
  try {
    read_delta(bad);
    FAIL() << "bad class list accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("'classnames' holds 3, expected strings"),
              std::string::npos);
  }
}

// Regression: metadata edited by hand (a template, a class_token_position) kept every
// shape and was used as if the delta had been trained with it.
TEST(DeltaFile, MetadataEditedAfterWritingIsRefusedNamingTheKey) {
  const std::string path = testing::scratch_dir("delta_file") + "/edited.safetensors";
  DeltaFileInfo info = sample_info();
  info.method = "scale";
  write_delta(path, ScaleDelta(1.0)->named_tensors(), info);
  const core::TensorFile intact = core::read_safetensors(path);
  ASSERT_TRUE(intact.metadata.count(kDigestsKey));
  EXPECT_NO_THROW(read_delta(path));

  core::TensorFile f = intact;
  f.metadata["template"] = "a blurry photo of a {}.";
  core::write_safetensors(path, f.tensors, f.metadata);
  std::string msg = testing::error_of([&] { read_delta(path); });
  EXPECT_NE(msg.find(path + ": metadata 'template' was edited after the delta was written"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("now 'a blurry photo of a {}.'"), std::string::npos) << msg;

  f = intact;
  f.metadata.erase("tokenizer");
  core::write_safetensors(path, f.tensors, f.metadata);
  msg = testing::error_of([&] { read_delta(path); });
  EXPECT_NE(msg.find("metadata key 'tokenizer' is missing"), std::string::npos) << msg;

  // Files from before digests existed still load.
  f = intact;
  f.metadata.erase(kDigestsKey);
  f.metadata["template"] = "a blurry photo of a {}.";
  core::write_safetensors(path, f.tensors, f.metadata);
  EXPECT_EQ(read_delta(path).info.prompt_template, "a blurry photo of a {}.");
}

// Regression: a delta holding NaN evaluated at chance with exit 0.
TEST(DeltaFile, NanOrInfinityIsRefusedNamingTheTensor) {
  const std::string dir = testing::scratch_dir("delta_file");
  DeltaFileInfo info = sample_info();
  info.method = "scale";
  for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    const std::string path = dir + "/nonfinite.safetensors";
    at::Tensor t = at::ones({3});
    t[1] = bad;
    write_delta(path, core::TensorMap{{"a.scale", t}}, info);
    const std::string msg = testing::error_of([&] { read_delta(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("tensor 'a.scale' holds 1 non-finite value"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace vlprompt::delta
