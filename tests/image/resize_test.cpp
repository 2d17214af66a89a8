// Pillow-exact resampling and CLIP's resize + center crop, against Pillow's own results on the
// fixture images (start from the decoded .npy, so these need no OpenCV).
#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/image/clip_preprocess.h"
#include "tests/image/image_fixtures.h"

namespace vlprompt::image {
namespace {

using testing::image_fixture_npy;
using testing::max_abs_diff;

void expect_pillow_resize(const at::Tensor& src, const std::string& reference) {
  SCOPED_TRACE(reference);
  const at::Tensor expected = image_fixture_npy(reference);
  const at::Tensor hwc = expected.dim() == 2 ? expected.unsqueeze(2) : expected;
  const at::Tensor got = resize_bicubic(src, hwc.size(0), hwc.size(1));
  ASSERT_EQ(got.sizes(), hwc.sizes());
  ASSERT_EQ(got.scalar_type(), at::kByte);
  EXPECT_EQ(max_abs_diff(got, hwc), 0);
}

TEST(ResizeBicubic, DownscaleWithAntialiasingMatchesPillowExactly) {
  expect_pillow_resize(image_fixture_npy("rgb_decoded"), "rgb_down_23x15");
}

TEST(ResizeBicubic, UpscaleMatchesPillowExactly) {
  expect_pillow_resize(image_fixture_npy("rgb_decoded"), "rgb_up_150x100");
}

TEST(ResizeBicubic, WiderAndFlatterMatchesPillowExactly) {
  expect_pillow_resize(image_fixture_npy("rgb_decoded"), "rgb_mixed_200x20");
}

TEST(ResizeBicubic, SingleChannelMatchesPillowModeL) {
  const at::Tensor gray = image_fixture_npy("gray_decoded").select(2, 0).unsqueeze(2);
  expect_pillow_resize(gray.contiguous(), "gray_down_23x15");
}

TEST(ResizeBicubic, SameSizeIsACopy) {
  const at::Tensor src = image_fixture_npy("rgb_decoded");
  const at::Tensor got = resize_bicubic(src, src.size(0), src.size(1));
  EXPECT_TRUE(at::equal(got, src));
  EXPECT_NE(got.data_ptr(), src.data_ptr());
}

TEST(ResizeBicubic, ConstantImageStaysConstant) {
  const at::Tensor src = at::full({7, 9, 3}, 200, at::kByte);
  EXPECT_TRUE(at::equal(resize_bicubic(src, 3, 31), at::full({3, 31, 3}, 200, at::kByte)));
}

TEST(ResizeBicubic, RejectsWhatItCannotResize) {
  EXPECT_THROW(resize_bicubic(at::zeros({4, 4, 3}, at::kFloat), 2, 2), Error);
  EXPECT_THROW(resize_bicubic(at::zeros({4, 4}, at::kByte), 2, 2), Error);
  EXPECT_THROW(resize_bicubic(at::zeros({0, 4, 3}, at::kByte), 2, 2), Error);
  try {
    resize_bicubic(at::zeros({4, 4, 3}, at::kByte), 0, 2);
    FAIL() << "no error for a zero output size";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0x2"), std::string::npos) << e.what();
  }
}

TEST(ResizeCenterCrop, LandscapeMatchesClipPreprocess) {
  const at::Tensor got = resize_center_crop(image_fixture_npy("rgb_decoded"), 32);
  const at::Tensor expected = image_fixture_npy("rgb_clip_32");
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_EQ(max_abs_diff(got, expected), 0);
}

// 61x76 -> 23x28: the crop margin is 5, and Python's round(2.5) == 2 puts the top at 2.
TEST(ResizeCenterCrop, PortraitWithHalfMarginRoundsToEven) {
  const at::Tensor got = resize_center_crop(image_fixture_npy("portrait"), 23);
  const at::Tensor expected = image_fixture_npy("portrait_clip_23");
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_EQ(max_abs_diff(got, expected), 0);
}

TEST(Normalize, UsesClipMeanAndStd) {
  at::Tensor img = at::zeros({2, 2, 3}, at::kByte);
  img[1][1].fill_(255);
  const at::Tensor out = normalize(img);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 2, 2}));
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(out[c][0][0].item<float>(), -kClipMean[c] / kClipStd[c]);
    EXPECT_FLOAT_EQ(out[c][1][1].item<float>(), (1.0f - kClipMean[c]) / kClipStd[c]);
  }
}

TEST(Normalize, BatchedEqualsOneByOne) {
  const at::Tensor batch = at::randint(0, 256, {3, 5, 5, 3}, at::kByte);
  const at::Tensor out = normalize(batch);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 3, 5, 5}));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(at::equal(out[i], normalize(batch[i])));
  EXPECT_THROW(normalize(at::zeros({5, 5, 4}, at::kByte)), Error);
}

}  // namespace
}  // namespace vlprompt::image
