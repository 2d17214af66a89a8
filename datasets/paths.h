// Small path helpers shared by the layouts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "src/core/error.h"

namespace vlprompt::datasets {

// `a/b`, or `a` alone when `b` is empty or "." (catalog keys such as image_dir may be blank).
inline std::string join_path(const std::string& a, const std::string& b) {
  if (b.empty() || b == ".") return a;
  if (a.empty()) return b;
  return (std::filesystem::path(a) / b).string();
}

// Whether a file that a split list names may be used: true when it exists. When it does not,
// throws a FileError naming it and the list entry, unless skip_missing, which records it instead.
inline bool keep_listed_file(const std::string& path, const std::string& list_file,
                             const std::string& where, const LoadOptions& opts,
                             std::vector<std::string>& skipped) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return true;
  if (!opts.skip_missing) {
    throw FileError(path, "image listed in " + list_file + " (" + where +
                              ") does not exist (pass skip_missing to drop absent files)");
  }
  skipped.push_back(path);
  return false;
}

}  // namespace vlprompt::datasets
