#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "datasets/paths.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

namespace fs = std::filesystem;

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "<folder> <human name ...>" per line, as ImageNet's classnames.txt.
std::map<std::string, std::string> read_folder_names(const std::string& path) {
  std::istringstream lines(core::read_file(path));
  std::map<std::string, std::string> names;
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space + 1 >= line.size()) {
      throw FileError(path, "line " + std::to_string(number) + " '" + line +
                                "': expected '<folder> <class name>'");
    }
    names[line.substr(0, space)] = line.substr(space + 1);
  }
  return names;
}

// Label order: the catalog's folder list for cifar10, else the sorted union over the splits.
std::vector<std::string> class_folders_of(const CatalogEntry& entry, const std::string& base,
                                          const std::string& split_dir) {
  const std::vector<std::string> present = list_class_folders(split_dir);
  if (entry.layout == "cifar10") {
    const auto& expected = entry.class_folders.empty() ? entry.classnames : entry.class_folders;
    const std::set<std::string> want(expected.begin(), expected.end());
    const std::set<std::string> have(present.begin(), present.end());
    std::vector<std::string> missing, unexpected;
    for (const auto& f : expected) {
      if (!have.count(f)) missing.push_back(f);
    }
    for (const auto& f : present) {
      if (!want.count(f)) unexpected.push_back(f);
    }
    if (!missing.empty() || !unexpected.empty()) {
      throw FileError(split_dir, "class folders do not match catalog entry '" + entry.name +
                                     "': missing [" + joined(missing) + "], unexpected [" +
                                     joined(unexpected) + "]");
    }
    return expected;
  }
  std::set<std::string> all(present.begin(), present.end());
  for (const auto& [name, sub] : entry.splits) {
    const std::string other = join_path(base, sub);
    std::error_code ec;
    if (other != split_dir && fs::is_directory(other, ec)) {
      for (const auto& f : list_class_folders(other)) all.insert(f);
    }
  }
  return {all.begin(), all.end()};
}

std::vector<std::string> human_names(const CatalogEntry& entry, const std::string& dir,
                                     const std::vector<std::string>& folders) {
  std::vector<std::string> names;
  if (entry.layout == "cifar10") return entry.classnames;
  if (!entry.classnames_file.empty()) {
    const std::string file = join_path(dir, entry.classnames_file);
    const auto by_folder = read_folder_names(file);
    for (const auto& f : folders) {
      auto it = by_folder.find(f);
      if (it == by_folder.end()) throw FileError(file, "has no line for class folder '" + f + "'");
      names.push_back(it->second);
    }
    return names;
  }
  for (std::string f : folders) {
    std::replace(f.begin(), f.end(), '_', ' ');
    names.push_back(f);
  }
  return names;
}

}  // namespace

bool is_image_file(const std::string& path) {
  static const std::set<std::string> kExtensions{".jpg", ".jpeg", ".png", ".bmp", ".webp",
                                                 ".tif", ".tiff", ".ppm", ".pgm", ".pbm"};
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kExtensions.count(ext) > 0;
}

std::vector<std::string> list_class_folders(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FileError(dir, "not a folder");
  std::vector<std::string> folders;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !is_hidden(entry.path())) {
      folders.push_back(entry.path().filename().string());
    }
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

std::vector<std::string> list_images(const std::string& dir) {
  std::vector<std::string> files;
  auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
  for (; it != fs::recursive_directory_iterator(); ++it) {
    if (is_hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_image_file(it->path().string())) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

CatalogEntry adhoc_image_folder_entry(const std::string& root) {
  CatalogEntry entry;
  entry.name = root;
  entry.layout = "image_folder";
  entry.template_text = "a photo of a {}.";
  std::error_code ec;
  for (const char* split : {"train", "val", "test"}) {
    if (fs::is_directory(join_path(root, split), ec)) entry.splits[split] = split;
  }
  if (entry.splits.empty()) {
    entry.splits = {{"train", ""}, {"test", ""}};
  }
  return entry;
}

DatasetSplit load_image_folder(const CatalogEntry& entry, const std::string& dir,
                               const std::string& split) {
  const std::string base = join_path(dir, entry.image_dir);
  const std::string split_dir = join_path(base, entry.splits.at(split));
  std::error_code ec;
  if (!fs::is_directory(split_dir, ec)) {
    throw FileError(split_dir,
                    "folder of split '" + split + "' of dataset '" + entry.name + "' not found");
  }
  const std::vector<std::string> folders = class_folders_of(entry, base, split_dir);
  if (folders.empty()) throw FileError(split_dir, "has no class folders (<class>/<image>)");
  if (entry.num_classes != 0 && static_cast<int64_t>(folders.size()) != entry.num_classes) {
    throw FileError(split_dir, "found " + std::to_string(folders.size()) +
                                   " class folders, expected " + std::to_string(entry.num_classes));
  }
  DatasetSplit out;
  out.classnames = human_names(entry, dir, folders);
  for (size_t label = 0; label < folders.size(); ++label) {
    const std::string class_dir = join_path(split_dir, folders[label]);
    if (!fs::is_directory(class_dir, ec)) continue;  // a class this split lacks
    for (auto& path : list_images(class_dir)) {
      ImageRecord r;
      r.path = std::move(path);
      r.label = static_cast<int64_t>(label);
      out.items.push_back(std::move(r));
    }
  }
  if (out.items.empty()) throw FileError(split_dir, "no image files found under its class folders");
  return out;
}

}  // namespace vlprompt::datasets
