// OpenAI TorchScript .pt archives: reading the shared reference and the Python-made fixtures,
// writing and reading back, and refusing what is not a TorchScript archive.
#include <filesystem>

#include "models/weights/weights.h"
#include "src/core/file_io.h"
#include "tests/weights/weights_test_support.h"

namespace vlprompt::models::weights {
namespace {

using testing::clip_fixture;
using testing::error_of;
using testing::shared_path;

TEST(OpenAIPt, ReadsReferenceTinyVitAsCanonicalFp32) {
  VLP_REQUIRE_SHARED(testing::kTinyVitPt);
  const LoadedWeights w = read_weights(shared_path(testing::kTinyVitPt));
  EXPECT_EQ(w.format, Format::kOpenAIPt);
  EXPECT_FALSE(w.config.has_value());
  EXPECT_EQ(w.tensors.size(), 62u);
  for (const auto& [name, t] : w.tensors) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(t.is_contiguous()) << name;
    EXPECT_FALSE(t.requires_grad()) << name;
  }
  EXPECT_EQ(w.tensors.at("visual.conv1.weight").sizes(), at::IntArrayRef({64, 3, 16, 16}));
  EXPECT_EQ(w.tensors.at("transformer.resblocks.1.attn.in_proj_weight").sizes(),
            at::IntArrayRef({192, 64}));
  EXPECT_EQ(w.tensors.at("logit_scale").dim(), 0);
  // Values read by Python's torch.jit.load of the same file.
  EXPECT_EQ(w.tensors.at("logit_scale").item<float>(), 2.6679649353027344f);
  EXPECT_EQ(w.tensors.at("visual.proj")[3][5].item<float>(), 0.159423828125f);
  EXPECT_EQ(w.tensors.at("transformer.resblocks.1.attn.in_proj_bias")[100].item<float>(),
            0.018463134765625f);
}

TEST(OpenAIPt, ReadsModifiedResNetWithBatchNormBuffers) {
  VLP_REQUIRE_FIXTURE("tiny_rn.pt");
  const LoadedWeights w = read_weights(clip_fixture("tiny_rn.pt"));
  const at::Tensor& var = w.tensors.at("visual.layer2.0.downsample.1.running_var");
  EXPECT_EQ(var.sizes(), at::IntArrayRef({128}));
  // The fixture draws running_var from U(0.5, 1.5): non-trivial buffers were read, not defaults.
  EXPECT_GT(var.min().item<float>(), 0.5f);
  EXPECT_LT(var.max().item<float>(), 1.5f);
  EXPECT_GT(var.std().item<float>(), 0.1f);
  EXPECT_EQ(w.tensors.at("visual.bn1.num_batches_tracked").scalar_type(), at::kLong);
  EXPECT_EQ(w.tensors.at("visual.bn1.num_batches_tracked").item<int64_t>(), 1000);
  EXPECT_EQ(w.tensors.count("visual.layer1.1.conv1.weight"), 0u);  // layers [1, 2, 1, 1]
  EXPECT_EQ(w.tensors.count("visual.layer2.1.conv1.weight"), 1u);
  EXPECT_EQ(w.tensors.count("visual.layer2.1.downsample.0.weight"), 0u);
}

TEST(OpenAIPt, Fp16WeightsAreUpcastExactly) {
  VLP_REQUIRE_FIXTURE("tiny_rn_fp16.pt");
  const LoadedWeights full = read_weights(clip_fixture("tiny_rn.pt"));
  const LoadedWeights half = read_weights(clip_fixture("tiny_rn_fp16.pt"));
  ASSERT_EQ(full.tensors.size(), half.tensors.size());
  for (const auto& [name, t] : full.tensors) {
    const at::Tensor& h = half.tensors.at(name);
    ASSERT_EQ(h.scalar_type(), t.scalar_type()) << name;  // fp32, or int64 BN counters
    const at::Tensor expected = t.dim() >= 2 ? t.to(at::kHalf).to(at::kFloat) : t;
    EXPECT_TRUE(at::equal(h, expected)) << name;
  }
}

TEST(OpenAIPt, WriteThenReadGivesIdenticalTensors) {
  VLP_REQUIRE_FIXTURE("tiny_rn.pt");
  const LoadedWeights src = read_weights(clip_fixture("tiny_rn.pt"));
  const std::string out = testing::scratch_dir("openai_pt") + "/rn_copy.pt";
  write_weights(out, Format::kOpenAIPt, src.tensors, infer_config(src.tensors));
  const LoadedWeights back = read_weights(out);
  EXPECT_EQ(back.format, Format::kOpenAIPt);
  testing::expect_identical(src.tensors, back.tensors);
  // Written atomically: no temporary file is left beside it.
  for (const auto& e :
       std::filesystem::directory_iterator(std::filesystem::path(out).parent_path()))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(OpenAIPt, GarbageFileIsRefusedNamingFileAndExpectedFormat) {
  const std::string path = testing::scratch_dir("openai_pt") + "/garbage.pt";
  core::atomic_write(path, "this is not a model at all, just some text bytes\n");
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "OpenAI TorchScript .pt archive");
}

TEST(OpenAIPt, EmptyFileIsRefused) {
  const std::string path = testing::scratch_dir("openai_pt") + "/empty.pt";
  core::atomic_write(path, "");
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "OpenAI TorchScript .pt archive");
}

// On a fixture the tests make, so that it runs without ../shared too (CI once caught what this
// test missed where only the shared reference was used).
TEST(OpenAIPt, TruncatedArchiveIsRefused) {
  VLP_REQUIRE_FIXTURE("tiny_rn.pt");
  const std::string bytes = core::read_file(clip_fixture("tiny_rn.pt"));
  for (const size_t keep : {bytes.size() / 2, size_t{1000}, bytes.size() - 1}) {
    const std::string path =
        testing::scratch_dir("openai_pt") + "/cut_" + std::to_string(keep) + ".pt";
    core::atomic_write(path, bytes.substr(0, keep));
    const std::string msg = error_of([&] { read_weights(path); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, "OpenAI TorchScript .pt archive");
  }
}

TEST(OpenAIPt, TorchSaveStateDictIsExplainedWithTheFix) {
  VLP_REQUIRE_FIXTURE("state_dict_zip.pth");
  for (const char* name : {"state_dict_zip.pth", "state_dict_legacy.pth"}) {
    const std::string path = clip_fixture(name);
    const std::string msg = error_of([&] { read_weights(path); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, "torch.save()");
    EXPECT_CONTAINS(msg, "safetensors");
  }
}

TEST(OpenAIPt, MissingFileIsNamed) {
  const std::string msg = error_of([] { read_weights("/nonexistent/ViT-B-16.pt"); });
  EXPECT_CONTAINS(msg, "/nonexistent/ViT-B-16.pt");
  EXPECT_CONTAINS(msg, "no such file");
}

}  // namespace
}  // namespace vlprompt::models::weights
