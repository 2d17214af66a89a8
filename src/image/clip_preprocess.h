// Images as CLIP sees them: decoded to RGB uint8, short side resized with Pillow's bicubic
// (antialiased when shrinking, as CLIP was trained), center-cropped, scaled to [0,1] and
// normalized with CLIP's mean/std.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace vlprompt::image {

// CLIP's normalization constants (OpenAI clip/clip.py).
constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

// Decodes any file OpenCV reads into uint8 [H, W, 3] RGB as Pillow's convert("RGB") does (gray
// replicated, alpha dropped, 16-bit reduced to its high byte except 16-bit gray, clipped to 255;
// EXIF orientation ignored). More pixels than max_image_pixels() (image_header.h) is a FileError
// before decoding. FileError naming the file when unreadable; without OpenCV (VLPROMPT_WITH_OPENCV
// off) an Error saying decoding is unavailable.
at::Tensor decode_rgb(const std::string& path);

// Pillow-exact bicubic resize of uint8 [H, W, C] to [out_h, out_w, C] (support widened by the
// scale when shrinking = antialiasing; fixed-point arithmetic as Pillow's 8-bit path).
at::Tensor resize_bicubic(const at::Tensor& hwc, int64_t out_h, int64_t out_w);

// Resize short side to `resolution` (long side int(resolution * long / short)), center crop
// (offset round((size - resolution) / 2)) -> uint8 [R, R, 3].
at::Tensor resize_center_crop(const at::Tensor& hwc, int64_t resolution);

// uint8 [R, R, 3] (or [N, R, R, 3]) -> float [3, R, R] ([N, 3, R, R]) /255, CLIP mean/std.
at::Tensor normalize(const at::Tensor& hwc_uint8);

// decode_rgb + resize_center_crop + normalize.
at::Tensor load_for_clip(const std::string& path, int64_t resolution);

}  // namespace vlprompt::image
