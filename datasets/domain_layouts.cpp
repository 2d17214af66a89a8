#include "datasets/domain_layouts.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "datasets/image_folder.h"
#include "datasets/paths.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string readable(std::string folder) {
  std::replace(folder.begin(), folder.end(), '_', ' ');
  return folder;
}

struct ListLine {
  std::string path;
  int64_t label;
};

// "<relpath> <label>" lines (blank lines skipped); FileError naming the file and line otherwise.
std::vector<ListLine> read_list(const std::string& file) {
  if (!core::file_exists(file)) throw FileError(file, "image list not found");
  std::istringstream in(core::read_file(file));
  std::vector<ListLine> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    const size_t space = line.rfind(' ');
    int64_t label = -1;
    try {
      if (space != std::string::npos) label = std::stoll(line.substr(space + 1));
    } catch (const std::exception&) {
      label = -1;
    }
    if (space == std::string::npos || space == 0 || label < 0) {
      throw FileError(file, "line " + std::to_string(number) + " '" + line +
                                "': expected '<relative image path> <label >= 0>'");
    }
    out.push_back({line.substr(0, space), label});
  }
  if (out.empty()) throw FileError(file, "lists no image");
  return out;
}

// Labels index `names`; each label's name is the class folder (path component `component`) of
// its images, which must agree across lines.
void name_classes(const std::vector<ListLine>& lines, size_t component, const std::string& file,
                  std::vector<std::string>& names) {
  for (const auto& l : lines) {
    std::vector<std::string> parts;
    for (const auto& p : fs::path(l.path)) parts.push_back(p.string());
    if (parts.size() <= component + 1) {
      throw FileError(file, "path '" + l.path + "' has no class folder (expected " +
                                (component ? "<domain>/" : "") + "<class>/<file>)");
    }
    const std::string name = readable(parts[component]);
    if (static_cast<int64_t>(names.size()) <= l.label) names.resize(l.label + 1);
    if (names[l.label].empty()) names[l.label] = name;
    if (names[l.label] != name) {
      throw FileError(file, "label " + std::to_string(l.label) + " is class '" + names[l.label] +
                                "' and '" + name + "' (path " + l.path + ")");
    }
  }
}

void check_domain(const CatalogEntry& entry, const std::vector<std::string>& domains,
                  const std::string& domain) {
  if (std::find(domains.begin(), domains.end(), domain) == domains.end()) {
    throw Error("dataset '" + entry.name + "' has no domain '" + domain +
                "'; its domains: " + joined(domains) + " (write " + entry.name + ":<domain>)");
  }
}

DatasetSplit from_list(const std::vector<ListLine>& lines, const std::string& base,
                       const std::string& file, const LoadOptions& opts, DatasetSplit out) {
  int64_t number = 0;
  for (const auto& l : lines) {
    ++number;
    if (l.label >= static_cast<int64_t>(out.classnames.size())) {
      throw FileError(file, "label " + std::to_string(l.label) + " of '" + l.path + "' is not < " +
                                std::to_string(out.classnames.size()) + " classes");
    }
    const std::string path = join_path(base, l.path);
    if (!keep_listed_file(path, file, "entry " + std::to_string(number), opts, out.skipped)) {
      continue;
    }
    ImageRecord r;
    r.path = path;
    r.label = l.label;
    out.items.push_back(std::move(r));
  }
  return out;
}

DatasetSplit load_folders(const CatalogEntry& entry, const std::string& dir,
                          const std::string& domain) {
  std::set<std::string> all;
  for (const auto& d : available_domains(entry, dir)) {
    if (fs::is_directory(join_path(dir, d))) {
      for (const auto& c : list_class_folders(join_path(dir, d))) all.insert(c);
    }
  }
  const std::string domain_dir = join_path(dir, domain);
  if (!fs::is_directory(domain_dir)) {
    throw FileError(domain_dir, "folder of domain '" + domain + "' of dataset '" + entry.name +
                                    "' not found (expected <root>/<domain>/<class>/*)");
  }
  const std::vector<std::string> folders(all.begin(), all.end());
  DatasetSplit out;
  for (size_t label = 0; label < folders.size(); ++label) {
    out.classnames.push_back(readable(folders[label]));
    const std::string class_dir = join_path(domain_dir, folders[label]);
    if (!fs::is_directory(class_dir)) continue;
    for (auto& path : list_images(class_dir)) {
      ImageRecord r;
      r.path = std::move(path);
      r.label = static_cast<int64_t>(label);
      out.items.push_back(std::move(r));
    }
  }
  if (out.items.empty()) throw FileError(domain_dir, "no images under its class folders");
  return out;
}

}  // namespace

bool is_multi_domain(const CatalogEntry& entry) {
  return entry.layout == "domain_folders" || entry.layout == "domain_lists" ||
         entry.layout == "domain_image_lists";
}

std::vector<std::string> available_domains(const CatalogEntry& entry, const std::string& dir) {
  if (!entry.domains.empty() || entry.layout != "domain_folders") return entry.domains;
  return list_class_folders(dir);
}

DatasetSplit load_domain_split(const CatalogEntry& entry, const std::string& dir,
                               const std::string& domain, const std::string& split,
                               const LoadOptions& opts) {
  check_domain(entry, available_domains(entry, dir), domain);
  DatasetSplit out;
  if (entry.layout == "domain_folders") {
    out = load_folders(entry, dir, domain);
  } else if (entry.layout == "domain_lists") {
    // Class names from the domain's train and test lists together, so both splits agree.
    const std::string lists = join_path(dir, entry.list_dir);
    std::vector<std::vector<ListLine>> all;
    std::string file;
    for (const char* s : {"train", "test"}) {
      const std::string f = join_path(lists, domain + "_" + entry.splits.at(s) + ".txt");
      all.push_back(read_list(f));
      name_classes(all.back(), 1, f, out.classnames);
      if (s == split) file = f;
    }
    for (size_t label = 0; label < out.classnames.size(); ++label) {
      if (out.classnames[label].empty()) {
        throw FileError(file, "no image of label " + std::to_string(label) + " in the " + domain +
                                  " lists, so its class name is unknown");
      }
    }
    out = from_list(all[split == "train" ? 0 : 1], dir, file, opts, std::move(out));
  } else {
    const size_t i =
        std::find(entry.domains.begin(), entry.domains.end(), domain) - entry.domains.begin();
    const std::string base = join_path(dir, entry.domain_dirs[i]);
    const std::string file = join_path(base, "image_list.txt");
    out.classnames = entry.classnames;
    out = from_list(read_list(file), base, file, opts, std::move(out));
  }
  if (entry.num_classes != 0 && static_cast<int64_t>(out.classnames.size()) != entry.num_classes) {
    throw FileError(join_path(dir, domain), "has " + std::to_string(out.classnames.size()) +
                                                " classes; dataset '" + entry.name + "' has " +
                                                std::to_string(entry.num_classes));
  }
  for (auto& r : out.items) r.domain = domain;
  out.domain = domain;
  return out;
}

}  // namespace vlprompt::datasets
