#include "datasets/split_file.h"

#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/hash.h"

namespace vlprompt::datasets {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "vlprompt.fewshot/1";

json entries_to_json(const std::vector<SplitEntry>& entries) {
  json out = json::array();
  for (const auto& e : entries) out.push_back(json::array({e.key, e.label}));
  return out;
}

// Every field but content_hash; keys sorted (nlohmann's default object is a std::map), so the
// compact dump is a canonical form to hash.
json to_json(const FewShotSplitFile& file) {
  json j;
  j["format"] = kFormat;
  j["dataset"] = file.dataset;
  j["seed"] = file.seed;
  j["shots"] = file.shots;
  j["num_classes"] = file.num_classes;
  j["val_source"] = file.val_source;
  j["train"] = entries_to_json(file.train);
  j["val"] = entries_to_json(file.val);
  j["warnings"] = file.warnings;
  return j;
}

std::string dump_or_throw(const json& j, const std::string& path) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    // Only a key or name that is not valid UTF-8 gets here.
    throw FileError(path, std::string("cannot write split file: ") + e.what());
  }
}

const json& require(const json& j, const std::string& key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) throw FileError(path, "split file lacks the key '" + key + "'");
  return *it;
}

std::string require_string(const json& j, const std::string& key, const std::string& path) {
  const json& v = require(j, key, path);
  if (!v.is_string()) throw FileError(path, "key '" + key + "' must be a string");
  return v.get<std::string>();
}

int64_t require_int(const json& j, const std::string& key, const std::string& path) {
  const json& v = require(j, key, path);
  if (!v.is_number_integer()) throw FileError(path, "key '" + key + "' must be an integer");
  return v.get<int64_t>();
}

std::vector<SplitEntry> read_entries(const json& j, const std::string& key,
                                     const std::string& path) {
  const json& list = require(j, key, path);
  if (!list.is_array()) throw FileError(path, "key '" + key + "' must be a list of [key, label]");
  std::vector<SplitEntry> out;
  out.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number_integer()) {
      throw FileError(path, "'" + key + "' entry " + std::to_string(i) + " is " + e.dump() +
                                ", expected [\"<path or #index>\", <label>]");
    }
    out.push_back({e[0].get<std::string>(), e[1].get<int64_t>()});
  }
  return out;
}

void append_entries(std::string& out, const char* key, const std::vector<SplitEntry>& entries,
                    const std::string& path) {
  out += "  \"";
  out += key;
  out += "\": [";
  for (size_t i = 0; i < entries.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    out += dump_or_throw(json::array({entries[i].key, entries[i].label}), path);
  }
  out += entries.empty() ? "]" : "\n  ]";
}

}  // namespace

std::string split_file_hash(const FewShotSplitFile& file) {
  return core::Hasher().update(dump_or_throw(to_json(file), "<split file>")).hex();
}

std::string write_split_file(const std::string& path, const FewShotSplitFile& file) {
  const json j = to_json(file);
  const std::string hash = core::Hasher().update(dump_or_throw(j, path)).hex();
  // Scalars first, then one entry per line: small diffs between seeds, easy to read.
  std::string out = "{\n";
  for (const char* key : {"format", "dataset", "seed", "shots", "num_classes", "val_source"}) {
    out += "  \"" + std::string(key) + "\": " + dump_or_throw(j[key], path) + ",\n";
  }
  out += "  \"content_hash\": " + json(hash).dump() + ",\n";
  out += "  \"warnings\": " + dump_or_throw(j["warnings"], path) + ",\n";
  append_entries(out, "train", file.train, path);
  out += ",\n";
  append_entries(out, "val", file.val, path);
  out += "\n}\n";
  core::atomic_write(path, out);
  return hash;
}

FewShotSplitFile read_split_file(const std::string& path) {
  json j;
  try {
    j = json::parse(core::read_file(path));
  } catch (const json::exception& e) {
    throw FileError(path, std::string("split file is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FileError(path, "split file must hold a JSON object");
  const std::string format = require_string(j, "format", path);
  if (format != kFormat) {
    throw FileError(path, "key 'format' is '" + format + "', expected '" + kFormat + "'");
  }
  FewShotSplitFile file;
  file.dataset = require_string(j, "dataset", path);
  const json& seed = require(j, "seed", path);
  if (!seed.is_number_unsigned()) {
    throw FileError(path, "key 'seed' must be a non-negative integer, got " + seed.dump());
  }
  file.seed = seed.get<uint64_t>();
  file.shots = require_int(j, "shots", path);
  file.num_classes = require_int(j, "num_classes", path);
  file.val_source = require_string(j, "val_source", path);
  if (file.val_source != "val" && file.val_source != "train") {
    throw FileError(path, "key 'val_source' is '" + file.val_source + "', expected val or train");
  }
  file.train = read_entries(j, "train", path);
  file.val = read_entries(j, "val", path);
  const json& warnings = require(j, "warnings", path);
  if (!warnings.is_array()) throw FileError(path, "key 'warnings' must be a list of strings");
  for (const json& w : warnings) {
    if (!w.is_string()) throw FileError(path, "key 'warnings' must be a list of strings");
    file.warnings.push_back(w.get<std::string>());
  }
  const std::string stored = require_string(j, "content_hash", path);
  file.content_hash = split_file_hash(file);
  if (stored != file.content_hash && stored.size() == 16) {
    throw FileError(path, "key 'content_hash' is " + stored +
                              ", a hash of the kind older vlprompt versions wrote (this one "
                              "writes SHA-256); delete the file to draw the split again");
  }
  if (stored != file.content_hash) {
    throw FileError(path, "key 'content_hash' is " + stored + " but the content hashes to " +
                              file.content_hash +
                              " (edited by hand?); delete the file to draw the split again");
  }
  return file;
}

}  // namespace vlprompt::datasets
