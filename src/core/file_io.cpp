#include "src/core/file_io.h"

#include <fcntl.h>
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
  // An ifstream opens a folder and reads nothing from it: that would pass for an empty file.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw FileError(path, "is a folder; expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, std::string("cannot open for reading: ") + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw FileError(path, "read failed");
  return buf.str();
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
