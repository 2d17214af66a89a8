// Errors vlprompt reports to its users. Every message names the file, key or value at fault and
// what was expected; callers never see integer codes.
#pragma once

#include <stdexcept>
#include <string>

namespace vlprompt {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<path>: <message>" — the file is always named first so a user can find it.
class FileError : public Error {
 public:
  FileError(const std::string& path, const std::string& message)
      : Error(path + ": " + message), path_(path) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace vlprompt
