#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/image/clip_preprocess.h"
#include "tests/image/image_fixtures.h"
#include "tests/test_support.h"

namespace vlprompt::image {
namespace {

using testing::image_fixture;
using testing::image_fixture_npy;

#if defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV

// Pillow's Image.open(path).convert("RGB"), byte for byte.
TEST(DecodeRgb, MatchesPillowConvertRgb) {
  for (const std::string name : {"rgb", "gray", "rgba", "rgb16"}) {
    SCOPED_TRACE(name);
    const at::Tensor expected = image_fixture_npy(name + "_decoded");
    const at::Tensor got = decode_rgb(image_fixture(name + ".png"));
    ASSERT_EQ(got.sizes(), expected.sizes());
    ASSERT_EQ(got.scalar_type(), at::kByte);
    EXPECT_EQ(testing::max_abs_diff(got, expected), 0);
  }
}

TEST(DecodeRgb, Gray16KeepsTheHighByteInAllThreeChannels) {
  const at::Tensor values = image_fixture_npy("gray16_values");
  const at::Tensor got = decode_rgb(image_fixture("gray16.png"));
  const at::Tensor expected = at::floor_divide(values, 256).to(at::kByte);
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
