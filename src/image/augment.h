// Training augmentation with torch ops, as CoOp trains: RandomResizedCrop (torchvision's
// parameters and algorithm) + random horizontal flip, bicubic resize, CLIP normalization. Draws
// come from std::mt19937_64(seed) with fixed formulas, so a seed gives the same augmentations on
// every machine and a resumed run repeats them.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <random>
#include <vector>

namespace vlprompt::image {

struct AugmentOptions {
  double scale_min = 0.08;  // crop area as a fraction of the image area (torchvision's defaults)
  double scale_max = 1.0;
  double ratio_min = 3.0 / 4.0;  // crop aspect ratio w / h, drawn log-uniformly
  double ratio_max = 4.0 / 3.0;
  double flip_p = 0.5;  // probability of a horizontal flip
};

struct CropBox {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// torchvision's RandomResizedCrop.get_params: up to 10 tries of (area fraction uniform in scale,
// log aspect ratio uniform in log ratio, w/h rounded half-to-even as Python's round) that fit,
// with a uniformly placed box; else the central crop clamped to the ratio range.
CropBox random_resized_crop_box(int64_t height, int64_t width, const AugmentOptions& opts,
                                std::mt19937_64& rng);

// A seed for one batch of a run, so the trainer seeds every batch independently and resuming at
// (epoch, batch) reproduces exactly what an uninterrupted run would have drawn.
uint64_t augment_seed(uint64_t run_seed, int64_t epoch, int64_t batch);

// Each uint8 [H, W, 3] image (sizes may differ; views into a PreparedStore are fine): crop box,
// then flip, drawn in that order per image from std::mt19937_64(seed); the crop is resized to
// R x R with ATen's antialiased bicubic (Pillow's kernel, a = -0.5, support widened when
// shrinking; within 1 level of Pillow's uint8 result) and rounded to uint8 as the PIL pipeline
// is. Returns uint8 [B, R, R, 3]. Error naming the image for a wrong dtype or shape.
// [first, last) keeps only those rows (every draw is still made, so they are the rows the whole
// batch would hold); last -1 means the end.
at::Tensor augment_batch_uint8(const std::vector<at::Tensor>& images_hwc_uint8, int64_t resolution,
                               uint64_t seed, const AugmentOptions& opts = {}, int64_t first = 0,
                               int64_t last = -1);

// augment_batch_uint8 + CLIP normalization: float [B, 3, R, R].
at::Tensor augment_batch(const std::vector<at::Tensor>& images_hwc_uint8, int64_t resolution,
                         uint64_t seed, const AugmentOptions& opts = {}, int64_t first = 0,
                         int64_t last = -1);

// The eval transform for a batch: resize_center_crop + normalize per image -> float [B, 3, R, R].
at::Tensor center_view_batch(const std::vector<at::Tensor>& images_hwc_uint8, int64_t resolution);

}  // namespace vlprompt::image
