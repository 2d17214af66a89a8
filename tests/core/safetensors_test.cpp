#include "src/core/safetensors.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

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

TEST(Safetensors, OverflowingShapesOverlapsAndUnusedBytesAreRefused) {
  // 2^32 x 2^32 elements: the element count overflows int64; F64 of 2^61 elements, the bytes do.
  expect_error(
      raw_file("overflow.st",
               R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
      "too large for a tensor");
  expect_error(
      raw_file("overflow_bytes.st",
               R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", 0),
      "overflows 64 bits");
  // Two tensors over the same bytes would alias each other.
  expect_error(raw_file("overlap.st",
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12),
               "overlapping tensors");
  expect_error(raw_file("hole.st",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                        12),
               "unused bytes");
  expect_error(raw_file("tail.st", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8),
               "cover 4 of the 8 data bytes");
  // The header-only reader applies the same rules.
  EXPECT_THROW(read_safetensors_header(safetensors_scratch("overlap.st")), FileError);
}

TEST(Npy, CraftedHeadersAreFileErrorsBeforeAnyAllocation) {
  auto npy = [](const std::string& name, const std::string& header, size_t data) {
    std::string out = std::string("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header + std::string(data, '\0');
    atomic_write(safetensors_scratch(name), out);
    return safetensors_scratch(name);
  };
  auto message = [](const std::string& path) -> std::string {
    try {
      read_npy(path);
    } catch (const FileError& e) {
      return e.what();
    }
    return "(no error)";
  };
  // Asks for 8 * 10^15 bytes with 16 in the file: refused without trying to allocate.
  std::string m = message(npy(
      "huge.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000, ), }", 16));
  EXPECT_NE(m.find("truncated .npy data"), std::string::npos) << m;
  m = message(
      npy("overflow.npy",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", 0));
  EXPECT_NE(m.find("too large for a tensor"), std::string::npos) << m;
  m = message(npy("unquoted.npy", "{'descr': f4, 'fortran_order': False, 'shape': (1, ), }", 4));
  EXPECT_NE(m.find("not a quoted string"), std::string::npos) << m;
  m = message(npy("open_paren.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, ", 4));
  EXPECT_NE(m.find("cut short"), std::string::npos) << m;
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

TEST(Hash, FingerprintIsTheDocumentedSha256) {
  // Expected values from Python's hashlib over the documented byte layout (src/core/hash.h):
  // per tensor, by name: u64 length + name, u64 length + dtype name, u64 rank, u64 sizes,
  // u64 byte count + bytes.
  EXPECT_EQ(fingerprint({{"w", at::arange(4, at::kFloat)}}),
            "sha256:8c35d347f7f967a099e5c6deeb0d4d7ca9afb410d3d3cb5b8a123bedfb856801");
  EXPECT_EQ(
      fingerprint({{"b", at::arange(1, 4, at::kLong).view({3, 1})}, {"a", at::zeros({2, 2})}}),
      "sha256:1ffd6ab9e128b1370442d9104e7814a9d96561f774e87a183e0845a117b36908");
}

TEST(FileIo, AtomicWriteLeavesNoTemporary) {
  atomic_write(safetensors_scratch("sub/dir/f.txt"), "hello");
  EXPECT_EQ(read_file(safetensors_scratch("sub/dir/f.txt")), "hello");
  for (const auto& e : std::filesystem::directory_iterator(safetensors_scratch("sub/dir"))) {
    EXPECT_EQ(e.path().filename(), "f.txt");
  }
  EXPECT_THROW(read_file(safetensors_scratch("missing")), FileError);
}

// Every whole-file read (class lists, HF CLIP and PEFT configs, templates) refuses what is not a
// regular file at once: a FIFO used to block the read forever, a device to stream without end.
TEST(FileIo, ReadFileRefusesFifosDevicesAndFoldersWithoutBlocking) {
  const std::string fifo = safetensors_scratch("fifo");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const std::string m = ::vlprompt::testing::error_of([&] { read_file(fifo); });
  EXPECT_NE(m.find(fifo + ": is a FIFO; expected a regular file"), std::string::npos) << m;
  const std::string dev = ::vlprompt::testing::error_of([&] { read_file("/dev/zero"); });
  EXPECT_NE(dev.find("/dev/zero: is a character device"), std::string::npos) << dev;
  const std::string dir = ::vlprompt::testing::error_of([&] { read_file("/tmp"); });
  EXPECT_NE(dir.find("/tmp: is a folder"), std::string::npos) << dir;
}

}  // namespace
}  // namespace vlprompt::core
