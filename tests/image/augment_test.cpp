#include "src/image/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/image/clip_preprocess.h"

namespace vlprompt::image {
namespace {

// Smooth content (a blurred random field) so resampling differences stay small and meaningful.
at::Tensor smooth_image(int64_t h, int64_t w, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor coarse = at::randint(0, 256, {(h + 7) / 8, (w + 7) / 8, 3}, gen, at::kByte);
  return resize_bicubic(coarse, h, w);
}

std::vector<at::Tensor> mixed_batch() {
  return {smooth_image(120, 90, 1), smooth_image(50, 200, 2), smooth_image(300, 300, 3),
          smooth_image(16, 16, 4)};
}

AugmentOptions whole_image(double flip_p) {
  AugmentOptions o;
  o.scale_min = o.scale_max = 1.0;
  o.ratio_min = o.ratio_max = 1.0;
  o.flip_p = flip_p;
  return o;
}

TEST(Augment, ShapeAndRangeFollowNormalization) {
  const at::Tensor out = augment_batch(mixed_batch(), 64, 7);
  ASSERT_EQ(out.sizes(), at::IntArrayRef({4, 3, 64, 64}));
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  for (int c = 0; c < 3; ++c) {
    const float lo = (0.f - kClipMean[c]) / kClipStd[c], hi = (1.f - kClipMean[c]) / kClipStd[c];
    EXPECT_GE(out.select(1, c).min().item<float>(), lo - 1e-5f);
    EXPECT_LE(out.select(1, c).max().item<float>(), hi + 1e-5f);
  }
  // Exactly the normalization of the uint8 batch.
  EXPECT_TRUE(at::equal(out, normalize(augment_batch_uint8(mixed_batch(), 64, 7))));
}

TEST(Augment, SameSeedSameBatchOtherSeedDiffers) {
  const auto images = mixed_batch();
  const at::Tensor a = augment_batch(images, 48, 11);
  EXPECT_TRUE(at::equal(a, augment_batch(images, 48, 11)));
  EXPECT_FALSE(at::equal(a, augment_batch(images, 48, 12)));
  EXPECT_EQ(augment_seed(1, 2, 3), augment_seed(1, 2, 3));
  EXPECT_NE(augment_seed(1, 2, 3), augment_seed(1, 3, 2));
  EXPECT_NE(augment_seed(1, 2, 3), augment_seed(2, 2, 3));
}

TEST(Augment, WholeImageCropEqualsPillowResizeWithinOneLevel) {
  const at::Tensor square = smooth_image(100, 100, 5);
  for (int64_t r : {64, 150}) {  // shrinking and enlarging
    const at::Tensor got = augment_batch_uint8({square}, r, 3, whole_image(0.0))[0];
    const at::Tensor pillow = resize_bicubic(square, r, r);
    const int64_t diff = (got.to(at::kLong) - pillow.to(at::kLong)).abs().max().item<int64_t>();
    EXPECT_LE(diff, 1) << "resolution " << r;
  }
}

TEST(Augment, CropOfTheOutputSizeIsExactAndFlipMirrors) {
  const at::Tensor img = smooth_image(32, 32, 6);
  EXPECT_TRUE(at::equal(augment_batch({img}, 32, 1, whole_image(0.0))[0], normalize(img)));
  EXPECT_TRUE(at::equal(augment_batch({img}, 32, 1, whole_image(1.0))[0],
                        normalize(img.flip({1}).contiguous())));
}

TEST(Augment, FallbackIsTheCentralCropClampedToTheRatioRange) {
  AugmentOptions o;
  o.scale_min = o.scale_max = 1.0;  // the whole area never fits these ratios: 10 tries fail
  std::mt19937_64 rng(1);
  const CropBox wide = random_resized_crop_box(10, 1000, o, rng);
  // in_ratio 100 > 4/3: h = 10, w = round(10 * 4 / 3) = 13, centered.
  EXPECT_EQ(wide.top, 0);
  EXPECT_EQ(wide.left, 493);
  EXPECT_EQ(wide.height, 10);
  EXPECT_EQ(wide.width, 13);
  const CropBox tall = random_resized_crop_box(1000, 10, o, rng);
  // in_ratio 0.01 < 3/4: w = 10, h = round(10 / 0.75) = 13.
  EXPECT_EQ(tall.top, 493);
  EXPECT_EQ(tall.left, 0);
  EXPECT_EQ(tall.height, 13);
  EXPECT_EQ(tall.width, 10);
}

TEST(Augment, RandomBoxesStayInsideAndRespectTheRanges) {
  const AugmentOptions o;
  std::mt19937_64 rng(2);
  for (int n = 0; n < 2000; ++n) {
    const int64_t h = 20 + n % 97, w = 30 + (n * 7) % 113;
    const CropBox b = random_resized_crop_box(h, w, o, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_GE(b.height, 1);
    ASSERT_GE(b.width, 1);
    ASSERT_LE(b.top + b.height, h);
    ASSERT_LE(b.left + b.width, w);
    // Area fraction within [0.08, 1] up to the rounding of w and h to whole pixels.
    const double frac = static_cast<double>(b.height * b.width) / static_cast<double>(h * w);
    const double slack = static_cast<double>(b.height + b.width + 1) / static_cast<double>(h * w);
    ASSERT_GE(frac, 0.08 - slack);
  }
}

TEST(Augment, BadInputNamesTheImage) {
  std::vector<at::Tensor> images = {smooth_image(8, 8, 1), at::zeros({8, 8, 3}, at::kFloat)};
  try {
    augment_batch(images, 8, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 1"), std::string::npos) << e.what();
  }
  AugmentOptions bad;
  bad.ratio_min = 0;
  EXPECT_THROW(augment_batch({smooth_image(8, 8, 1)}, 8, 1, bad), Error);
  EXPECT_THROW(augment_batch({smooth_image(8, 8, 1)}, 0, 1), Error);
}

TEST(CenterView, EqualsPerImageEvalTransform) {
  const auto images = mixed_batch();
  const at::Tensor out = center_view_batch(images, 40);
  ASSERT_EQ(out.sizes(), at::IntArrayRef({4, 3, 40, 40}));
  for (size_t i = 0; i < images.size(); ++i) {
    EXPECT_TRUE(
        at::equal(out[static_cast<int64_t>(i)], normalize(resize_center_crop(images[i], 40))));
  }
}

}  // namespace
}  // namespace vlprompt::image
