// Record formats of text data files, one reader per format:
//   JSONL classification  {"text": "...", "label": "sports" | 3}            one object per line
//   TSV / CSV             a header row naming the columns (GLUE: sentence, label)
//   JSONL LM pairs        {"prompt": "...", "completion": "..."}
// Blank lines are skipped; every bad line is a FileError naming the file, the line, the key or
// column and what was expected.
#pragma once

#include <string>
#include <vector>

#include "datasets/text/csv_table.h"
#include "datasets/text/text_dataset.h"
#include "datasets/text/text_labels.h"

namespace vlprompt::datasets {

// Which keys (JSONL) or columns (TSV/CSV) hold what.
struct TextFields {
  // The text's key(s); several (GLUE sentence pairs) are joined by `joiner`. Empty: the first of
  // these whose keys are all present (in the header, or the first JSONL record): text | sentence |
  // sentence1 + sentence2 | question + sentence | question1 + question2 | premise + hypothesis.
  std::vector<std::string> text;
  std::string label = "label";
  std::string joiner = " ";
  std::string prompt = "prompt";          // LM pairs
  std::string completion = "completion";  // LM pairs
};

// Records keyed "<key_base>:<line>" (key_base: the file's name relative to the split's root).
std::vector<RawTextRecord> read_jsonl_classification(const std::string& path,
                                                     const std::string& key_base,
                                                     const TextFields& fields);
std::vector<RawTextRecord> read_table_classification(const Table& table,
                                                     const std::string& key_base,
                                                     const TextFields& fields);

// Prompt/completion pairs: text = prompt (may be empty), completion non-empty (the loss is taken
// on it, so an empty one is an error).
std::vector<TextRecord> read_jsonl_completions(const std::string& path, const std::string& key_base,
                                               const TextFields& fields);

// `text` cut to at most `max_chars` Unicode code points (never inside a UTF-8 sequence), trailing
// whitespace dropped; unchanged when max_chars <= 0 or it is short enough.
std::string truncate_code_points(const std::string& text, int64_t max_chars);

}  // namespace vlprompt::datasets
