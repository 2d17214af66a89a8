// Photos turned into line drawings, for a "sketch" domain made from any image dataset
// (cifar10-sketch): a deterministic function of the pixels, so a dataset built from it is fixed.
#pragma once

#include <ATen/ATen.h>

namespace vlprompt::image {

// uint8 [H, W, 3] RGB -> uint8 [H, W, 3]: black edge lines on white. Gray (ITU-R 601 weights,
// OpenCV's cvtColor), Canny with hysteresis thresholds 50 / 150 on a 3x3 Sobel (L2 gradient), then
// inverted and replicated to three channels. Without OpenCV an Error saying so.
at::Tensor edge_sketch(const at::Tensor& rgb);

}  // namespace vlprompt::image
