// Regressions from fuzzing: a shape with an empty dimension holds no element, so the
// byte-count checks passed, but the other sizes' product became the tensor's strides and
// overflowed int64 (an exception from inside ATen with no file name, or worse).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "datasets/idx.h"
#include "src/core/file_io.h"
#include "src/core/npy.h"
#include "src/core/safetensors.h"
#include "src/core/shape_check.h"
#include "tests/test_support.h"

namespace vlprompt::core::header_shapes_test {
namespace {

constexpr int64_t k2p40 = int64_t{1} << 40;

std::string scratch(const std::string& name) {
  return testing::scratch_dir("header_shapes") + "/" + name;
}

TEST(HeaderShapes, CheckedNumelCountsEmptyDimensionsInTheStrides) {
  EXPECT_EQ(checked_numel({}), 1u);
  EXPECT_EQ(checked_numel({3, 4}), 12u);
  EXPECT_EQ(checked_numel({0, 5}), 0u);
  EXPECT_EQ(checked_numel({0, k2p40, k2p40}), std::nullopt);      // 2^80 in the strides
  EXPECT_EQ(checked_numel({k2p40, 1 << 22}), uint64_t{1} << 62);  // 2^62 fits in int64...
  EXPECT_EQ(checked_numel({k2p40, 1 << 23}), std::nullopt);       // ...2^63 does not
  EXPECT_EQ(checked_numel({2, -1}), std::nullopt);
}

TEST(HeaderShapes, SafetensorsWithAnEmptyDimensionAndHugeOthersIsRefused) {
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  const std::string path = scratch("empty_huge.safetensors");
  atomic_write(path, bytes + header);
  const std::string msg = testing::error_of([&] { read_safetensors(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("too large for a tensor"), std::string::npos) << msg;
}

TEST(HeaderShapes, NpyWithAnEmptyDimensionAndHugeOthersIsRefused) {
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1099511627776, "
      "1099511627776), }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  const std::string path = scratch("empty_huge.npy");
  atomic_write(path, bytes + header);
  const std::string msg = testing::error_of([&] { read_npy(path); });
  EXPECT_NE(msg.find(path + ": .npy shape"), std::string::npos) << msg;
  EXPECT_NE(msg.find("too large for a tensor"), std::string::npos) << msg;
}

TEST(HeaderShapes, IdxWithNoImagesButHugeSidesIsRefused) {
  // magic 2051, count 0, rows = cols = 2^32 - 1: 16 header bytes, 0 data bytes "as promised".
  const std::string bytes("\x00\x00\x08\x03\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff", 16);
  const std::string path = scratch("empty_huge-idx3-ubyte");
  atomic_write(path, bytes);
  const std::string msg = testing::error_of([&] { datasets::read_idx_images(path); });
  EXPECT_NE(msg.find(path + ": IDX header sizes are too large"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vlprompt::core::header_shapes_test
