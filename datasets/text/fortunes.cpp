#include "datasets/text/fortunes.h"

#include <algorithm>
#include <filesystem>

#include "datasets/digits.h"
#include "datasets/paths.h"
#include "datasets/text/text_formats.h"
#include "datasets/text/text_labels.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/strings.h"

namespace vlprompt::datasets {
namespace {

namespace fs = std::filesystem;

// FNV-1a of the category name: a per-category seed offset independent of the class list.
int64_t name_seed(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h >> 1);
}

std::string rstrip(std::string s) {
  const size_t last = s.find_last_not_of(" \t\r\n");
  s.erase(last == std::string::npos ? 0 : last + 1);
  return s;
}

}  // namespace

std::vector<std::string> fortune_categories(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_symlink() || !e.is_regular_file() || name.empty() || name[0] == '.') continue;
    if (core::ends_with(name, ".dat") || core::ends_with(name, ".u8")) continue;
    out.push_back(name);
  }
  if (ec) throw FileError(dir, "cannot list the fortune data folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<TextRecord> read_fortune_file(const std::string& path, const std::string& key_base,
                                          int64_t max_chars) {
  const std::string s = core::read_file(path);
  std::vector<TextRecord> out;
  TextRecord entry;
  auto flush = [&] {
    entry.text = truncate_code_points(rstrip(entry.text), max_chars);
    if (!entry.text.empty()) out.push_back(std::move(entry));
    entry = TextRecord();
  };
  size_t start = 0;
  for (int64_t line = 1; start < s.size(); ++line) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string text = rstrip(s.substr(start, end - start));
    start = end + 1;
    if (text == "%") {
      flush();
      continue;
    }
    if (entry.text.empty() && text.empty()) continue;  // leading blank lines
    if (entry.key.empty()) entry.key = key_base + ":" + std::to_string(line);
    if (!entry.text.empty()) entry.text += '\n';
    entry.text += text;
  }
  flush();
  return out;
}

TextSplit load_fortune_files(const CatalogEntry& entry, const std::string& dir,
                             const std::string& split) {
  const std::vector<std::string> present = fortune_categories(dir);
  TextSplit out;
  out.classnames = entry.classnames.empty() ? present : entry.classnames;
  if (out.classnames.empty()) {
    throw FileError(dir,
                    "holds no fortune category file (expected Debian's fortunes data, e.g. "
                    "/usr/share/games/fortunes from the fortunes package)");
  }
  std::string present_list;
  for (const auto& p : present) present_list += (present_list.empty() ? "" : ", ") + p;
  out.label_words = text_label_words(out.classnames, entry.label_words);
  const bool test = split == "test";
  for (size_t label = 0; label < out.classnames.size(); ++label) {
    const std::string& category = out.classnames[label];
    const std::string path = join_path(dir, category);
    if (!std::binary_search(present.begin(), present.end(), category)) {
      throw FileError(path, "category '" + category + "' of dataset '" + entry.name +
                                "' is not a fortune file here (install Debian's fortunes "
                                "package; categories present: " +
                                (present_list.empty() ? "none" : present_list) + ")");
    }
    std::vector<TextRecord> entries = read_fortune_file(path, category, entry.max_chars);
    if (entries.empty()) throw FileError(path, "holds no fortune (expected '%'-separated entries)");
    const auto held = held_out_indices(static_cast<int64_t>(entries.size()), entry.test_fraction,
                                       entry.split_seed, name_seed(category));
    size_t next = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(entries.size()); ++i) {
      const bool is_held = next < held.size() && held[next] == i;
      if (is_held) ++next;
      if (is_held != test) continue;
      entries[i].label = static_cast<int64_t>(label);
      out.items.push_back(std::move(entries[i]));
    }
  }
  return out;
}

}  // namespace vlprompt::datasets
