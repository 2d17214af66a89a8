// Whole-file reads and atomic writes. Every write in vlprompt goes through atomic_write so a
// killed process never leaves a half-written file under the final name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::core {

// Reads a whole regular file of at most 4 GiB; throws FileError naming the path when it cannot
// (a folder, FIFO or device is refused without blocking).
std::string read_file(const std::string& path);

// A file opened for reading only once it is known to be a regular file (links followed) of at most
// `max_bytes`. The open does not block, so a FIFO is refused instead of waiting for a writer, and a
// link to /dev/zero is refused instead of read until memory runs out. FileError names the path,
// what it is (folder, FIFO, device, socket) or its size against the bound.
class RegularFile {
 public:
  RegularFile(const std::string& path, uint64_t max_bytes);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  // The whole content (FileError on a short or failed read).
  std::string read_all() const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// RegularFile(path, max_bytes).read_all(): what every bounded read of an input file goes through.
std::string read_regular_file(const std::string& path, uint64_t max_bytes);

// Writes to "<path>.tmp.<pid>", flushes it to disk, then renames over `path`.
// Creates missing parent directories.
void atomic_write(const std::string& path, const std::string& bytes);

bool file_exists(const std::string& path);

// Sorted stems of the regular files in `dir` ending in `extension` (".yaml"): the registries
// that are folders (model configs, dataset catalog, templates). A missing folder is a FileError
// that says what it is and `hint` (e.g. which variable to set).
std::vector<std::string> list_stems(const std::string& dir, const std::string& extension,
                                    const std::string& what, const std::string& hint);

}  // namespace vlprompt::core
