#include "datasets/text/text_loader.h"

#include <filesystem>
#include <functional>
#include <map>

#include "datasets/loader.h"
#include "datasets/paths.h"
#include "datasets/text/csv_table.h"
#include "datasets/text/fortunes.h"
#include "datasets/text/plain_text.h"
#include "datasets/text/text_labels.h"
#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::datasets {
namespace {

namespace fs = std::filesystem;

const char* const kExtensions[] = {".jsonl", ".tsv", ".csv", ".txt"};

bool has_text_extension(const std::string& path) {
  for (const char* ext : kExtensions) {
    if (core::ends_with(path, ext)) return true;
  }
  return false;
}

std::string extension_of(const std::string& path) { return fs::path(path).extension().string(); }

// <folder>/<split>.<ext> when exactly one such file exists; "" when none.
std::string split_file_in(const std::string& folder, const std::string& split) {
  std::string found;
  for (const char* ext : kExtensions) {
    const std::string candidate = split + ext;
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(folder) / candidate, ec)) continue;
    if (!found.empty()) {
      throw FileError(folder, "holds both " + found + " and " + candidate + " for the '" + split +
                                  "' split (expected one file per split)");
    }
    found = candidate;
  }
  return found;
}

CatalogEntry adhoc_entry(const std::string& path) {
  CatalogEntry e;
  e.name = path;
  e.layout = "text_files";
  e.template_text = "{text} Label:";
  e.source = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    e.default_root = path;
    for (const char* split : {"train", "val", "test"}) {
      const std::string file = split_file_in(path, split);
      if (!file.empty()) e.splits[split] = file;
    }
    if (!e.splits.count("train")) {
      throw FileError(path,
                      "has no train.jsonl, train.tsv, train.csv or train.txt (expected a "
                      "folder with train.<ext> and test.<ext>, or a catalog name)");
    }
    return e;
  }
  if (!has_text_extension(path)) {
    throw FileError(path,
                    "is not a text data file (expected .jsonl, .tsv, .csv or .txt, a "
                    "folder holding train.<ext>, or a catalog name)");
  }
  if (!fs::is_regular_file(path, ec)) throw FileError(path, "text data file not found");
  const fs::path p(path);
  e.default_root = p.parent_path().empty() ? "." : p.parent_path().string();
  const std::string name = p.filename().string();
  e.splits["train"] = name;
  const size_t at = name.rfind("train");
  if (at != std::string::npos) {
    for (const char* split : {"val", "test"}) {
      e.splits[split] = name.substr(0, at) + split + name.substr(at + 5);
    }
  }
  return e;
}

TextFields fields_for(const CatalogEntry& entry, const TextFields& given) {
  TextFields f = given;
  if (!entry.text_fields.empty()) f.text = entry.text_fields;
  if (!entry.label_field.empty()) f.label = entry.label_field;
  return f;
}

std::string split_path(const CatalogEntry& entry, const std::string& dir,
                       const std::string& split) {
  const auto it = entry.splits.find(split);
  if (it == entry.splits.end()) {
    std::string offered;
    for (const auto& kv : entry.splits) offered += (offered.empty() ? "" : ", ") + kv.first;
    throw Error("text dataset '" + entry.name + "' has no '" + split + "' split; it offers: " +
                offered + (split == "val" ? " (few-shot runs carve val out of train)" : ""));
  }
  const std::string path = join_path(dir, it->second);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw FileError(path,
                    "the '" + split + "' file of text dataset '" + entry.name + "' not found");
  }
  return path;
}

std::vector<RawTextRecord> read_labelled(const std::string& path, const std::string& key_base,
                                         const TextFields& fields) {
  const std::string ext = extension_of(path);
  std::vector<RawTextRecord> out;
  if (ext == ".jsonl") {
    out = read_jsonl_classification(path, key_base, fields);
  } else if (ext == ".tsv") {
    out = read_table_classification(read_tsv_table(path), key_base, fields);
  } else if (ext == ".csv") {
    out = read_table_classification(read_csv_table(path), key_base, fields);
  }
  // An empty split found here, not as another split's labels that match no class.
  if (!out.empty()) return out;
  if (ext == ".jsonl" || ext == ".tsv" || ext == ".csv")
    throw FileError(path, "holds no records (expected a text and a label per " +
                              std::string(ext == ".jsonl" ? "line" : "row") + ")");
  throw FileError(path, "a " + ext +
                            " file holds no labels: classification reads .jsonl, .tsv "
                            "or .csv (plain text is causal-LM data: use the lm task)");
}

TextSplit load_text_files(const CatalogEntry& entry, const std::string& dir,
                          const std::string& split, TextTask task, const TextFields& given) {
  const TextFields fields = fields_for(entry, given);
  const std::string path = split_path(entry, dir, split);
  const std::string key_base = entry.splits.at(split);
  TextSplit out;
  if (task == TextTask::kLm) {
    const std::string ext = extension_of(path);
    if (ext == ".txt") {
      out.items = read_plain_text_documents(path, key_base);
    } else if (ext == ".jsonl") {
      out.items = read_jsonl_completions(path, key_base, fields);
    } else {
      throw FileError(path,
                      "causal-LM data is read from .txt (plain text) or .jsonl "
                      "(prompt/completion pairs), not " +
                          ext);
    }
    return out;
  }
  std::vector<RawTextRecord> raw = read_labelled(path, key_base, fields);
  if (entry.max_chars > 0) {
    for (auto& r : raw) r.record.text = truncate_code_points(r.record.text, entry.max_chars);
  }
  // The class list comes from the train split, so every split of a dataset agrees on it.
  const bool from_catalog = !entry.classnames.empty();
  if (from_catalog || split == "train") {
    out.classnames = text_class_list(raw, entry.classnames);
  } else {
    const std::string train = split_path(entry, dir, "train");
    out.classnames = text_class_list(read_labelled(train, entry.splits.at("train"), fields), {});
  }
  out.label_words = text_label_words(out.classnames, entry.label_words);
  out.items = assign_text_labels(std::move(raw), out.classnames, from_catalog);
  return out;
}

TextSplit load_fortunes(const CatalogEntry& entry, const std::string& dir, const std::string& split,
                        TextTask, const TextFields&) {
  if (split != "train" && split != "test") {
    throw Error("text dataset '" + entry.name + "' has no '" + split +
                "' split; it offers: train, test (few-shot runs carve val out of train)");
  }
  return load_fortune_files(entry, dir, split);
}

using TextLayoutLoader = std::function<TextSplit(const CatalogEntry&, const std::string&,
                                                 const std::string&, TextTask, const TextFields&)>;

// One loader per text layout; catalog.cpp's known_layouts() lists the same names.
const std::map<std::string, TextLayoutLoader>& text_layouts() {
  static const std::map<std::string, TextLayoutLoader> layouts{
      {"fortune_files", load_fortunes},
      {"text_files", load_text_files},
  };
  return layouts;
}

// An entry made by adhoc_entry (named after its path, with no YAML file behind it) rather than
// read from the catalog: its files live at default_root, whatever data root is passed.
bool is_adhoc_entry(const CatalogEntry& e) { return e.source == e.name; }

bool is_adhoc(const std::string& dataset) {
  std::error_code ec;
  return dataset.find('/') != std::string::npos || has_text_extension(dataset) ||
         fs::is_directory(dataset, ec);
}

// Classification records as LM documents: the text becomes the completion, with no prompt.
void to_lm(TextSplit& s) {
  for (auto& r : s.items) {
    r.completion = std::move(r.text);
    r.text.clear();
    r.label = -1;
  }
  s.classnames.clear();
  s.label_words.clear();
  s.template_text = "{text}";
}

}  // namespace

std::string format_text_prompt(const std::string& template_text, const std::string& text) {
  std::string out;
  size_t from = 0;
  while (true) {
    const size_t at = template_text.find("{text}", from);
    out += template_text.substr(from, at == std::string::npos ? std::string::npos : at - from);
    if (at == std::string::npos) return out;
    out += text;
    from = at + 6;
  }
}

bool is_text_dataset(const std::string& dataset) {
  std::error_code ec;
  if (fs::is_directory(dataset, ec)) {
    for (const char* ext : kExtensions) {
      if (fs::is_regular_file(fs::path(dataset) / (std::string("train") + ext), ec)) return true;
    }
  }
  if (is_adhoc(dataset)) return has_text_extension(dataset);
  try {
    return is_text_layout(load_catalog_entry(dataset));
  } catch (const Error&) {
    return false;
  }
}

CatalogEntry text_dataset_entry(const std::string& dataset) {
  if (is_adhoc(dataset)) {
    // A folder that is also a catalog name is the catalog entry, as for image datasets.
    std::error_code ec;
    if (dataset.find('/') != std::string::npos || !fs::is_directory(dataset, ec) ||
        !fs::exists(catalog_dir() + "/" + dataset + ".yaml", ec)) {
      return adhoc_entry(dataset);
    }
  }
  CatalogEntry e = load_catalog_entry(dataset);
  if (!is_text_layout(e)) {
    throw Error("dataset '" + e.name + "' holds images (layout " + e.layout +
                "), not text: use it with an image method");
  }
  return e;
}

bool text_split_exists(const std::string& dataset, const std::string& data_root,
                       const std::string& split) {
  const CatalogEntry e = text_dataset_entry(dataset);
  if (e.layout == "fortune_files") return split == "train" || split == "test";
  const auto it = e.splits.find(split);
  if (it == e.splits.end()) return false;
  const std::string dir = is_adhoc_entry(e) ? e.default_root : resolve_dataset_dir(e, data_root);
  std::error_code ec;
  return fs::is_regular_file(join_path(dir, it->second), ec);
}

TextSplit load_text_split(const std::string& dataset, const std::string& data_root,
                          const std::string& split, TextTask task, const TextFields& fields) {
  if (split != "train" && split != "val" && split != "test") {
    throw Error("unknown split '" + split + "' for text dataset '" + dataset +
                "' (expected train, val or test)");
  }
  const CatalogEntry entry = text_dataset_entry(dataset);
  const std::string dir =
      is_adhoc_entry(entry) ? entry.default_root : resolve_dataset_dir(entry, data_root);
  const auto loader = text_layouts().find(entry.layout);
  if (loader == text_layouts().end()) {
    throw FileError(entry.source, "layout '" + entry.layout + "' has no text loader");
  }
  TextSplit out = loader->second(entry, dir, split, task, fields);
  out.dataset = entry.name;
  out.split = split;
  out.root = dir;
  out.task = task;
  if (task == TextTask::kLm && !out.classnames.empty()) {
    to_lm(out);
  } else {
    out.template_text = task == TextTask::kLm ? "{text}" : entry.template_text;
  }
  return out;
}

}  // namespace vlprompt::datasets
