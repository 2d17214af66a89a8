// Regression: every unreadable image suggested --skip-unreadable, which only
// `vlprompt zeroshot` accepts. The message names the file and says where the flag exists.
#include <gtest/gtest.h>

#include "clip_data/feature_cache.h"
#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::clip_data {
namespace unreadable_image_test {

TEST(UnreadableImage, ErrorNamesTheFileAndSaysOnlyZeroshotCanSkipIt) {
  const std::string path = ::vlprompt::testing::scratch_dir("unreadable") + "/broken.png";
  core::atomic_write(path, "not an image");
  datasets::ImageRecord record;
  record.path = path;
  const std::string msg = ::vlprompt::testing::error_of(
      [&] { load_clip_images({record}, 32, /*skip_unreadable=*/false, nullptr, nullptr); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("only `vlprompt zeroshot` can leave unreadable images out"), std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("(pass --skip-unreadable"), std::string::npos) << msg;
}

}  // namespace unreadable_image_test
}  // namespace vlprompt::clip_data
