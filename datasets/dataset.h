// A labelled image split, whatever its layout on disk. Records point at files or, for formats
// that store pixels (Fashion-MNIST IDX), carry the uint8 image itself.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace vlprompt::datasets {

struct ImageRecord {
  std::string path;   // image file; empty when `pixels` holds the image
  at::Tensor pixels;  // uint8 [H, W, 3] RGB when the format stores pixels, else undefined
  int64_t label = 0;
  std::string domain;  // for multi-domain layouts; "" otherwise
};

struct DatasetSplit {
  std::string dataset;                  // catalog name, or the root path for ad-hoc folders
  std::string split;                    // "train", "val", "test"
  std::vector<std::string> classnames;  // index = label; human-readable ("ankle boot")
  std::vector<ImageRecord> items;
  std::string template_text;  // the catalog's default manual template, "a photo of a {}."
  std::string root;           // the folder the paths were resolved against
  // The domain every item comes from: the one chosen of a multi-domain dataset ("Art"), else the
  // catalog's `domain` key, else the dataset's name. Domain-adaptation prompts read it.
  std::string domain;
  // Files a split list named but the disk lacked, dropped because LoadOptions::skip_missing was
  // set; kept so a run can report how much of the benchmark it really evaluated.
  std::vector<std::string> skipped;
};

// How strictly a split list is held against the disk.
struct LoadOptions {
  // A listed file that is absent is an error naming it; with skip_missing it is dropped and
  // recorded in DatasetSplit::skipped instead (for partial downloads of large benchmarks).
  bool skip_missing = false;
};

}  // namespace vlprompt::datasets
