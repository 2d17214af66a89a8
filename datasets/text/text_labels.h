// From label strings as the data names them to class indices, and the verbalizer's words.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/text/text_dataset.h"

namespace vlprompt::datasets {

// A classification record as read, before its label becomes an index.
struct RawTextRecord {
  TextRecord record;              // text and key filled; label still -1
  std::string label;              // as written: "sports", "1"
  bool label_is_integer = false;  // a JSON integer or a cell of digits: may index a class list
  std::string path;               // file and line of the record, and the label's key or column,
  int64_t line = 0;               // for errors
  std::string label_field;
};

// The classes: `classnames` when the catalog gives them, else the distinct labels of `train`,
// sorted (as numbers when every label is a non-negative integer, so "10" follows "9"; else by
// bytes). Error naming the first record's file when train has no record.
std::vector<std::string> text_class_list(const std::vector<RawTextRecord>& train,
                                         const std::vector<std::string>& classnames);

// Gives each record the index of its label in `classes`: the class of that name, else, for an
// integer label, the class at that index when `integers_index` (the class list came from the
// catalog, so "1" may mean its second class). FileError naming the file, line and key otherwise.
std::vector<TextRecord> assign_text_labels(std::vector<RawTextRecord> raw,
                                           const std::vector<std::string>& classes,
                                           bool integers_index);

// The verbalizer: the catalog's label_words when given (one per class), else the class names.
std::vector<std::string> text_label_words(const std::vector<std::string>& classes,
                                          const std::vector<std::string>& label_words);

}  // namespace vlprompt::datasets
