// Debian's fortunes (packages fortunes, fortunes-min, ...) as a topic-classification data set:
// layout `fortune_files`. The data folder (/usr/share/games/fortunes) holds one file per category;
// entries are separated by lines holding only '%'. The strfile indexes (*.dat), the *.u8 links
// and the offensive collection (the off/ subfolder) are not categories and are skipped.
#pragma once

#include <string>
#include <vector>

#include "datasets/catalog.h"
#include "datasets/text/text_dataset.h"

namespace vlprompt::datasets {

// Sorted names of the category files in `dir`: regular files (not links, not folders) whose
// name has no '.' suffix .dat/.u8 and does not start with '.'.
std::vector<std::string> fortune_categories(const std::string& dir);

// The entries of one category file, in file order: each entry's lines joined by '\n', leading
// blank lines and trailing whitespace (of every line and of the entry) dropped, empty entries
// dropped, then cut to `max_chars` code points (0 = keep all). Keys "<key_base>:<line where the
// entry's text starts>". Labels are left -1.
std::vector<TextRecord> read_fortune_file(const std::string& path, const std::string& key_base,
                                          int64_t max_chars);

// Split "train" or "test" of a fortune_files entry from `dir`. Classes: the entry's classnames
// (each must be a category file in `dir`: FileError naming it otherwise) or every category
// present; label words: the entry's label_words, else the category names. Each category's
// entries are shuffled by a Fisher-Yates pass seeded from split_seed and the category's name
// (held_out_indices in digits.h), and the last round(n * test_fraction) are test: the split of a
// category does not depend on which other categories are loaded, and is the same on every run.
TextSplit load_fortune_files(const CatalogEntry& entry, const std::string& dir,
                             const std::string& split);

}  // namespace vlprompt::datasets
