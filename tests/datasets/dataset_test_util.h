// Helpers for the dataset tests: fresh scratch trees and small files written through atomic_write.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::datasets::testutil {

// An empty folder for one test, cleared of what an earlier run left there.
inline std::string fresh_dir(const std::string& name) {
  const std::string dir = vlprompt::testing::scratch_dir("datasets") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes `bytes` (default: a placeholder; listing never decodes) to dir/rel, making folders.
inline std::string put(const std::string& dir, const std::string& rel,
                       const std::string& bytes = "x") {
  const std::string path = dir + "/" + rel;
  core::atomic_write(path, bytes);
  return path;
}

using vlprompt::testing::error_of;

}  // namespace vlprompt::datasets::testutil
