// Image decoding (PNG, JPEG, BMP, ... through OpenCV, Pillow's RGB conversion), the header read
// that enforces the pixel cap before decoding, and CLIP's resize + crop of what was decoded.
#include <cstdlib>

#include "src/image/clip_preprocess.h"
#include "src/image/image_header.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace image = vlprompt::image;

VLPROMPT_FUZZ_TARGET(image) {
  // A 65536-pixel cap (the default is Pillow's 89M): larger valid images are refused, not
  // decoded, which keeps each execution fast; the cap itself is what is under test.
  static const bool capped = setenv("VLPROMPT_MAX_IMAGE_PIXELS", "65536", 1) == 0;
  (void)capped;
  const std::string path = fz::write_input(data, size, "input.img");
  const auto header_size = image::read_image_size(path);
  const at::Tensor rgb = image::decode_rgb(path);
  if (rgb.dim() != 3 || rgb.size(2) != 3 || rgb.scalar_type() != at::kByte) {
    fz::fail("decode_rgb did not give uint8 [H, W, 3]");
  }
  if (rgb.size(0) * rgb.size(1) > 65536) fz::fail("decoded past the pixel cap");
  // The cap is checked on the header's size, so the header must tell the truth.
  if (header_size && (header_size->height != rgb.size(0) || header_size->width != rgb.size(1))) {
    fz::fail("header says " + std::to_string(header_size->width) + "x" +
             std::to_string(header_size->height) + ", decoded " + std::to_string(rgb.size(1)) +
             "x" + std::to_string(rgb.size(0)));
  }
  image::resize_center_crop(rgb, 8);
}
