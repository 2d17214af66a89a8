#include <gtest/gtest.h>

#include <cstdlib>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/image/clip_preprocess.h"
#include "src/image/image_header.h"
#include "tests/image/image_fixtures.h"
#include "tests/test_support.h"

namespace vlprompt::image {
namespace {

using testing::image_fixture;
using testing::image_fixture_npy;

#if defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV

// Pillow's Image.open(path).convert("RGB"), byte for byte.
TEST(DecodeRgb, MatchesPillowConvertRgb) {
  for (const std::string name : {"rgb", "gray", "rgba", "rgb16", "gray16"}) {
    SCOPED_TRACE(name);
    const at::Tensor expected = image_fixture_npy(name + "_decoded");
    const at::Tensor got = decode_rgb(image_fixture(name + ".png"));
    ASSERT_EQ(got.sizes(), expected.sizes());
    ASSERT_EQ(got.scalar_type(), at::kByte);
    EXPECT_EQ(testing::max_abs_diff(got, expected), 0);
  }
}

// Regression: 16-bit gray kept its high byte (mean 119 where Pillow gives 254). Pillow
// opens it as mode "I" and convert("RGB") clips each value to 0..255.
TEST(DecodeRgb, Gray16ClipsAt255InAllThreeChannelsAsPillowDoes) {
  const at::Tensor values = image_fixture_npy("gray16_values");
  const at::Tensor got = decode_rgb(image_fixture("gray16.png"));
  const at::Tensor expected = values.clamp_max(255).to(at::kByte);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{values.size(0), values.size(1), 3}));
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(at::equal(got.select(2, c), expected)) << "channel " << c;
}

TEST(DecodeRgb, MissingFileIsAFileErrorNamingIt) {
  const std::string path = testing::scratch_dir("decode") + "/does_not_exist.jpg";
  try {
    decode_rgb(path);
    FAIL() << "no error for a missing file";
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// Garbage under a .jpg name: once with a JPEG start marker (the JPEG decoder fails), once
// without (no decoder claims it).
TEST(DecodeRgb, CorruptFileIsAFileErrorNamingIt) {
  const std::string bodies[] = {"\xff\xd8\xff this is not a JPEG at all \x01\x02\x03",
                                "plain garbage bytes, no image signature"};
  for (size_t i = 0; i < 2; ++i) {
    const std::string path =
        testing::scratch_dir("decode") + "/garbage" + std::to_string(i) + ".jpg";
    core::atomic_write(path, bodies[i]);
    try {
      decode_rgb(path);
      ADD_FAILURE() << "no error for corrupt file " << path;
    } catch (const FileError& e) {
      EXPECT_EQ(e.path(), path);
      EXPECT_NE(std::string(e.what()).find(path + ": cannot decode image"), std::string::npos)
          << e.what();
    }
  }
}

// Regression: a valid 20000 x 20000 PNG decoded to gigabytes. The header's size is
// checked against Pillow's MAX_IMAGE_PIXELS (or $VLPROMPT_MAX_IMAGE_PIXELS) before decoding.
TEST(DecodeRgb, HugeImagesAreRefusedFromTheirHeaderNamingFileAndSize) {
  // A PNG signature and an IHDR chunk alone: nothing to decode, only a size to read.
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += std::string("\x00\x00\x00\x0dIHDR", 8);
  for (uint32_t v : {20000u, 20000u}) {
    for (int i = 3; i >= 0; --i) png += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  png += std::string("\x08\x02\x00\x00\x00\x00\x00\x00\x00", 9);
  const std::string path = testing::scratch_dir("decode") + "/huge.png";
  core::atomic_write(path, png);
  std::string msg = testing::error_of([&] { decode_rgb(path); });
  EXPECT_NE(msg.find(path + ": image is 20000 x 20000 pixels, more than the limit of 89478485"),
            std::string::npos)
      << msg;
  // The limit is configurable; a small one refuses an ordinary fixture after decoding its header.
  setenv("VLPROMPT_MAX_IMAGE_PIXELS", "100", 1);
  msg = testing::error_of([&] { decode_rgb(image_fixture("rgb.png")); });
  EXPECT_NE(msg.find("more than the limit of 100"), std::string::npos) << msg;
  setenv("VLPROMPT_MAX_IMAGE_PIXELS", "lots", 1);
  msg = testing::error_of([&] { decode_rgb(image_fixture("rgb.png")); });
  EXPECT_NE(msg.find("VLPROMPT_MAX_IMAGE_PIXELS is 'lots'"), std::string::npos) << msg;
  unsetenv("VLPROMPT_MAX_IMAGE_PIXELS");
  EXPECT_NO_THROW(decode_rgb(image_fixture("rgb.png")));
}

// Netpbm files have their size read from the header too (comments allowed), and decode exactly.
TEST(DecodeRgb, PnmDecodesWithItsSizeReadFromTheHeader) {
  std::string ppm = "P6\n# written by hand\n3 2\n255\n";
  for (int i = 0; i < 18; ++i) ppm += static_cast<char>(i * 10);
  const std::string path = testing::scratch_dir("decode") + "/small.ppm";
  core::atomic_write(path, ppm);
  const auto size = read_image_size(path);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 3);
  EXPECT_EQ(size->height, 2);
  const at::Tensor got = decode_rgb(path);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(got[1][2][0].item<int>(), 150);  // pixel (row 1, col 2) starts at byte 15
  EXPECT_EQ(got[1][2][2].item<int>(), 170);
}

// Regression (found while fuzzing): formats whose size was not read from the header
// went to OpenCV, which allocates up to 2^30 pixels before reading any of them. A PAM header
// claiming 20000 x 20000 is now refused before decoding.
TEST(DecodeRgb, FormatsWithoutAReadableSizeAreRefusedBeforeDecoding) {
  const std::string pam =
      "P7\nWIDTH 20000\nHEIGHT 20000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n";
  const std::string path = testing::scratch_dir("decode") + "/huge.pam";
  core::atomic_write(path, pam + std::string(12, '\x7f'));
  EXPECT_FALSE(read_image_size(path).has_value());
  const std::string msg = testing::error_of([&] { decode_rgb(path); });
  EXPECT_NE(msg.find(path + ": cannot decode image: not a PNG, JPEG, BMP, WebP or PNM file"),
            std::string::npos)
      << msg;
}

#else

TEST(DecodeRgb, RefusedPlainlyWithoutOpenCV) {
  try {
    decode_rgb("x.jpg");
    FAIL() << "decoding without OpenCV did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no image decoding"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.jpg"), std::string::npos) << e.what();
  }
}

#endif

}  // namespace
}  // namespace vlprompt::image
