// The few-shot protocol of CoOp (Zhou et al., 2022): K training images per class drawn with a
// seed, a validation set of min(K, 4) per class, and CoCoOp's base-to-new class split.
//
// Typical use (the trainer):
//   auto train = load_split(name, root, "train");
//   auto fs = load_or_create_fewshot(run_dir + "/split_fewshot.json", train, nullptr, 16, 1);
//   auto base_train = subsample_classes(fs.train, "base");
// Few-shot sampling comes first, on all classes, then the class split, as CoOp does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace vlprompt::datasets {

struct FewShotSplits {
  DatasetSplit train;                 // K per class (all of a class's items where it has fewer)
  DatasetSplit val;                   // min(K, 4) per class
  std::vector<std::string> warnings;  // classes with fewer items than asked
  std::string content_hash;           // of the split file: record it with the run's results
};

// The number of val items per class for `shots` training items: min(K, 4), as CoOp.
int64_t fewshot_val_shots(int64_t shots);

// Draws the split in memory without touching disk. Items of each class are shuffled by a
// Fisher-Yates pass driven by std::mt19937_64(seed) (both fully specified by the standard, so the
// draw is the same on every machine), the first K kept, and the output sorted by item index.
// `val` is the dataset's own val split, or nullptr for layouts that lack one (image folders,
// CIFAR-10, Fashion-MNIST): val is then carved out of the train items of each class that were
// not picked as shots. Never pass a test split as `val`. Error when shots < 1 or a label lies
// outside the class list.
FewShotSplits sample_fewshot(const DatasetSplit& train, const DatasetSplit* val, int64_t shots,
                             uint64_t seed);

// Reuses the split file at `split_file` when it exists, else draws the split with
// sample_fewshot and writes it there (atomically). A reused file must have been made for the same
// dataset, seed, shots, class count and val source: otherwise FileError naming the file and the
// key that differs. Its entries must name items of `train` / `val` with the same labels
// (FileError naming the entry otherwise).
FewShotSplits load_or_create_fewshot(const std::string& split_file, const DatasetSplit& train,
                                     const DatasetSplit* val, int64_t shots, uint64_t seed);

// CoOp/CoCoOp's base-to-new split: of the n classes (labels 0..n-1, sorted), the first ceil(n/2)
// are "base", the rest "new". Keeps the items of the chosen classes, relabels them 0..m-1 in
// label order and keeps their class names; "all" returns the split unchanged. (CoOp collects the
// labels from the train split, which holds every class; here n is the class list's size, so
// every split of a dataset agrees even where one lacks a class.) Error for another `which`.
DatasetSplit subsample_classes(const DatasetSplit& split, const std::string& which);

// The base-to-new summary number: H = 2 b n / (b + n); 0 when both are 0.
double harmonic_mean(double base, double novel);

}  // namespace vlprompt::datasets
