#include "src/image/prepared_store.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/image/clip_preprocess.h"
#include "tests/test_support.h"

namespace vlprompt::image {
namespace {

at::Tensor random_image(int64_t h, int64_t w, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, 256, {h, w, 3}, gen, at::kByte);
}

std::string fresh_path(const std::string& name) {
  const std::string path = testing::scratch_dir("prepared_store") + "/" + name;
  std::filesystem::remove(path);
  return path;
}

std::vector<PreparedSource> memory_sources() {
  return {
      {"", random_image(20, 30, 1)}, {"", random_image(600, 500, 2)}, {"", random_image(7, 5, 3)}};
}

TEST(PreparedStore, RoundTripOfInMemoryImagesWithTheShortSideCapped) {
  const auto sources = memory_sources();
  const std::string path = fresh_path("memory.safetensors");
  const PreparedStore built = PreparedStore::build(sources, path, /*max_short_side=*/448);
  EXPECT_FALSE(built.reused());
  const PreparedStore store = PreparedStore::open(path);
  ASSERT_EQ(store.size(), 3);
  EXPECT_TRUE(at::equal(store.image(0), sources[0].pixels));
  EXPECT_TRUE(at::equal(store.image(2), sources[2].pixels));
  // 600 x 500: the short side 500 > 448 -> 448 wide, int(448 * 600 / 500) = 537 high.
  EXPECT_EQ(store.image(1).sizes(), at::IntArrayRef({537, 448, 3}));
  EXPECT_TRUE(at::equal(store.image(1), resize_bicubic(sources[1].pixels, 537, 448)));
  // Views into one blob, not copies.
  EXPECT_TRUE(store.image(0).storage().is_alias_of(store.image(2).storage()));
  EXPECT_TRUE(store.skipped().empty());
  EXPECT_EQ(store.max_short_side(), 448);
  EXPECT_THROW(store.image(3), Error);
}

TEST(PreparedStore, ReusedWhenSourcesMatchRebuiltWhenTheyChange) {
  auto sources = memory_sources();
  const std::string path = fresh_path("reuse.safetensors");
  PreparedStore::build(sources, path);
  const PreparedStore again = PreparedStore::build(sources, path);
  EXPECT_TRUE(again.reused());
  EXPECT_TRUE(at::equal(again.image(2), sources[2].pixels));
  // Other cap: other content.
  EXPECT_FALSE(PreparedStore::build(sources, path, 0).reused());
  EXPECT_EQ(PreparedStore::open(path).image(1).sizes(), at::IntArrayRef({600, 500, 3}));
  sources[2].pixels = random_image(7, 5, 99);
  const PreparedStore changed = PreparedStore::build(sources, path, 0);
  EXPECT_FALSE(changed.reused());
  EXPECT_TRUE(at::equal(changed.image(2), sources[2].pixels));
}

TEST(PreparedStore, UnreadableSourceIsAnErrorOrASkippedEntry) {
  const std::string missing = testing::scratch_dir("prepared_store") + "/no_such_image.png";
  std::vector<PreparedSource> sources = {
      {"", random_image(4, 4, 1)}, {missing, {}}, {"", random_image(5, 6, 2)}};
  const std::string path = fresh_path("skip.safetensors");
  try {
    PreparedStore::build(sources, path);
    FAIL() << "an unreadable image was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_FALSE(core::file_exists(path));
  const PreparedStore store = PreparedStore::build(sources, path, 448, /*skip_unreadable=*/true);
  ASSERT_EQ(store.size(), 3);
  EXPECT_EQ(store.skipped(), std::vector<int64_t>{1});
  EXPECT_FALSE(store.has_image(1));
  EXPECT_THROW(store.image(1), Error);
  EXPECT_TRUE(at::equal(PreparedStore::open(path).image(2), sources[2].pixels));
  // A caller who needs every image does not get the store with a hole in it.
  EXPECT_THROW(PreparedStore::build(sources, path), Error);
}

TEST(PreparedStore, BadPixelsAndBadFilesNameTheCulprit) {
  std::vector<PreparedSource> sources = {{"", at::zeros({4, 4, 3}, at::kFloat)}};
  try {
    PreparedStore::build(sources, fresh_path("bad.safetensors"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("in-memory image 0"), std::string::npos) << e.what();
  }
  const std::string junk = fresh_path("junk.safetensors");
  core::atomic_write(junk, "not a safetensors file");
  try {
    PreparedStore::open(junk);
    FAIL();
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), junk);
  }
  // A junk file under the store's name is only a stale cache: build replaces it.
  EXPECT_FALSE(PreparedStore::build(memory_sources(), junk).reused());
  EXPECT_EQ(PreparedStore::open(junk).size(), 3);
}

TEST(PreparedStore, CifarJpegsEqualDecodeRgb) {
  VLP_REQUIRE_SHARED("data/cifar10");
#if !(defined(VLPROMPT_WITH_OPENCV) && VLPROMPT_WITH_OPENCV)
  GTEST_SKIP() << "built without OpenCV: no decoding";
#endif
  std::vector<std::string> files;
  for (const auto& e :
       std::filesystem::directory_iterator(testing::shared_path("data/cifar10/train/cat"))) {
    files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  files.resize(std::min<size_t>(files.size(), 12));
  ASSERT_FALSE(files.empty());
  std::vector<PreparedSource> sources;
  for (const auto& f : files) sources.push_back({f, {}});
  const std::string path = fresh_path("cifar.safetensors");
  PreparedStore::build(sources, path);
  const PreparedStore store = PreparedStore::open(path);
  ASSERT_EQ(store.size(), static_cast<int64_t>(files.size()));
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_TRUE(at::equal(store.image(static_cast<int64_t>(i)), decode_rgb(files[i]))) << files[i];
  }
  EXPECT_TRUE(PreparedStore::build(sources, path).reused());
}

}  // namespace
}  // namespace vlprompt::image
