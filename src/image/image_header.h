// An image's width and height read from its header, before any pixel is decoded, so that one
// huge (or lying) file cannot exhaust memory: a valid 20000 x 20000 PNG decodes to 1.2 GB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vlprompt::image {

struct ImageSize {
  int64_t width = 0, height = 0;
};

// PNG, JPEG, BMP, WebP and PNM (P1..P6) headers; nullopt for other formats (which decode_rgb
// refuses) or a header too short to tell.
std::optional<ImageSize> read_image_size(const std::string& path);

// Pillow's Image.MAX_IMAGE_PIXELS (89,478,485, about a quarter gigapixel), or
// $VLPROMPT_MAX_IMAGE_PIXELS when set (0 = no limit). Error naming the variable when it is not
// a non-negative integer.
int64_t max_image_pixels();

// FileError naming the file, its size and the limit when width * height exceeds
// max_image_pixels().
void check_image_pixels(const std::string& path, const ImageSize& size);

}  // namespace vlprompt::image
