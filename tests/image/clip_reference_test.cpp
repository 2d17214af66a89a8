// load_for_clip against the pixels OpenAI's CLIP preprocess produced for the tiny reference model
// (CIFAR-10 JPEGs, 32 -> 64 px). JPEG decoders may differ by a level or two, hence 2/255.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/core/file_io.h"
#include "src/core/npy.h"
#include "src/image/clip_preprocess.h"
#include "tests/test_support.h"

namespace vlprompt::image {
namespace {

constexpr char kReferenceDir[] = "data/clip/reference_tiny_vit";

TEST(LoadForClip, MatchesTheTinyVitReferencePixels) {
#if !(defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV)
  GTEST_SKIP() << "built without OpenCV: no image decoding";
#endif
  VLP_REQUIRE_SHARED(std::string(kReferenceDir) + "/tiny_vit_pixels.npy");
  const std::string dir = testing::shared_path(kReferenceDir);
  const auto inputs = nlohmann::json::parse(core::read_file(dir + "/inputs.json"));
  const at::Tensor reference = core::read_npy(dir + "/tiny_vit_pixels.npy");
  ASSERT_EQ(reference.sizes(), (std::vector<int64_t>{4, 3, 64, 64}));
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor mean = at::tensor(at::ArrayRef<float>(kClipMean, 3), opts).view({3, 1, 1});
  const at::Tensor std = at::tensor(at::ArrayRef<float>(kClipStd, 3), opts).view({3, 1, 1});
  ASSERT_EQ(inputs["images"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const std::string path = dir + "/" + inputs["images"][i].get<std::string>();
    SCOPED_TRACE(path);
    const at::Tensor got = load_for_clip(path, 64);
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{3, 64, 64}));
    // Compare in pixel levels: undo the normalization on both sides.
    const at::Tensor got_levels = (got * std + mean) * 255;
    const at::Tensor ref_levels = (reference[i] * std + mean) * 255;
    const float max_diff = (got_levels - ref_levels).abs().max().item<float>();
    EXPECT_LE(max_diff, 2.0f + 1e-3f);
    RecordProperty("max_level_diff_" + std::to_string(i), std::to_string(max_diff));
  }
}

}  // namespace
}  // namespace vlprompt::image
