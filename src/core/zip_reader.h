// Zip archives read as untrusted data (PyTorch's torch.save and TorchScript files): the end of
// central directory (zip64 too), every central-directory entry and the local header it points
// at are bounds-checked against the file before anything is read; records are stored or
// deflated, and each one's CRC-32 is checked. No allocation is larger than the file allows.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace vlprompt::core {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;           // 0 stored, 8 deflated
  uint32_t crc = 0;              // CRC-32 of the uncompressed bytes
  uint64_t compressed_size = 0;  // bytes in the file
  uint64_t size = 0;             // bytes once uncompressed
  uint64_t data_offset = 0;      // where the record's bytes start in the file
};

class ZipReader {
 public:
  // Reads the directory. FileError naming `path` and the entry for anything malformed: a
  // truncated file, offsets or sizes outside it, duplicate names, encryption, an unknown method.
  explicit ZipReader(const std::string& path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // Entry by exact name, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  // The record's uncompressed bytes; FileError naming the record when it does not inflate to its
  // declared size or its CRC-32 does not match.
  std::string read(const ZipEntry& entry);

 private:
  // What the end record(s) say of the central directory; `limit` is where they start.
  struct DirectorySpan {
    uint64_t count = 0, size = 0, offset = 0, limit = 0;
  };
  struct CentralRecord {
    ZipEntry entry;
    uint64_t local_header = 0;  // offset of the entry's local header
  };

  std::string read_at(uint64_t offset, uint64_t size, const std::string& what);
  void read_directory();
  DirectorySpan locate_directory();
  void read_zip64_end(DirectorySpan& span);
  CentralRecord read_central_header(const std::string& dir, size_t& at, uint64_t index) const;
  void apply_zip64_extra(const std::string& extra, CentralRecord& r) const;
  void check_entry(const ZipEntry& e) const;
  uint64_t data_offset(const ZipEntry& e, uint64_t local_header, uint64_t dir_offset);

  std::string path_;
  std::ifstream file_;
  uint64_t file_size_ = 0;
  std::vector<ZipEntry> entries_;
};

}  // namespace vlprompt::core
