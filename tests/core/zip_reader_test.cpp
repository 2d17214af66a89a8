#include "src/core/zip_reader.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/zip_writer.h"
#include "tests/test_support.h"

namespace vlprompt::core::zip_reader_test {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Written by Python's zipfile (the independent reference): "archive/version" stored as "3\n",
// "archive/data.pkl" deflated, b"prompt " * 40.
const std::string kPythonZip = from_hex(
    "504b030414000000000000002100d19e675502000000020000000f000000617263686976652f76657273696f6e330a"
    "50"
    "4b0304140000000800000021008aacadd50d0000001801000010000000617263686976652f646174612e706b6c2b28"
    "ca"
    "cf2d28512818a5502900504b0102140314000000000000002100d19e675502000000020000000f0000000000000000"
    "00"
    "0000800100000000617263686976652f76657273696f6e504b01021403140000000800000021008aacadd50d000000"
    "18"
    "01000010000000000000000000000080012f000000617263686976652f646174612e706b6c504b0506000000000200"
    "02"
    "007b0000006a0000000000");

std::string write(const std::string& name, const std::string& bytes) {
  const std::string path = testing::scratch_dir("zip_reader") + "/" + name;
  atomic_write(path, bytes);
  return path;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ZipReader, ReadsStoredAndDeflatedRecordsWrittenByPython) {
  ZipReader zip(write("python.zip", kPythonZip));
  ASSERT_EQ(zip.entries().size(), 2u);
  EXPECT_EQ(zip.entries()[0].name, "archive/version");
  EXPECT_EQ(zip.entries()[1].method, 8);
  EXPECT_EQ(zip.read(*zip.find("archive/version")), "3\n");
  EXPECT_EQ(zip.read(*zip.find("archive/data.pkl")), repeat("prompt ", 40));
  EXPECT_EQ(zip.find("archive/missing"), nullptr);
}

TEST(ZipReader, ReadsWhatTheWriterWrites) {
  const std::string big(100000, 'x');
  ZipReader zip(write("ours.zip", zip_stored({{"a/x", "hello"}, {"a/empty", ""}, {"a/big", big}})));
  ASSERT_EQ(zip.entries().size(), 3u);
  EXPECT_EQ(zip.entries()[0].data_offset % 64, 0u);  // the writer's alignment, seen by the reader
  EXPECT_EQ(zip.read(zip.entries()[0]), "hello");
  EXPECT_EQ(zip.read(zip.entries()[1]), "");
  EXPECT_EQ(zip.read(zip.entries()[2]), big);
}

TEST(ZipReader, EveryCutIsAnErrorNamingTheFile) {
  const std::string path = testing::scratch_dir("zip_reader") + "/cut.zip";
  for (size_t size = 0; size < kPythonZip.size(); ++size) {
    atomic_write(path, kPythonZip.substr(0, size));
    const std::string msg = testing::error_of([&] {
      ZipReader zip(path);
      for (const auto& e : zip.entries()) zip.read(e);
    });
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << size << ": " << msg;
  }
}

TEST(ZipReader, CorruptDataAndDirectoriesAreRefusedNamingTheRecord) {
  // A flipped byte in a record.
  std::string bad = kPythonZip;
  bad[45] ^= 0x01;  // "3\n" of the stored record (30-byte header + 15-byte name): only the CRC
                    // can tell
  ZipReader flipped(write("flipped.zip", bad));
  EXPECT_NE(testing::error_of([&] {
              flipped.read(*flipped.find("archive/version"));
            }).find("entry 'archive/version' fails its CRC-32 check"),
            std::string::npos);

  // Two records of one name: which one a reader takes is ambiguous, so neither is.
  const std::string twice = zip_stored({{"a/x", "1"}, {"a/x", "2"}});
  EXPECT_NE(testing::error_of([&] {
              ZipReader z(write("twice.zip", twice));
            }).find("two entries named 'a/x'"),
            std::string::npos);

  // A directory entry whose record would start past the directory.
  std::string outside = zip_stored({{"a/x", "hello"}});
  const size_t central = outside.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  outside[central + 42] = '\x7f';  // local header offset -> 127, past the file's records
  const std::string msg = testing::error_of([&] { ZipReader z(write("outside.zip", outside)); });
  EXPECT_NE(msg.find("entry 'a/x'"), std::string::npos) << msg;

  // A deflated record claiming far more bytes than deflate can produce is refused before any
  // allocation.
  std::string bomb = kPythonZip;
  const size_t second = bomb.rfind(std::string("PK\x01\x02", 4));
  for (int i = 0; i < 4; ++i) bomb[second + 24 + i] = '\x7f';  // uncompressed size ~2 GiB
  EXPECT_NE(testing::error_of([&] {
              ZipReader z(write("bomb.zip", bomb));
            }).find("more than deflate can produce"),
            std::string::npos);
}

}  // namespace
}  // namespace vlprompt::core::zip_reader_test
