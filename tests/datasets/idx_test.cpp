#include "datasets/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "datasets/loader.h"
#include "src/core/error.h"
#include "tests/datasets/dataset_test_util.h"
#include "tests/test_support.h"

namespace vlprompt::datasets {
namespace {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

std::string gzip(const std::string& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// Three 2x3 images whose pixel (i, r, c) is 10*i + 3*r + c, labelled 9, 0, 4.
void write_tiny_idx(const std::string& dir, const std::string& prefix) {
  std::string images = be32(2051) + be32(3) + be32(2) + be32(3);
  for (int i = 0; i < 3; ++i) {
    for (int p = 0; p < 6; ++p) images += static_cast<char>(10 * i + p);
  }
  put(dir, prefix + "-images-idx3-ubyte.gz", gzip(images));
  put(dir, prefix + "-labels-idx1-ubyte", be32(2049) + be32(3) + std::string("\x09\x00\x04", 3));
}

TEST(Idx, ParsesGzipImagesAndPlainLabelsIntoRgbRecords) {
  const std::string dir = fresh_dir("idx");
  write_tiny_idx(dir, "t10k");
  const at::Tensor images = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, 2, 3}));
  EXPECT_EQ(images[2][1][2].item<uint8_t>(), 25);

  CatalogEntry e = load_catalog_entry("fashion_mnist");
  const DatasetSplit s = load_idx_split(e, dir, "test");
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(s.items[0].label, 9);
  EXPECT_EQ(s.items[2].label, 4);
  EXPECT_EQ(s.classnames[9], "ankle boot");
  const at::Tensor px = s.items[1].pixels;
  EXPECT_EQ(px.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(px.scalar_type(), at::kByte);
  EXPECT_TRUE(px.is_contiguous());
  EXPECT_EQ(px[1][0][0].item<uint8_t>(), 13);
  EXPECT_EQ(px[1][0][2].item<uint8_t>(), 13);  // gray replicated into all three channels
  EXPECT_TRUE(s.items[0].path.empty());
}

TEST(Idx, BadMagicWrongLengthAndCountMismatchNameTheFile) {
  const std::string dir = fresh_dir("idx_bad");
  const std::string magic = put(dir, "m.idx", be32(2049) + be32(0) + be32(1) + be32(1));
  EXPECT_EQ(error_of([&] { read_idx_images(magic); }),
            magic + ": IDX magic number is 2049, expected 2051");
  const std::string shortfile =
      put(dir, "s.gz", gzip(be32(2051) + be32(2) + be32(2) + be32(2) + "abc"));
  EXPECT_EQ(error_of([&] { read_idx_images(shortfile); }),
            shortfile + ": IDX header promises 8 data bytes, file has 3");
  const std::string truncated = put(dir, "t.gz", gzip(std::string(100, 'a')).substr(0, 12));
  EXPECT_EQ(error_of([&] { read_idx_images(truncated); }), truncated + ": truncated gzip data");

  write_tiny_idx(dir, "train");
  put(dir, "train-labels-idx1-ubyte", be32(2049) + be32(2) + std::string("\x01\x02", 2));
  CatalogEntry e = load_catalog_entry("fashion_mnist");
  const std::string msg = error_of([&] { load_idx_split(e, dir, "train"); });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte: holds 2 labels but"), std::string::npos) << msg;
  put(dir, "train-labels-idx1-ubyte", be32(2049) + be32(3) + std::string("\x01\x0a\x02", 3));
  EXPECT_NE(error_of([&] {
              load_idx_split(e, dir, "train");
            }).find("label 10 at index 1 is outside [0, 10)"),
            std::string::npos);
}

TEST(Idx, RealFashionMnistTestSplit) {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(root + "/t10k-images-idx3-ubyte.gz")) {
    // tools/setup.sh installs it (dataset-fashion-mnist): CI must have it.
    if (vlprompt::testing::running_in_ci()) FAIL() << "Fashion-MNIST not installed at " << root;
    GTEST_SKIP() << "Fashion-MNIST not installed at " << root;
  }
  const DatasetSplit s = load_split("fashion_mnist", "", "test");
  ASSERT_EQ(s.items.size(), 10000u);
  EXPECT_EQ(s.root, root);
  EXPECT_EQ(s.template_text, "a photo of a {}, a type of clothing.");
  EXPECT_EQ(s.items[0].label, 9);  // the first t10k image is an ankle boot
  EXPECT_EQ(s.items[0].pixels.sizes(), (std::vector<int64_t>{28, 28, 3}));
  std::vector<int> per_class(10, 0);
  for (const auto& r : s.items) ++per_class[static_cast<size_t>(r.label)];
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  EXPECT_NE(error_of([&] { load_split("fashion_mnist", "", "val"); }).find("'val'"),
            std::string::npos);
}

}  // namespace
}  // namespace vlprompt::datasets
