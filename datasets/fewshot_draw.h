// The label-level core of the few-shot protocol, shared by image splits (datasets/fewshot.h) and
// text splits (datasets/text/text_fewshot.h): which item indices become the K shots and the
// min(K, 4) val items of each class. It sees only labels, so both modalities draw the same
// items for the same labels, seed and K.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/split_file.h"

namespace vlprompt::datasets {

// Names used in errors and warnings only.
struct DrawNames {
  std::string dataset;                  // "oxford_pets"
  std::string train_split = "train";    // split name of `train_labels`
  std::string val_split = "val";        // split name of `val_labels`
  std::vector<std::string> classnames;  // by label; may be empty
};

struct LabelDraw {
  std::vector<size_t> train;          // picked indices into train_labels, sorted
  std::vector<size_t> val;            // into val_labels, or into train_labels when carved; sorted
  std::vector<std::string> warnings;  // classes with fewer items than asked
};

// One std::mt19937_64(seed) drives a Fisher-Yates pass over each class's item indices (in
// label order; the items of a class in their given order), the first K kept as shots. Without
// `val_labels` the next min(K, 4) of the same shuffle become val (carved out of train, never
// test); with it, the same generator then shuffles each class of the val split and keeps
// min(K, 4). Error when shots < 1 or a label lies outside 0..num_classes-1.
LabelDraw draw_fewshot_labels(const std::vector<int64_t>& train_labels,
                              const std::vector<int64_t>* val_labels, int64_t num_classes,
                              int64_t shots, uint64_t seed, const DrawNames& names);

// Checks that a reused split file was made for this run: FileError naming `path` and the first
// key that differs (dataset, seed, shots, num_classes, val_source).
void check_split_file_matches(const std::string& path, const FewShotSplitFile& file,
                              const std::string& dataset, uint64_t seed, int64_t shots,
                              int64_t num_classes, const std::string& val_source);

}  // namespace vlprompt::datasets
