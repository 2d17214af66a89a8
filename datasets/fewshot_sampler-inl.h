// The split-level half of the few-shot protocol, one template for image splits
// (datasets/fewshot.h) and text splits (datasets/text/text_fewshot.h): draw the labels with
// draw_fewshot_labels, name the picked items in a split file, and turn a split file's entries
// back into the source split's items. Only the two .cpp files include it.
//
// What differs between modalities comes from a FewShotTraits<Split> specialisation:
//   using Splits = ...;                                   // the result: train, val, warnings,
//                                                         // content_hash
//   static constexpr bool kUniqueKeys;                    // duplicate keys are an error
//   static constexpr const char* kItemNoun;               // "an item" / "a record" in errors
//   static int64_t draw_classes(const Split&);            // classes the draw sees
//   static int64_t file_classes(const Split&);            // num_classes of the split file
//   static int64_t draw_label(const Split&, size_t i);    // item i's label for the draw
//   static std::string key(const Split&, size_t i);       // item i's name in the split file
//   static Error duplicate_key(const Split&, size_t i);   // kUniqueKeys only: i repeats a key
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "datasets/fewshot_draw.h"
#include "datasets/split_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::datasets::fewshot_sampler {

template <class Split>
struct FewShotTraits;

// Item index by key. Where keys need not be unique (image paths), the first item keeps it.
template <class Split>
std::unordered_map<std::string, size_t> index_by_key(const Split& split) {
  using Traits = FewShotTraits<Split>;
  std::unordered_map<std::string, size_t> by_key;
  by_key.reserve(split.items.size());
  for (size_t i = 0; i < split.items.size(); ++i) {
    const bool added = by_key.emplace(Traits::key(split, i), i).second;
    if constexpr (Traits::kUniqueKeys) {
      if (!added) throw Traits::duplicate_key(split, i);
    }
  }
  return by_key;
}

template <class Split>
std::vector<int64_t> draw_labels(const Split& split) {
  std::vector<int64_t> out;
  out.reserve(split.items.size());
  for (size_t i = 0; i < split.items.size(); ++i) {
    out.push_back(FewShotTraits<Split>::draw_label(split, i));
  }
  return out;
}

// `indices` are sorted (draw_fewshot_labels sorts them), so the file lists items in split order.
template <class Split>
std::vector<SplitEntry> entries_of(const Split& split, const std::vector<size_t>& indices) {
  std::vector<SplitEntry> out;
  out.reserve(indices.size());
  for (size_t i : indices)
    out.push_back({FewShotTraits<Split>::key(split, i), split.items[i].label});
  return out;
}

template <class Split>
FewShotSplitFile draw_split(const Split& train, const Split* val, int64_t shots, uint64_t seed) {
  using Traits = FewShotTraits<Split>;
  if constexpr (Traits::kUniqueKeys) {
    index_by_key(train);  // refused before drawing: a repeated key could not name its item
    if (val) index_by_key(*val);
  }
  const std::vector<int64_t> train_labels = draw_labels(train);
  std::vector<int64_t> val_labels;
  if (val) val_labels = draw_labels(*val);
  DrawNames names;
  names.dataset = train.dataset;
  names.train_split = train.split;
  names.val_split = val ? val->split : train.split;
  names.classnames = train.classnames;
  LabelDraw draw = draw_fewshot_labels(train_labels, val ? &val_labels : nullptr,
                                       Traits::draw_classes(train), shots, seed, names);
  FewShotSplitFile file;
  file.dataset = train.dataset;
  file.seed = seed;
  file.shots = shots;
  file.num_classes = Traits::file_classes(train);
  file.val_source = val ? "val" : "train";
  file.warnings = std::move(draw.warnings);
  file.train = entries_of(train, draw.train);
  file.val = entries_of(val ? *val : train, draw.val);
  return file;
}

// The items of `src` that `entries` name, in the entries' order; FileError naming the entry
// when one is missing or labelled differently.
template <class Split>
Split subset_of(const Split& src, const std::vector<SplitEntry>& entries,
                const std::string& split_name, const std::string& file_path) {
  const auto by_key = index_by_key(src);
  Split out = src;
  out.split = split_name;
  out.items.clear();
  out.items.reserve(entries.size());
  for (size_t n = 0; n < entries.size(); ++n) {
    const SplitEntry& e = entries[n];
    const std::string where =
        "'" + split_name + "' entry " + std::to_string(n) + " '" + e.key + "'";
    const auto it = by_key.find(e.key);
    if (it == by_key.end()) {
      throw FileError(file_path, where + " is not " + FewShotTraits<Split>::kItemNoun + " of the " +
                                     src.split + " split of '" + src.dataset + "' (root " +
                                     src.root + ")");
    }
    const auto& r = src.items[it->second];
    if (r.label != e.label) {
      throw FileError(file_path, where + " has label " + std::to_string(e.label) +
                                     " but the dataset gives it label " + std::to_string(r.label));
    }
    out.items.push_back(r);
  }
  return out;
}

template <class Split>
typename FewShotTraits<Split>::Splits resolve(const FewShotSplitFile& file, const Split& train,
                                              const Split* val, const std::string& file_path) {
  typename FewShotTraits<Split>::Splits out;
  out.train = subset_of(train, file.train, "train", file_path);
  out.val = subset_of(val ? *val : train, file.val, "val", file_path);
  out.warnings = file.warnings;
  out.content_hash = file.content_hash;
  return out;
}

template <class Split>
typename FewShotTraits<Split>::Splits sample(const Split& train, const Split* val, int64_t shots,
                                             uint64_t seed) {
  FewShotSplitFile file = draw_split(train, val, shots, seed);
  file.content_hash = split_file_hash(file);
  return resolve(file, train, val, "<few-shot split in memory>");
}

template <class Split>
typename FewShotTraits<Split>::Splits load_or_create(const std::string& split_file,
                                                     const Split& train, const Split* val,
                                                     int64_t shots, uint64_t seed) {
  if (!core::file_exists(split_file)) {
    FewShotSplitFile file = draw_split(train, val, shots, seed);
    file.content_hash = write_split_file(split_file, file);
    return resolve(file, train, val, split_file);
  }
  const FewShotSplitFile file = read_split_file(split_file);
  check_split_file_matches(split_file, file, train.dataset, seed, shots,
                           FewShotTraits<Split>::file_classes(train), val ? "val" : "train");
  return resolve(file, train, val, split_file);
}

}  // namespace vlprompt::datasets::fewshot_sampler
