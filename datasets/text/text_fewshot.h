// The few-shot protocol on text splits, exactly as on images (datasets/fewshot.h): the same
// sampler (datasets/fewshot_sampler-inl.h over datasets/fewshot_draw.h) draws K records per
// class from the same seed, val min(K, 4) per class (the dataset's val split, else carved from
// the train records the shots did not use), kept in a split file `split_fewshot.json` of the same
// format (datasets/split_file.h) whose entries name records by TextRecord::key.
//
// LM data has no classes: its records are drawn as one class, so K means K documents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/text/text_dataset.h"

namespace vlprompt::datasets {

struct TextFewShotSplits {
  TextSplit train;                    // K per class (all of a class's records where it has fewer)
  TextSplit val;                      // min(K, 4) per class
  std::vector<std::string> warnings;  // classes with fewer records than asked
  std::string content_hash;           // of the split file
};

// Draws in memory. Error when shots < 1, a label is outside the class list, or two records share
// a key.
TextFewShotSplits sample_text_fewshot(const TextSplit& train, const TextSplit* val, int64_t shots,
                                      uint64_t seed);

// Reuses `split_file` when it exists (FileError naming it and the key when it was made for
// another dataset, seed, shots, class count or val source, or names a record the data lacks or
// labels differently), else draws and writes it atomically.
TextFewShotSplits load_or_create_text_fewshot(const std::string& split_file, const TextSplit& train,
                                              const TextSplit* val, int64_t shots, uint64_t seed);

}  // namespace vlprompt::datasets
