#include "src/core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/core/error.h"

namespace vlprompt::core {

std::string read_file(const std::string& path) {
  // Through RegularFile, so that no input (an HF CLIP config.json, a PEFT adapter_config.json, a
  // class list) can block on a FIFO or stream a device; the bound only stops runaway sizes.
  constexpr uint64_t kMaxBytes = uint64_t{4} << 30;
  return read_regular_file(path, kMaxBytes);
}

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

RegularFile::RegularFile(const std::string& path, uint64_t max_bytes) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0)
    throw FileError(path, std::string("cannot open for reading: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw FileError(path, std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw FileError(path, "is " + kind_of(st.st_mode) + "; expected a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > max_bytes) {
    ::close(fd_);
    throw FileError(path, "is " + std::to_string(size_) + " bytes, more than the " +
                              std::to_string(max_bytes) + " such a file may have");
  }
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RegularFile::read_all() const {
  std::string out(static_cast<size_t>(size_), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError(path_, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) throw FileError(path_, "shrank while being read");
    done += static_cast<size_t>(n);
  }
  return out;
}

std::string read_regular_file(const std::string& path, uint64_t max_bytes) {
  return RegularFile(path, max_bytes).read_all();
}

void atomic_write(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  if (path.empty()) throw Error("an output path is empty: name the file to write");
  const fs::path target(path);
  // rename() would replace whatever is there: a FIFO, a device (/dev/null, run as root), a
  // socket. Only a regular file (or a link to one) may be replaced; a folder is a mistake too.
  std::error_code ec;
  const fs::file_status st = fs::status(target, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st)) {
    throw FileError(path, std::string("exists and is not a regular file (") +
                              (fs::is_directory(st) ? "a folder" : "a device, FIFO or socket") +
                              "); refusing to replace it");
  }
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw FileError(tmp, std::string("cannot create: ") + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw FileError(tmp, "write failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at empty data.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw FileError(tmp, std::string("flush failed: ") + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw FileError(path, "rename from temporary file failed: " + why);
  }
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<std::string> list_stems(const std::string& dir, const std::string& extension,
                                    const std::string& what, const std::string& hint) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FileError(dir, what + " folder not found (" + hint + ")");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == extension) {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace vlprompt::core
