#include "datasets/catalog.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "src/core/config.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets {
namespace {

namespace fs = std::filesystem;

const std::set<std::string>& known_layouts() {
  static const std::set<std::string> layouts{
      "image_folder",       "cifar10",       "coop_split", "variant_lists",  "fashion_mnist_idx",
      "digits_sheet",       "digits_csv",    "sketch",     "domain_folders", "domain_lists",
      "domain_image_lists", "fortune_files", "text_files"};
  return layouts;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string scalar(const YAML::Node& node, const std::string& path, const std::string& key) {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) throw FileError(path, "key '" + key + "' must be a string");
  return node.as<std::string>();
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& path,
                                     const std::string& key) {
  if (!node.IsSequence()) throw FileError(path, "key '" + key + "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar()) throw FileError(path, "key '" + key + "' must hold only strings");
    out.push_back(item.as<std::string>());
  }
  return out;
}

void require(bool ok, const std::string& path, const std::string& layout, const std::string& what) {
  if (!ok) throw FileError(path, "layout '" + layout + "' needs " + what);
}

// Checks that the keys a layout depends on are present, so a bad catalog file fails when read,
// not halfway through loading a dataset.
void validate(const CatalogEntry& e) {
  const std::string& p = e.source;
  const std::string& l = e.layout;
  if (!known_layouts().count(l)) {
    std::string names;
    for (const auto& k : known_layouts()) names += (names.empty() ? "" : ", ") + k;
    throw FileError(p, "unknown layout '" + l + "' (expected one of: " + names + ")");
  }
  if (is_text_layout(e)) {
    if (e.template_text.find("{text}") == std::string::npos) {
      throw FileError(p, "template '" + e.template_text + "' has no '{text}' for the text");
    }
    if (!e.label_words.empty() && e.label_words.size() != e.classnames.size()) {
      throw FileError(p, "label_words has " + std::to_string(e.label_words.size()) +
                             " entries but classnames has " + std::to_string(e.classnames.size()) +
                             " (one word per class, in the same order)");
    }
    if (e.max_chars < 0) throw FileError(p, "max_chars must be 0 (keep all) or more");
  } else if (e.template_text.find("{}") == std::string::npos) {
    throw FileError(p, "template '" + e.template_text + "' has no '{}' for the class name");
  }
  if (!e.class_folders.empty() && e.class_folders.size() != e.classnames.size()) {
    throw FileError(p, "class_folders has " + std::to_string(e.class_folders.size()) +
                           " entries but classnames has " + std::to_string(e.classnames.size()));
  }
  if (!e.classnames.empty() && e.num_classes != 0 &&
      static_cast<int64_t>(e.classnames.size()) != e.num_classes) {
    throw FileError(p, "num_classes is " + std::to_string(e.num_classes) + " but classnames has " +
                           std::to_string(e.classnames.size()) + " entries");
  }
  if (l == "coop_split") require(!e.split_file.empty(), p, l, "'split_file'");
  if (l == "cifar10" || l == "fashion_mnist_idx") {
    require(!e.classnames.empty(), p, l, "'classnames'");
  }
  if (l == "variant_lists") require(!e.classnames_file.empty(), p, l, "'classnames_file'");
  if (l == "fortune_files") {
    require(e.test_fraction > 0 && e.test_fraction < 1, p, l, "'test_fraction' in (0, 1)");
  }
  if (l == "digits_sheet" || l == "digits_csv") {
    require(!e.data_file.empty(), p, l, "'data_file'");
    require(e.classnames.size() == 10, p, l, "'classnames' with 10 names (digits 0..9)");
    require(e.test_fraction > 0 && e.test_fraction < 1, p, l, "'test_fraction' in (0, 1)");
  }
  if (l == "sketch") require(!e.base.empty() && e.base != e.name, p, l, "'base' (another entry)");
  if (l == "domain_image_lists") {
    require(!e.domains.empty() && e.domain_dirs.size() == e.domains.size(), p, l,
            "'domains' and one 'domain_dirs' folder per domain");
  }
  if (l != "coop_split") {
    require(e.splits.count("train") && e.splits.count("test"), p, l,
            "'splits' with at least 'train' and 'test'");
  }
}

// Catalog keys by the type of their value: a new key of a common type is one line here, not one
// more branch in the parser.
const std::map<std::string, std::string CatalogEntry::*>& catalog_string_keys() {
  static const std::map<std::string, std::string CatalogEntry::*> keys{
      {"name", &CatalogEntry::name},
      {"layout", &CatalogEntry::layout},
      {"root", &CatalogEntry::default_root},
      {"dataset_dir", &CatalogEntry::dataset_dir},
      {"split_file", &CatalogEntry::split_file},
      {"image_dir", &CatalogEntry::image_dir},
      {"image_suffix", &CatalogEntry::image_suffix},
      {"classnames_file", &CatalogEntry::classnames_file},
      {"template", &CatalogEntry::template_text},
      {"domain", &CatalogEntry::domain},
      {"data_file", &CatalogEntry::data_file},
      {"base", &CatalogEntry::base},
      {"list_dir", &CatalogEntry::list_dir},
      {"label_field", &CatalogEntry::label_field}};
  return keys;
}

const std::map<std::string, std::vector<std::string> CatalogEntry::*>& catalog_list_keys() {
  static const std::map<std::string, std::vector<std::string> CatalogEntry::*> keys{
      {"aliases", &CatalogEntry::aliases},
      {"classnames", &CatalogEntry::classnames},
      {"class_folders", &CatalogEntry::class_folders},
      {"domains", &CatalogEntry::domains},
      {"domain_dirs", &CatalogEntry::domain_dirs},
      {"label_words", &CatalogEntry::label_words},
      {"text_fields", &CatalogEntry::text_fields}};
  return keys;
}

const std::map<std::string, int64_t CatalogEntry::*>& catalog_integer_keys() {
  static const std::map<std::string, int64_t CatalogEntry::*> keys{
      {"num_classes", &CatalogEntry::num_classes},
      {"split_seed", &CatalogEntry::split_seed},
      {"max_chars", &CatalogEntry::max_chars}};
  return keys;
}

// Sets the field `key` names from `v`; FileError for an unknown key or a value of the wrong
// shape (a YAML::Exception from a number that does not convert is left to the caller).
void set_catalog_key(CatalogEntry& e, const std::string& key, const YAML::Node& v,
                     const std::string& path) {
  if (const auto it = catalog_string_keys().find(key); it != catalog_string_keys().end()) {
    e.*(it->second) = scalar(v, path, key);
  } else if (const auto l = catalog_list_keys().find(key); l != catalog_list_keys().end()) {
    e.*(l->second) = string_list(v, path, key);
  } else if (const auto n = catalog_integer_keys().find(key); n != catalog_integer_keys().end()) {
    e.*(n->second) = v.as<int64_t>();
  } else if (key == "test_fraction") {
    e.test_fraction = v.as<double>();
  } else if (key == "splits") {
    if (!v.IsMap()) throw FileError(path, "key 'splits' must map split names to strings");
    for (const auto& s : v) e.splits[s.first.as<std::string>()] = scalar(s.second, path, key);
  } else {
    throw FileError(path, "unknown key '" + key + "'");
  }
}

}  // namespace

bool is_text_layout(const CatalogEntry& entry) {
  return entry.layout == "fortune_files" || entry.layout == "text_files";
}

std::string catalog_dir() {
  if (const char* env = std::getenv("VLPROMPT_CATALOG_DIR"); env && *env) return env;
  return std::string(VLPROMPT_SOURCE_DIR) + "/datasets/catalog";
}

std::vector<std::string> list_catalog() {
  return core::list_stems(catalog_dir(), ".yaml", "dataset catalog", "set VLPROMPT_CATALOG_DIR");
}

CatalogEntry parse_catalog_file(const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::Load(core::read_file(path));
  } catch (const YAML::Exception& ex) {
    throw FileError(path, std::string("not valid YAML: ") + ex.what());
  }
  if (!doc.IsMap()) throw FileError(path, "expected a mapping of catalog keys");
  CatalogEntry e;
  e.source = path;
  for (const auto& kv : doc) {
    const std::string key = kv.first.as<std::string>();
    try {
      set_catalog_key(e, key, kv.second, path);
    } catch (const YAML::Exception& ex) {
      throw FileError(path, "key '" + key + "': " + ex.what());
    }
  }
  const std::string stem = fs::path(path).stem().string();
  if (e.name != stem) {
    throw FileError(path, "name '" + e.name + "' must match the file name '" + stem + "'");
  }
  validate(e);
  return e;
}

CatalogEntry load_catalog_entry(const std::string& name) {
  const std::string exact = catalog_dir() + "/" + name + ".yaml";
  if (!name.empty() && name.find('/') == std::string::npos && core::file_exists(exact)) {
    return parse_catalog_file(exact);
  }
  const std::vector<std::string> names = list_catalog();
  std::string closest;
  size_t best = std::string::npos;
  for (const auto& n : names) {
    CatalogEntry e = parse_catalog_file(catalog_dir() + "/" + n + ".yaml");
    std::vector<std::string> spellings = e.aliases;
    spellings.push_back(e.name);
    for (const auto& s : spellings) {
      if (lower(s) == lower(name)) return e;
      const size_t d = core::edit_distance(lower(s), lower(name));
      if (d < best) {
        best = d;
        closest = n;
      }
    }
  }
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  std::string msg = "unknown dataset '" + name + "'";
  if (!closest.empty()) msg += " (did you mean '" + closest + "'?)";
  msg += "; known datasets: " + known + ". Or pass the path of an image folder (<root>/<class>/*).";
  throw Error(msg);
}

}  // namespace vlprompt::datasets
