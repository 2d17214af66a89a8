#include "datasets/loader.h"

#include <filesystem>
#include <map>

#include "datasets/coop_split.h"
#include "datasets/digits.h"
#include "datasets/domain_layouts.h"
#include "datasets/idx.h"
#include "datasets/image_folder.h"
#include "datasets/paths.h"
#include "datasets/variant_lists.h"
#include "src/core/error.h"
#include "src/image/clip_preprocess.h"
#include "src/image/sketch.h"

namespace vlprompt::datasets {
namespace {

namespace fs = std::filesystem;

bool is_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// A name containing a path separator, or naming an existing folder that is not a catalog name,
// is an ad-hoc image folder.
bool looks_like_path(const std::string& dataset) {
  if (dataset.find('/') != std::string::npos) return true;
  if (!is_directory(dataset)) return false;
  for (const auto& name : list_catalog()) {
    if (name == dataset) return false;
  }
  return true;
}

void check_split_offered(const CatalogEntry& entry, const std::string& split) {
  if (entry.layout == "coop_split" || entry.splits.count(split)) return;
  std::string offered;
  for (const char* name : {"train", "val", "test"}) {
    if (entry.splits.count(name)) offered += (offered.empty() ? "" : ", ") + std::string(name);
  }
  std::string msg = "dataset '" + entry.name + "' (layout " + entry.layout + ") has no '" + split +
                    "' split; it offers: " + offered + ".";
  if (split == "val") {
    msg += " Load 'train' and hold out part of it for validation (never validate on 'test').";
  }
  throw Error(msg);
}

DatasetSplit load_layout(const CatalogEntry& entry, const std::string& dir,
                         const std::string& split, const LoadOptions& opts) {
  if (entry.layout == "image_folder" || entry.layout == "cifar10") {
    return load_image_folder(entry, dir, split);
  }
  if (entry.layout == "coop_split") {
    const std::string json = join_path(dir, entry.split_file);
    if (!fs::exists(json)) {
      throw FileError(json, "split file of dataset '" + entry.name +
                                "' not found (CoOp's split_zhou_*.json; see the CoOp DATASETS.md)");
    }
    return read_coop_split(json, join_path(dir, entry.image_dir), split, entry.num_classes, opts);
  }
  if (entry.layout == "variant_lists") return load_variant_lists(entry, dir, split, opts);
  if (entry.layout == "fashion_mnist_idx") return load_idx_split(entry, dir, split);
  if (entry.layout == "digits_sheet" || entry.layout == "digits_csv") {
    return load_digits(entry, dir, split);
  }
  throw FileError(entry.source, "unknown layout '" + entry.layout + "'");
}

// The base dataset's split with every image redrawn as a sketch, held in memory.
DatasetSplit load_sketch(const CatalogEntry& entry, const std::string& data_root,
                         const std::string& split, const LoadOptions& opts) {
  DatasetSplit out = load_split(entry.base, data_root, split, opts);
  out.domain.clear();  // a domain of its own: the entry's `domain` key, or its name
  for (auto& r : out.items) {
    r.pixels = image::edge_sketch(r.pixels.defined() ? r.pixels : image::decode_rgb(r.path));
    r.path.clear();
  }
  return out;
}

}  // namespace

// <root>/<dataset_dir> when that folder exists, else <root> itself, so users may pass either
// CoOp's DATASET.ROOT or the dataset's own folder.
std::string resolve_dataset_dir(const CatalogEntry& entry, const std::string& data_root) {
  std::string root = data_root.empty() ? entry.default_root : data_root;
  // A relative catalog root ("../shared/data/digits") is relative to the source tree.
  if (data_root.empty() && !root.empty() && fs::path(root).is_relative()) {
    root = join_path(VLPROMPT_SOURCE_DIR, root);
  }
  if (root.empty()) {
    throw Error("dataset '" + entry.name + "' has no default location: pass its data root (" +
                "the folder holding " +
                (entry.dataset_dir.empty() ? std::string("it") : entry.dataset_dir + "/") + ")");
  }
  if (!entry.dataset_dir.empty()) {
    const std::string nested = join_path(root, entry.dataset_dir);
    if (is_directory(nested)) return nested;
  }
  if (!is_directory(root)) {
    throw FileError(root, "data root of dataset '" + entry.name + "' is not a folder");
  }
  return root;
}

DatasetRef parse_dataset_ref(const std::string& dataset) {
  const size_t colon = dataset.rfind(':');
  if (colon == std::string::npos || looks_like_path(dataset)) return {dataset, ""};
  return {dataset.substr(0, colon), dataset.substr(colon + 1)};
}

DatasetSplit load_split(const std::string& dataset_spec, const std::string& data_root,
                        const std::string& split, const LoadOptions& opts) {
  const DatasetRef ref = parse_dataset_ref(dataset_spec);
  const std::string& dataset = ref.name;
  if (split != "train" && split != "val" && split != "test") {
    throw Error("unknown split '" + split + "' for dataset '" + dataset +
                "' (expected train, val or test)");
  }
  const bool adhoc = looks_like_path(dataset);
  if (adhoc && !is_directory(dataset)) {
    throw FileError(dataset,
                    "not a folder (expected an image folder <root>/<class>/* or a "
                    "catalog name)");
  }
  const CatalogEntry entry =
      adhoc ? adhoc_image_folder_entry(dataset) : load_catalog_entry(dataset);
  if (is_text_layout(entry)) {
    throw Error("dataset '" + entry.name + "' holds text (layout " + entry.layout +
                "), not images: use it with a text method (datasets::load_text_split)");
  }
  check_split_offered(entry, split);
  if (!ref.domain.empty() && !is_multi_domain(entry)) {
    throw Error("dataset '" + entry.name + "' has one domain; '" + dataset_spec +
                "' names a domain (only multi-domain datasets take <name>:<domain>)");
  }
  DatasetSplit out;
  if (entry.layout == "sketch") {
    out = load_sketch(entry, data_root, split, opts);
  } else {
    const std::string dir = adhoc ? dataset : resolve_dataset_dir(entry, data_root);
    if (is_multi_domain(entry)) {
      if (ref.domain.empty()) {
        throw Error("dataset '" + entry.name + "' has several domains; name one: " + entry.name +
                    ":<domain>, with <domain> one of: " + [&] {
                      std::string d;
                      for (const auto& n : available_domains(entry, dir)) {
                        d += (d.empty() ? "" : ", ") + n;
                      }
                      return d;
                    }());
      }
      out = load_domain_split(entry, dir, ref.domain, split, opts);
    } else {
      out = load_layout(entry, dir, split, opts);
    }
    out.root = dir;
  }
  out.dataset = ref.domain.empty() ? entry.name : entry.name + ":" + ref.domain;
  if (out.domain.empty()) out.domain = entry.domain.empty() ? entry.name : entry.domain;
  out.split = split;
  out.template_text = entry.template_text;
  check_unique_classnames(out.classnames, "dataset '" + out.dataset + "'");
  return out;
}

void check_unique_classnames(const std::vector<std::string>& names, const std::string& where) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].find_first_not_of(" \t\r\n") == std::string::npos) {
      // An empty name would be a class no prompt can describe, and usually a slot shifted by one.
      throw Error(where + ": class " + std::to_string(i) + " has an empty name; expected a name");
    }
    const auto [it, fresh] = first.emplace(names[i], i);
    if (!fresh) {
      // Two classes with one name would split the probability of that name between them.
      throw Error(where + ": classes " + std::to_string(it->second) + " and " + std::to_string(i) +
                  " are both named '" + names[i] + "'; expected distinct class names");
    }
  }
}

}  // namespace vlprompt::datasets
