#include "src/core/safetensors.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/hash.h"
#include "src/core/npy.h"
#include "tests/test_support.h"

namespace vlprompt::core {
namespace {

std::string safetensors_scratch(const std::string& name) {
  return vlprompt::testing::scratch_dir("core") + "/" + name;
}

TEST(Safetensors, RoundTripKeepsTensorsDtypesAndMetadata) {
  TensorMap t{{"a", at::arange(6, at::kFloat).reshape({2, 3})},
              {"b", at::tensor({1, 2, 3}, at::kLong)},
              {"h", at::ones({4}, at::kHalf)}};
  write_safetensors(safetensors_scratch("rt.safetensors"), t, {{"method", "coop"}});
  TensorFile f = read_safetensors(safetensors_scratch("rt.safetensors"));
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_TRUE(at::equal(f.tensors["a"], t["a"]));
  EXPECT_TRUE(at::equal(f.tensors["b"], t["b"]));
  EXPECT_EQ(f.tensors["h"].scalar_type(), at::kHalf);
  EXPECT_EQ(f.metadata["method"], "coop");
  auto header = read_safetensors_header(safetensors_scratch("rt.safetensors"));
  EXPECT_EQ(header["a"].dtype, "F32");
  EXPECT_EQ(header["a"].shape, (std::vector<int64_t>{2, 3}));
}

// Writes a file whose header is `json` followed by `data_bytes` zero bytes.
std::string raw_file(const std::string& name, const std::string& json, size_t data_bytes) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  out += json + std::string(data_bytes, '\0');
  atomic_write(safetensors_scratch(name), out);
  return safetensors_scratch(name);
}

void expect_error(const std::string& path, const std::string& needle) {
  try {
    read_safetensors(path);
    FAIL() << "no error for " << path;
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Safetensors, MalformedFilesNameFileAndTensor) {
  expect_error(
      raw_file("trunc.st", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
      "tensor 'w'");
  expect_error(raw_file("dtype.st", R"({"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", 4),
               "unknown dtype 'F99'");
  expect_error(raw_file("size.st", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
               "tensor 'w'");
  expect_error(raw_file("json.st", "{not json", 0), "not valid JSON");
  atomic_write(safetensors_scratch("short.st"), "abc");
  expect_error(safetensors_scratch("short.st"), "8-byte");
  std::string big(8, '\xff');
  atomic_write(safetensors_scratch("hlen.st"), big + "{}");
  expect_error(safetensors_scratch("hlen.st"), "header length");
}

TEST(Npy, RoundTripAndHeaderErrors) {
  at::Tensor t = at::randn({2, 3, 4});
  write_npy(safetensors_scratch("x.npy"), t);
  EXPECT_TRUE(at::equal(read_npy(safetensors_scratch("x.npy")), t));
  write_npy(safetensors_scratch("v.npy"), at::arange(5, at::kLong));
  EXPECT_EQ(read_npy(safetensors_scratch("v.npy")).sizes(), at::IntArrayRef({5}));
  atomic_write(safetensors_scratch("bad.npy"), "hello");
  EXPECT_THROW(read_npy(safetensors_scratch("bad.npy")), FileError);
}

TEST(Hash, FingerprintChangesWithAnyValue) {
  TensorMap a{{"w", at::zeros({100})}};
  TensorMap b{{"w", at::zeros({100})}};
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  b["w"][57] = 1e-7;
  EXPECT_NE(fingerprint(a), fingerprint(b));
  TensorMap c{{"v", at::zeros({100})}};
  EXPECT_NE(fingerprint(a), fingerprint(c));
}

TEST(FileIo, AtomicWriteLeavesNoTemporary) {
  atomic_write(safetensors_scratch("sub/dir/f.txt"), "hello");
  EXPECT_EQ(read_file(safetensors_scratch("sub/dir/f.txt")), "hello");
  for (const auto& e : std::filesystem::directory_iterator(safetensors_scratch("sub/dir"))) {
    EXPECT_EQ(e.path().filename(), "f.txt");
  }
  EXPECT_THROW(read_file(safetensors_scratch("missing")), FileError);
}

}  // namespace
}  // namespace vlprompt::core
