#include "src/image/image_header.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "src/core/error.h"

namespace vlprompt::image {
namespace {

// Pillow's default decompression-bomb limit (PIL.Image.MAX_IMAGE_PIXELS).
constexpr int64_t kPillowMaxImagePixels = 89478485;

uint32_t be(const std::string& b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
uint32_t le(const std::string& b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// JPEG: walk the marker segments to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
std::optional<ImageSize> jpeg_size(std::ifstream& in) {
  in.seekg(2);
  for (int segments = 0; segments < 4096; ++segments) {
    std::string m(4, '\0');
    if (!in.read(&m[0], 4)) return std::nullopt;
    if (static_cast<unsigned char>(m[0]) != 0xFF) return std::nullopt;
    const unsigned marker = static_cast<unsigned char>(m[1]);
    const uint32_t length = be(m, 2, 2);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      std::string sof(5, '\0');
      if (!in.read(&sof[0], 5)) return std::nullopt;
      return ImageSize{be(sof, 3, 2), be(sof, 1, 2)};
    }
    if (length < 2) return std::nullopt;
    in.seekg(length - 2, std::ios::cur);
  }
  return std::nullopt;
}

// Netpbm (P1..P6): the magic, then width and height as decimal text, separated by whitespace and
// '#' comments. Only the first 4 KiB are looked at.
std::optional<ImageSize> pnm_size(const std::string& h) {
  size_t at = 2;
  int64_t values[2];
  for (int64_t& v : values) {
    while (at < h.size() && (std::isspace(static_cast<unsigned char>(h[at])) || h[at] == '#')) {
      if (h[at] == '#') {
        while (at < h.size() && h[at] != '\n' && h[at] != '\r') ++at;
      } else {
        ++at;
      }
    }
    const size_t start = at;
    v = 0;
    while (at < h.size() && std::isdigit(static_cast<unsigned char>(h[at])) && at - start < 10) {
      v = v * 10 + (h[at++] - '0');
    }
    if (at == start || at >= h.size() || !std::isspace(static_cast<unsigned char>(h[at]))) {
      return std::nullopt;
    }
  }
  return ImageSize{values[0], values[1]};
}

}  // namespace

std::optional<ImageSize> read_image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string h(4096, '\0');
  in.read(&h[0], 4096);
  h.resize(static_cast<size_t>(in.gcount()));
  in.clear();
  if (h.size() >= 24 && h.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 &&
      h.compare(12, 4, "IHDR") == 0) {
    return ImageSize{be(h, 16, 4), be(h, 20, 4)};
  }
  if (h.size() >= 4 && static_cast<unsigned char>(h[0]) == 0xFF &&
      static_cast<unsigned char>(h[1]) == 0xD8) {
    return jpeg_size(in);
  }
  if (h.size() >= 26 && h.compare(0, 2, "BM") == 0) {
    const int32_t w = static_cast<int32_t>(le(h, 18, 4)), hh = static_cast<int32_t>(le(h, 22, 4));
    return ImageSize{std::abs(static_cast<int64_t>(w)), std::abs(static_cast<int64_t>(hh))};
  }
  if (h.size() >= 30 && h.compare(0, 4, "RIFF") == 0 && h.compare(8, 4, "WEBP") == 0) {
    if (h.compare(12, 4, "VP8X") == 0) return ImageSize{le(h, 24, 3) + 1, le(h, 27, 3) + 1};
    if (h.compare(12, 4, "VP8L") == 0) {
      const uint32_t bits = le(h, 21, 4);
      return ImageSize{(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
    }
    if (h.compare(12, 4, "VP8 ") == 0)
      return ImageSize{le(h, 26, 2) & 0x3FFF, le(h, 28, 2) & 0x3FFF};
  }
  if (h.size() >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6') return pnm_size(h);
  return std::nullopt;
}

int64_t max_image_pixels() {
  const char* env = std::getenv("VLPROMPT_MAX_IMAGE_PIXELS");
  if (!env || !*env) return kPillowMaxImagePixels;
  char* end = nullptr;
  const long long v = std::strtoll(env, &end, 10);
  if (*end != '\0' || v < 0) {
    throw Error(std::string("VLPROMPT_MAX_IMAGE_PIXELS is '") + env +
                "'; expected a non-negative integer (0 = no limit)");
  }
  return v;
}

void check_image_pixels(const std::string& path, const ImageSize& size) {
  const int64_t limit = max_image_pixels();
  if (limit == 0) return;
  const __int128 pixels = static_cast<__int128>(size.width) * size.height;
  if (pixels <= limit) return;
  throw FileError(path, "image is " + std::to_string(size.width) + " x " +
                            std::to_string(size.height) + " pixels, more than the limit of " +
                            std::to_string(limit) +
                            " (Pillow's MAX_IMAGE_PIXELS); raise VLPROMPT_MAX_IMAGE_PIXELS to "
                            "decode it, or shrink the image");
}

}  // namespace vlprompt::image
