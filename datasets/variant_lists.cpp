#include "datasets/variant_lists.h"

#include <map>
#include <sstream>
#include <vector>

#include "datasets/paths.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

// Non-blank lines with trailing '\r' and spaces removed, each with its 1-based line number.
std::vector<std::pair<int, std::string>> read_lines(const std::string& path) {
  std::istringstream in(core::read_file(path));
  std::vector<std::pair<int, std::string>> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.emplace_back(number, line);
  }
  return lines;
}

}  // namespace

DatasetSplit load_variant_lists(const CatalogEntry& entry, const std::string& dir,
                                const std::string& split, const LoadOptions& opts) {
  const std::string classes_file = join_path(dir, entry.classnames_file);
  DatasetSplit out;
  std::map<std::string, int64_t> label_of;
  for (const auto& [number, name] : read_lines(classes_file)) {
    if (!label_of.emplace(name, static_cast<int64_t>(out.classnames.size())).second) {
      throw FileError(classes_file,
                      "line " + std::to_string(number) + ": class '" + name + "' listed twice");
    }
    out.classnames.push_back(name);
  }
  if (entry.num_classes != 0 && static_cast<int64_t>(out.classnames.size()) != entry.num_classes) {
    throw FileError(classes_file, "lists " + std::to_string(out.classnames.size()) +
                                      " classes, expected " + std::to_string(entry.num_classes));
  }

  const std::string list_file = join_path(dir, entry.splits.at(split));
  const std::string image_dir = join_path(dir, entry.image_dir);
  for (const auto& [number, line] : read_lines(list_file)) {
    const std::string at = "line " + std::to_string(number);
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0) {
      throw FileError(list_file, at + " '" + line + "': expected '<image id> <class name>'");
    }
    const std::string name = line.substr(space + 1);
    auto it = label_of.find(name);
    if (it == label_of.end()) {
      throw FileError(list_file, at + ": class '" + name + "' is not in " + classes_file);
    }
    std::string path = join_path(image_dir, line.substr(0, space) + entry.image_suffix);
    if (!keep_listed_file(path, list_file, at, opts, out.skipped)) continue;
    ImageRecord r;
    r.path = std::move(path);
    r.label = it->second;
    out.items.push_back(std::move(r));
  }
  return out;
}

}  // namespace vlprompt::datasets
