#include "src/image/sketch.h"

#include "src/core/error.h"

#if defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace vlprompt::image {

at::Tensor edge_sketch(const at::Tensor& rgb) {
  if (rgb.scalar_type() != at::kByte || rgb.dim() != 3 || rgb.size(2) != 3) {
    throw Error("edge_sketch: expected uint8 [H, W, 3] RGB, got " +
                std::string(at::toString(rgb.scalar_type())) + " " + c10::str(rgb.sizes()));
  }
#if defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV
  const at::Tensor src = rgb.contiguous();
  const int h = static_cast<int>(src.size(0)), w = static_cast<int>(src.size(1));
  const cv::Mat color(h, w, CV_8UC3, const_cast<uint8_t*>(src.data_ptr<uint8_t>()));
  cv::Mat gray, edges;
  cv::cvtColor(color, gray, cv::COLOR_RGB2GRAY);
  cv::Canny(gray, edges, 50, 150, 3, /*L2gradient=*/true);
  at::Tensor out = at::empty({h, w}, at::kByte);
  cv::Mat ink(h, w, CV_8UC1, out.data_ptr<uint8_t>());
  cv::bitwise_not(edges, ink);  // edges are 255 on 0: lines become black on white paper
  return out.unsqueeze(2).repeat({1, 1, 3}).contiguous();
#else
  throw Error(
      "edge_sketch: this build has no OpenCV (VLPROMPT_WITH_OPENCV=OFF); sketch datasets "
      "cannot be made here");
#endif
}

}  // namespace vlprompt::image
