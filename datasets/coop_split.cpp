#include "datasets/coop_split.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "datasets/paths.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

using nlohmann::json;

struct Entry {
  std::string rel_path;
  int64_t label = 0;
  std::string classname;
};

std::string where(const std::string& split, size_t index) {
  return "entry " + std::to_string(index) + " of '" + split + "'";
}

std::vector<Entry> parse_entries(const json& list, const std::string& path,
                                 const std::string& split) {
  if (!list.is_array()) throw FileError(path, "'" + split + "' must be a list of entries");
  std::vector<Entry> entries;
  entries.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    if (!e.is_array() || e.size() != 3 || !e[0].is_string() || !e[1].is_number_integer() ||
        !e[2].is_string() || e[2].get<std::string>().empty()) {
      throw FileError(path, where(split, i) + " is " + e.dump() +
                                ", expected [image path, integer label, non-empty class name]");
    }
    const std::string rel = e[0].get<std::string>();
    // A split file names images under the image folder; it must never reach other files.
    const std::filesystem::path p(rel);
    bool escapes = rel.empty() || p.is_absolute() || p.has_root_name() || p.has_root_directory();
    for (const auto& part : p) escapes = escapes || part == "..";
    if (escapes) {
      throw FileError(path, where(split, i) + " names image '" + rel +
                                "'; expected a relative path inside the image folder (no "
                                "leading '/', no '..')");
    }
    entries.push_back({rel, e[1].get<int64_t>(), e[2].get<std::string>()});
  }
  return entries;
}

// The entries of each split present, in train, val, test order.
using SplitLists = std::vector<std::pair<std::string, std::vector<Entry>>>;

// Class names from every split, checked for agreement, so a name typo anywhere is caught; the
// label count is `num_classes`, or the largest label + 1 when that is 0 or less.
std::vector<std::string> agreed_class_names(const SplitLists& splits, int64_t num_classes,
                                            const std::string& json_path) {
  int64_t count = num_classes;
  if (count <= 0) {
    for (const auto& [name, entries] : splits) {
      for (const auto& e : entries) count = std::max(count, e.label + 1);
    }
  }
  std::vector<std::string> names(static_cast<size_t>(std::max<int64_t>(count, 0)));
  std::vector<std::string> named_at(names.size());
  for (const auto& [name, entries] : splits) {
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (e.label < 0 || e.label >= count) {
        throw FileError(json_path, where(name, i) + " ('" + e.rel_path + "') has label " +
                                       std::to_string(e.label) + ", outside [0, " +
                                       std::to_string(count) + ")");
      }
      std::string& known = names[static_cast<size_t>(e.label)];
      if (known.empty()) {
        known = e.classname;
        named_at[static_cast<size_t>(e.label)] = where(name, i);
      } else if (known != e.classname) {
        throw FileError(json_path, where(name, i) + " names label " + std::to_string(e.label) +
                                       " '" + e.classname + "', but " +
                                       named_at[static_cast<size_t>(e.label)] + " named it '" +
                                       known + "'");
      }
    }
  }
  for (size_t label = 0; label < names.size(); ++label) {
    if (names[label].empty()) {
      throw FileError(json_path, "no entry has label " + std::to_string(label) + " (expected " +
                                     std::to_string(names.size()) + " classes)");
    }
  }
  return names;
}

}  // namespace

DatasetSplit read_coop_split(const std::string& json_path, const std::string& image_dir,
                             const std::string& split, int64_t num_classes,
                             const LoadOptions& opts) {
  json doc;
  try {
    doc = json::parse(core::read_file(json_path));
  } catch (const json::exception& ex) {
    throw FileError(json_path, std::string("not valid JSON: ") + ex.what());
  }
  if (!doc.is_object()) throw FileError(json_path, "expected an object with train/val/test lists");
  if (!doc.contains(split)) throw FileError(json_path, "has no '" + split + "' list");

  // In train, val, test order, so errors point at the first occurrence a reader would find.
  SplitLists splits;
  for (const char* name : {"train", "val", "test"}) {
    if (doc.contains(name)) splits.emplace_back(name, parse_entries(doc[name], json_path, name));
  }

  const std::vector<std::string> names = agreed_class_names(splits, num_classes, json_path);

  DatasetSplit out;
  out.split = split;
  for (std::string n : names) {
    std::replace(n.begin(), n.end(), '_', ' ');
    out.classnames.push_back(n);
  }
  const std::vector<Entry>* chosen = nullptr;
  for (const auto& [name, entries] : splits) {
    if (name == split) chosen = &entries;
  }
  if (chosen == nullptr) throw FileError(json_path, "'" + split + "' is not train, val or test");
  const std::vector<Entry>& entries = *chosen;
  out.items.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string path = join_path(image_dir, entries[i].rel_path);
    if (!keep_listed_file(path, json_path, where(split, i), opts, out.skipped)) continue;
    ImageRecord r;
    r.path = std::move(path);
    r.label = entries[i].label;
    out.items.push_back(std::move(r));
  }
  return out;
}

}  // namespace vlprompt::datasets
