#include "src/image/augment.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "src/core/error.h"
#include "src/image/clip_preprocess.h"
#include "src/image/python_round.h"

namespace vlprompt::image {
namespace {

// Draws with fixed formulas over raw mt19937_64 output: the <random> distributions are
// implementation-defined and would give other crops under another standard library.
double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;  // 53 random bits -> [0, 1)
}

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * uniform01(rng);
}

// Uniform in [lo, hi] (torch.randint(lo, hi + 1)): rejection drops the 2^64 mod n lowest values.
int64_t randint_inclusive(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  const auto n = static_cast<uint64_t>(hi - lo) + 1;
  const uint64_t threshold = (0 - n) % n;
  uint64_t r = rng();
  while (r < threshold) r = rng();
  return lo + static_cast<int64_t>(r % n);
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void check_options(const AugmentOptions& o) {
  if (!(o.scale_min >= 0 && o.scale_min <= o.scale_max && o.ratio_min > 0 &&
        o.ratio_min <= o.ratio_max && o.flip_p >= 0 && o.flip_p <= 1)) {
    throw Error(
        "augment: options scale [" + std::to_string(o.scale_min) + ", " +
        std::to_string(o.scale_max) + "], ratio [" + std::to_string(o.ratio_min) + ", " +
        std::to_string(o.ratio_max) + "], flip_p " + std::to_string(o.flip_p) +
        " (expected 0 <= min <= max for scale, 0 < min <= max for ratio, flip_p in [0, 1])");
  }
}

void check_images(const std::vector<at::Tensor>& images, int64_t resolution, const char* what) {
  if (resolution < 1) {
    throw Error(std::string(what) + ": resolution " + std::to_string(resolution) +
                " (expected a positive size)");
  }
  for (size_t i = 0; i < images.size(); ++i) {
    const at::Tensor& t = images[i];
    if (!t.defined() || t.dim() != 3 || t.scalar_type() != at::kByte || t.size(2) != 3 ||
        t.size(0) < 1 || t.size(1) < 1) {
      throw Error(std::string(what) + ": image " + std::to_string(i) + " is " +
                  (t.defined() ? std::string(at::toString(t.scalar_type())) + " of shape " +
                                     c10::str(t.sizes())
                               : std::string("undefined")) +
                  ", expected uint8 [H, W, 3] with H, W >= 1");
    }
  }
}

// One crop to uint8 [R, R, 3]. The antialiased kernel is used for enlarging too: it is Pillow's
// bicubic (a = -0.5) either way, where upsample_bicubic2d uses a = -0.75, so every crop sees the
// same filter as the PIL-based CoOp pipeline.
at::Tensor resize_crop(const at::Tensor& crop_hwc, int64_t resolution) {
  if (crop_hwc.size(0) == resolution && crop_hwc.size(1) == resolution) return crop_hwc;
  at::Tensor x = crop_hwc.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).contiguous();
  const std::array<int64_t, 2> size = {resolution, resolution};
  // All five arguments: the only overload of that arity in LibTorch 1.13 and 2.x alike.
  x = at::_upsample_bicubic2d_aa(x, size, /*align_corners=*/false, c10::nullopt, c10::nullopt);
  // Bicubic overshoots; clamp and round to the uint8 image the PIL pipeline would normalize.
  return x.clamp_(0, 255).round_().to(at::kByte).squeeze(0).permute({1, 2, 0});
}

}  // namespace

CropBox random_resized_crop_box(int64_t height, int64_t width, const AugmentOptions& opts,
                                std::mt19937_64& rng) {
  check_options(opts);
  if (height < 1 || width < 1) {
    throw Error("random_resized_crop_box: empty image " + std::to_string(height) + " x " +
                std::to_string(width));
  }
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(opts.ratio_min), log_hi = std::log(opts.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * uniform(rng, opts.scale_min, opts.scale_max);
    const double aspect = std::exp(uniform(rng, log_lo, log_hi));
    const int64_t w = python_round(std::sqrt(target_area * aspect));
    const int64_t h = python_round(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t top = randint_inclusive(rng, 0, height - h);
      const int64_t left = randint_inclusive(rng, 0, width - w);
      return {top, left, h, w};
    }
  }
  // Fallback: the largest central box whose aspect ratio lies in the range.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < opts.ratio_min) {
    h = python_round(static_cast<double>(w) / opts.ratio_min);
  } else if (in_ratio > opts.ratio_max) {
    w = python_round(static_cast<double>(h) * opts.ratio_max);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

uint64_t augment_seed(uint64_t run_seed, int64_t epoch, int64_t batch) {
  const uint64_t e = splitmix64(splitmix64(run_seed) ^ static_cast<uint64_t>(epoch));
  return splitmix64(e ^ static_cast<uint64_t>(batch));
}

at::Tensor augment_batch_uint8(const std::vector<at::Tensor>& images, int64_t resolution,
                               uint64_t seed, const AugmentOptions& opts, int64_t first,
                               int64_t last) {
  check_options(opts);
  check_images(images, resolution, "augment_batch");
  const auto n = static_cast<int64_t>(images.size());
  // All draws first, serially and in a fixed order (box then flip, image by image, as
  // torchvision's Compose draws them); the pixel work then runs in parallel.
  std::mt19937_64 rng(seed);
  std::vector<CropBox> boxes(images.size());
  std::vector<char> flips(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    boxes[i] = random_resized_crop_box(images[i].size(0), images[i].size(1), opts, rng);
    flips[i] = uniform01(rng) < opts.flip_p;
  }
  if (last < 0) last = n;
  if (first < 0 || first > last || last > n) {
    throw Error("augment_batch: rows [" + std::to_string(first) + ", " + std::to_string(last) +
                ") of a batch of " + std::to_string(n));
  }
  at::Tensor out = at::empty({last - first, resolution, resolution, 3}, at::kByte);
  at::parallel_for(first, last, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto u = static_cast<size_t>(i);
      const CropBox& b = boxes[u];
      const at::Tensor crop = images[u].narrow(0, b.top, b.height).narrow(1, b.left, b.width);
      at::Tensor x = resize_crop(crop, resolution);
      if (flips[u]) x = x.flip({1});
      out[i - first].copy_(x);
    }
  });
  return out;
}

at::Tensor augment_batch(const std::vector<at::Tensor>& images, int64_t resolution, uint64_t seed,
                         const AugmentOptions& opts, int64_t first, int64_t last) {
  const at::Tensor batch = augment_batch_uint8(images, resolution, seed, opts, first, last);
  if (batch.size(0) == 0) return at::empty({0, 3, resolution, resolution}, at::kFloat);
  return normalize(batch);
}

at::Tensor center_view_batch(const std::vector<at::Tensor>& images, int64_t resolution) {
  check_images(images, resolution, "center_view_batch");
  const auto n = static_cast<int64_t>(images.size());
  if (n == 0) return at::empty({0, 3, resolution, resolution}, at::kFloat);
  at::Tensor out = at::empty({n, resolution, resolution, 3}, at::kByte);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      out[i].copy_(resize_center_crop(images[static_cast<size_t>(i)].contiguous(), resolution));
    }
  });
  return normalize(out);
}

}  // namespace vlprompt::image
