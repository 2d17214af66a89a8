// One cell run by one process at a time, however many `vlprompt study` processes share a study
// folder: an exclusive flock() on the cell's lock file, held while the cell runs. The kernel drops
// it when the holder exits or is killed, so a crashed process never leaves a cell locked.
#pragma once

#include <string>

namespace vlprompt::study {

class CellLock {
 public:
  // Tries once, without waiting; held() says whether it was taken.
  explicit CellLock(const std::string& path);
  ~CellLock();
  CellLock(const CellLock&) = delete;
  CellLock& operator=(const CellLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace vlprompt::study
