// CLIP's preprocess (OpenAI clip/clip.py): Resize(R, BICUBIC) + CenterCrop(R) on a PIL image,
// ToTensor, Normalize(mean, std), with torchvision's size and offset rules.
#include "src/image/clip_preprocess.h"

#include <cmath>
#include <string>

#include "src/core/error.h"
#include "src/image/python_round.h"

namespace vlprompt::image {
namespace {

void check_rgb_uint8(const at::Tensor& t, const char* what, bool allow_batch) {
  const bool rank_ok = t.dim() == 3 || (allow_batch && t.dim() == 4);
  if (!rank_ok || t.scalar_type() != at::kByte || t.size(-1) != 3) {
    throw Error(std::string(what) + ": expected uint8 [H, W, 3]" +
                (allow_batch ? " or [N, H, W, 3]" : "") + ", got " +
                std::string(at::toString(t.scalar_type())) + " of shape " + c10::str(t.sizes()));
  }
}

// Python's round(): halves go to the even neighbour (round(2.5) == 2), which the default
// floating-point rounding mode of nearbyint also does.

}  // namespace

at::Tensor resize_center_crop(const at::Tensor& hwc, int64_t resolution) {
  check_rgb_uint8(hwc, "resize_center_crop", /*allow_batch=*/false);
  if (resolution < 1) {
    throw Error("resize_center_crop: resolution " + std::to_string(resolution) +
                " (expected a positive size)");
  }
  const int64_t h = hwc.size(0), w = hwc.size(1);
  if (h < 1 || w < 1) {
    throw Error("resize_center_crop: empty image of shape " + c10::str(hwc.sizes()));
  }
  // torchvision Resize(int): the short side becomes R, the long side int(R * long / short)
  // (true division in double, then truncation).
  const int64_t short_side = std::min(h, w), long_side = std::max(h, w);
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(resolution * long_side) /
                                                static_cast<double>(short_side));
  const int64_t new_h = w <= h ? new_long : resolution;
  const int64_t new_w = w <= h ? resolution : new_long;
  const at::Tensor resized = resize_bicubic(hwc, new_h, new_w);
  // new_long >= R always, so the crop never needs torchvision's padding.
  const int64_t top = python_round(static_cast<double>(new_h - resolution) / 2.0);
  const int64_t left = python_round(static_cast<double>(new_w - resolution) / 2.0);
  return resized.slice(0, top, top + resolution).slice(1, left, left + resolution).contiguous();
}

at::Tensor normalize(const at::Tensor& hwc_uint8) {
  check_rgb_uint8(hwc_uint8, "normalize", /*allow_batch=*/true);
  // float32 throughout, in torchvision's order: x / 255, then (x - mean) / std.
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor mean = at::tensor(at::ArrayRef<float>(kClipMean, 3), opts);
  const at::Tensor std = at::tensor(at::ArrayRef<float>(kClipStd, 3), opts);
  at::Tensor x = hwc_uint8.to(at::kCPU).to(at::kFloat).div_(255.0);
  x.sub_(mean).div_(std);
  return hwc_uint8.dim() == 3 ? x.permute({2, 0, 1}).contiguous()
                              : x.permute({0, 3, 1, 2}).contiguous();
}

at::Tensor load_for_clip(const std::string& path, int64_t resolution) {
  return normalize(resize_center_crop(decode_rgb(path), resolution));
}

}  // namespace vlprompt::image
