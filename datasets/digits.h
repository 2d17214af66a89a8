// Two renderings of the handwritten digits 0..9, one label set, for domain adaptation:
//   digits_sheet  OpenCV's samples/data/digits.png: 2000x1000 gray, 5000 cells of 20x20, 500 per
//                 digit, digit d in cell rows 5d..5d+4 (white ink on black);
//   digits_csv    scikit-learn's digits.csv.gz: 1797 rows of 64 values 0..16 (8x8, ink high) and
//                 the label, scaled to 0..255 (white ink on black, like the sheet).
// Neither ships a split: each class is shuffled by a fixed seed (catalog `split_seed`) and its
// last `test_fraction` held out as test, so every run sees the same train and test images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/catalog.h"
#include "datasets/dataset.h"

namespace vlprompt::datasets {

// Loads `split` ("train" or "test") of a digits_sheet or digits_csv entry from <dir>/data_file.
// Records carry their pixels (uint8 [H, W, 3]); a malformed file is a FileError naming it.
DatasetSplit load_digits(const CatalogEntry& entry, const std::string& dir,
                         const std::string& split);

// Which of the `count` items of one class go to test: a Fisher-Yates shuffle of 0..count-1 driven
// by mt19937_64(seed * 1000003 + label) (no std::shuffle: its algorithm differs between standard
// libraries), the last round(count * fraction) of it, sorted.
std::vector<int64_t> held_out_indices(int64_t count, double fraction, int64_t seed, int64_t label);

}  // namespace vlprompt::datasets
