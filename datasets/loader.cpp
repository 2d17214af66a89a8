#include "datasets/loader.h"

#include <filesystem>

#include "datasets/coop_split.h"
#include "datasets/idx.h"
#include "datasets/image_folder.h"
#include "datasets/paths.h"
#include "datasets/variant_lists.h"
#include "src/core/error.h"

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

// <root>/<dataset_dir> when that folder exists, else <root> itself, so users may pass either
// CoOp's DATASET.ROOT or the dataset's own folder.
std::string resolve_dir(const CatalogEntry& entry, const std::string& data_root) {
  const std::string root = data_root.empty() ? entry.default_root : data_root;
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
  throw FileError(entry.source, "unknown layout '" + entry.layout + "'");
}

}  // namespace

DatasetSplit load_split(const std::string& dataset, const std::string& data_root,
                        const std::string& split, const LoadOptions& opts) {
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
  check_split_offered(entry, split);
  const std::string dir = adhoc ? dataset : resolve_dir(entry, data_root);
  DatasetSplit out = load_layout(entry, dir, split, opts);
  out.dataset = entry.name;
  out.split = split;
  out.template_text = entry.template_text;
  out.root = dir;
  return out;
}

}  // namespace vlprompt::datasets
