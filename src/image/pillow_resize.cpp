// Pillow's ImagingResample for 8-bit images with the BICUBIC filter, reproduced bit for bit:
// separable, horizontal pass first into a uint8 intermediate, then vertical; per output pixel a
// window of normalized double weights, turned into 22-bit fixed point, accumulated in int32 with
// a rounding half added, shifted back and clipped to [0, 255].
#include <cmath>
#include <cstring>
#include <vector>

#include "src/core/error.h"
#include "src/image/clip_preprocess.h"

namespace vlprompt::image {
namespace {

// 32-bit accumulator = 8 bits of pixel + 22 bits of weight + 2 bits for the filter's negative
// lobes and sums above one.
constexpr int kPrecisionBits = 32 - 8 - 2;

// Keys' cubic convolution with a = -0.5, Pillow's BICUBIC; support 2.
double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
constexpr double kBicubicSupport = 2.0;

// For each output index along one axis: the first input index, how many inputs, and their
// fixed-point weights (stride `ksize`).
struct AxisWeights {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

AxisWeights axis_weights(int in_size, int out_size) {
  // Pillow passes the box edges as floats and divides in double; with the full box that is
  // exactly in_size / out_size.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  // Shrinking widens the filter by the scale factor: that is the antialiasing.
  const double filter_scale = scale < 1.0 ? 1.0 : scale;
  const double support = kBicubicSupport * filter_scale;
  AxisWeights aw;
  aw.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  aw.first.resize(out_size);
  aw.count.resize(out_size);
  aw.weights.assign(static_cast<size_t>(out_size) * aw.ksize, 0);
  std::vector<double> w(aw.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double inv = 1.0 / filter_scale;
    // Truncating casts, as in Pillow (the clamp makes truncation vs floor irrelevant below 0).
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    const int n = xmax - xmin;
    double total = 0.0;
    for (int x = 0; x < n; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) * inv);
      total += w[x];
    }
    int32_t* k = &aw.weights[static_cast<size_t>(xx) * aw.ksize];
    for (int x = 0; x < n; ++x) {
      const double v = total != 0.0 ? w[x] / total : w[x];
      // Round half away from zero, truncating cast.
      k[x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits)
                                        : 0.5 + v * (1 << kPrecisionBits));
    }
    aw.first[xx] = xmin;
    aw.count[xx] = n;
  }
  return aw;
}

inline uint8_t clip8(int32_t acc) {
  // Arithmetic shift = floor division, as Pillow's lookup table indexes it.
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Rows [row0, row0 + rows) of `src` [*, in_w, ch] -> dst [rows, out_w, ch].
void horizontal_pass(const uint8_t* src, int in_w, int ch, int row0, int rows,
                     const AxisWeights& aw, int out_w, uint8_t* dst) {
  std::vector<int32_t> acc(ch);
  for (int y = 0; y < rows; ++y) {
    const uint8_t* row = src + static_cast<size_t>(row0 + y) * in_w * ch;
    uint8_t* out = dst + static_cast<size_t>(y) * out_w * ch;
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &aw.weights[static_cast<size_t>(xx) * aw.ksize];
      const uint8_t* p = row + static_cast<size_t>(aw.first[xx]) * ch;
      std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
      for (int x = 0; x < aw.count[xx]; ++x, p += ch) {
        for (int c = 0; c < ch; ++c) acc[c] += p[c] * k[x];
      }
      for (int c = 0; c < ch; ++c) out[xx * ch + c] = clip8(acc[c]);
    }
  }
}

// src [*, row_len / ch, ch] -> dst [out_h, row_len / ch, ch]; aw.first is relative to src's
// first row. Integer sums are exact, so accumulating whole rows gives Pillow's per-pixel result.
void vertical_pass(const uint8_t* src, int row_len, const AxisWeights& aw, int row_offset,
                   int out_h, uint8_t* dst) {
  std::vector<int32_t> acc(row_len);
  for (int yy = 0; yy < out_h; ++yy) {
    const int32_t* k = &aw.weights[static_cast<size_t>(yy) * aw.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < aw.count[yy]; ++y) {
      const uint8_t* row = src + static_cast<size_t>(aw.first[yy] - row_offset + y) * row_len;
      const int32_t ky = k[y];
      for (int i = 0; i < row_len; ++i) acc[i] += row[i] * ky;
    }
    uint8_t* out = dst + static_cast<size_t>(yy) * row_len;
    for (int i = 0; i < row_len; ++i) out[i] = clip8(acc[i]);
  }
}

}  // namespace

at::Tensor resize_bicubic(const at::Tensor& hwc, int64_t out_h, int64_t out_w) {
  if (hwc.dim() != 3 || hwc.scalar_type() != at::kByte || hwc.size(0) < 1 || hwc.size(1) < 1 ||
      hwc.size(2) < 1) {
    throw Error("resize_bicubic: expected a non-empty uint8 [H, W, C] image, got " +
                std::string(at::toString(hwc.scalar_type())) + " of shape " +
                c10::str(hwc.sizes()));
  }
  constexpr int64_t kMaxSide = 1 << 20;  // keeps every index and weight count in int
  if (out_h < 1 || out_w < 1 || out_h > kMaxSide || out_w > kMaxSide || hwc.size(0) > kMaxSide ||
      hwc.size(1) > kMaxSide) {
    throw Error("resize_bicubic: output size " + std::to_string(out_h) + "x" +
                std::to_string(out_w) + " for input " + c10::str(hwc.sizes()) +
                " (expected sides in [1, " + std::to_string(kMaxSide) + "])");
  }
  const at::Tensor src = hwc.to(at::kCPU).contiguous();
  const int in_h = static_cast<int>(src.size(0)), in_w = static_cast<int>(src.size(1));
  const int ch = static_cast<int>(src.size(2));
  const int oh = static_cast<int>(out_h), ow = static_cast<int>(out_w);
  const bool need_horizontal = ow != in_w, need_vertical = oh != in_h;
  if (!need_horizontal && !need_vertical) return src.clone();

  const AxisWeights vert = axis_weights(in_h, oh);
  // Only rows the vertical pass reads go through the horizontal pass.
  const int row_first = vert.first[0];
  const int row_last = vert.first[oh - 1] + vert.count[oh - 1];

  at::Tensor mid = src;
  int mid_offset = 0;
  if (need_horizontal) {
    const AxisWeights horiz = axis_weights(in_w, ow);
    mid = at::empty({row_last - row_first, ow, ch}, at::kByte);
    horizontal_pass(src.data_ptr<uint8_t>(), in_w, ch, row_first, row_last - row_first, horiz, ow,
                    mid.data_ptr<uint8_t>());
    mid_offset = row_first;
  }
  if (!need_vertical) return mid;
  at::Tensor out = at::empty({oh, ow, ch}, at::kByte);
  vertical_pass(mid.data_ptr<uint8_t>(), ow * ch, vert, mid_offset, oh, out.data_ptr<uint8_t>());
  return out;
}

}  // namespace vlprompt::image
