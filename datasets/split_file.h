// The few-shot split file: which items a few-shot run trains and validates on, written once and
// reused so every run with the same (dataset, seed, shots) sees the same images, on any machine.
//
//   {"format": "vlprompt.fewshot/1", "dataset": "oxford_pets", "seed": 1, "shots": 16,
//    "num_classes": 37, "val_source": "val",
//    "train": [["images/Abyssinian_1.jpg", 0], ...], "val": [["#12", 0], ...],
//    "warnings": [...], "content_hash": "<16 hex digits>"}
//
// An entry's key is the image path relative to the split's root folder (as given when outside
// it), or "#<index>" for in-memory items (Fashion-MNIST), indexing the source split's items.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::datasets {

struct SplitEntry {
  std::string key;  // relative image path, or "#<index>"
  int64_t label = 0;
};

struct FewShotSplitFile {
  std::string dataset;
  uint64_t seed = 0;
  int64_t shots = 0;
  int64_t num_classes = 0;
  // "val": val entries name items of the dataset's own val split; "train": the layout has no val
  // split and val was carved out of the train items not picked as shots (never out of test).
  std::string val_source;
  std::vector<SplitEntry> train;
  std::vector<SplitEntry> val;
  std::vector<std::string> warnings;  // e.g. a class with fewer than `shots` items
  std::string content_hash;           // filled by read_split_file / write_split_file
};

// Hash of every field but content_hash itself; a run records it to name the exact data it used.
std::string split_file_hash(const FewShotSplitFile& file);

// Writes `file` atomically, one entry per line (readable diffs). Returns the content hash.
std::string write_split_file(const std::string& path, const FewShotSplitFile& file);

// Reads and checks a split file. FileError naming the file and the key for malformed JSON, a
// missing or mistyped key, an unknown format, or a content_hash that does not match the content
// (a hand-edited file: delete it to draw a new split).
FewShotSplitFile read_split_file(const std::string& path);

}  // namespace vlprompt::datasets
