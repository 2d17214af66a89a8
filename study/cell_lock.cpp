#include "study/cell_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "src/core/error.h"

namespace vlprompt::study {

CellLock::CellLock(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw FileError(path, std::string("cannot open the cell's lock: ") + strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return;  // another process runs this cell
    throw FileError(path, std::string("cannot lock: ") + strerror(error));
  }
  fd_ = fd;
}

CellLock::~CellLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace vlprompt::study
