// Decoding with OpenCV into what Pillow's Image.open(path).convert("RGB") gives.
#include <filesystem>
#include <string>

#include "src/core/error.h"
#include "src/image/clip_preprocess.h"
#include "src/image/image_header.h"

#if defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

namespace vlprompt::image {

#if defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV
namespace {

// 16-bit samples keep their high byte (v >> 8). That is what Pillow does for 16-bit RGB(A) and
// gray + alpha PNGs (its "RGB;16B" and "LA;16B" unpackers), so those match Python exactly.
inline uint8_t to_u8(uint8_t v) { return v; }
inline uint8_t to_u8(uint16_t v) { return static_cast<uint8_t>(v >> 8); }
// 16-bit grayscale alone is different: Pillow opens it as mode "I" (or "I;16"), and
// convert("RGB") clips each value to 0..255 (Convert.c: i2l / I16_L), so everything from 255 up
// is white. Matched, so that features equal the Python reference's.
inline uint8_t gray_to_u8(uint8_t v) { return v; }
inline uint8_t gray_to_u8(uint16_t v) { return static_cast<uint8_t>(v > 255 ? 255 : v); }

// OpenCV channel order: 1 = gray, 2 = gray + alpha, 3 = BGR, 4 = BGRA. Alpha is dropped, not
// composited, as Pillow's convert("RGB") does.
template <typename T>
at::Tensor to_rgb(const cv::Mat& m) {
  const int64_t h = m.rows, w = m.cols;
  const int ch = m.channels();
  at::Tensor out = at::empty({h, w, 3}, at::kByte);
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t y = 0; y < h; ++y) {
    const T* src = m.ptr<T>(static_cast<int>(y));
    for (int64_t x = 0; x < w; ++x, src += ch, dst += 3) {
      if (ch == 1) {
        dst[0] = dst[1] = dst[2] = gray_to_u8(src[0]);
      } else if (ch == 2) {
        dst[0] = dst[1] = dst[2] = to_u8(src[0]);
      } else {
        dst[0] = to_u8(src[2]);
        dst[1] = to_u8(src[1]);
        dst[2] = to_u8(src[0]);
      }
    }
  }
  return out;
}

}  // namespace

at::Tensor decode_rgb(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw FileError(path, "cannot read image: no such file");
  }
  // The size from the header first: a decompression bomb is refused before it is decoded. A
  // format whose size is not read (TIFF, OpenEXR, JPEG 2000, ...) would be decoded up to
  // OpenCV's own limit of 2^30 pixels (3 GiB as RGB), so it is refused.
  const auto size = read_image_size(path);
  if (!size) {
    throw FileError(path,
                    "cannot decode image: not a PNG, JPEG, BMP, WebP or PNM file whose "
                    "size can be read from its header (other formats are refused before "
                    "decoding, so that one file cannot exhaust memory; convert it to PNG)");
  }
  check_image_pixels(path, *size);
  cv::Mat m;
  try {
    // Pillow does not apply EXIF orientation, so neither do we. (IMREAD_UNCHANGED alone already
    // implies this; the flag says it to the reader.)
    m = cv::imread(path, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw FileError(path, std::string("cannot decode image: ") + e.what());
  }
  if (m.empty()) {
    throw FileError(path, "cannot decode image: not an image format OpenCV reads, or corrupt");
  }
  // Formats whose header is not read above are held to the same limit once decoded.
  check_image_pixels(path, {m.cols, m.rows});
  const int ch = m.channels();
  if (ch < 1 || ch > 4) {
    throw FileError(path,
                    "cannot decode image: " + std::to_string(ch) + " channels (expected 1 to 4)");
  }
  switch (m.depth()) {
    case CV_8U:
      return to_rgb<uint8_t>(m);
    case CV_16U:
      return to_rgb<uint16_t>(m);
    default:
      throw FileError(path, "cannot decode image: OpenCV sample depth " +
                                std::to_string(m.depth()) +
                                " (expected 8- or 16-bit unsigned integers)");
  }
}

#else

at::Tensor decode_rgb(const std::string& path) {
  throw Error(path +
              ": this build has no image decoding (built with VLPROMPT_WITH_OPENCV=OFF); decode "
              "images on a machine with OpenCV, e.g. into a prepared-image store");
}

#endif

}  // namespace vlprompt::image
