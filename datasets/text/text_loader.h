// The entry point for text data: a catalog name or a file/folder path and a split in, a TextSplit
// out, whatever the format on disk.
//
//   auto train = load_text_split("fortunes", "", "train");          // catalog, classification
//   auto lm = load_text_split("notes/", "", "train", TextTask::kLm);  // ad-hoc folder, causal LM
//
// Ad-hoc data needs no catalog entry:
//   * a folder holding train.<ext> and test.<ext> (optional val.<ext>), <ext> one of jsonl, tsv,
//     csv, txt (one file per split; two candidates for one split is an error);
//   * a file path <dir>/<name>.<ext>: it is the train split; test (and val) are the siblings named
//     with the last "train" in the file name replaced by "test" ("val"): sst2_train.tsv ->
//     sst2_test.tsv.
// Formats per task: classification reads .jsonl, .tsv, .csv (datasets/text/text_formats.h); LM
// reads .txt (datasets/text/plain_text.h) and .jsonl prompt/completion pairs. Ad-hoc
// classification data gets the template "{text} Label:" and its class list from the train file
// (sorted distinct labels); catalog entries (layout text_files) may give classnames, label_words,
// text_fields, label_field, max_chars and the template.
#pragma once

#include <string>

#include "datasets/catalog.h"
#include "datasets/text/text_dataset.h"
#include "datasets/text/text_formats.h"

namespace vlprompt::datasets {

// Whether `dataset` names text data: a catalog entry of a text layout, a .jsonl/.tsv/.csv/.txt
// file, or a folder holding train.<one of those>.
bool is_text_dataset(const std::string& dataset);

// The catalog entry describing `dataset`: the catalog's (name or alias), or one made for an
// ad-hoc file or folder (layout text_files). Error for an image dataset or an unknown name.
CatalogEntry text_dataset_entry(const std::string& dataset);

// Whether the dataset offers `split` ("train", "val", "test"): listed in the entry and, for
// text_files, its file exists.
bool text_split_exists(const std::string& dataset, const std::string& data_root,
                       const std::string& split);

// Loads one split. `data_root` as for image datasets (datasets/loader.h; "" = the catalog's
// default root, ignored for paths). `fields` names the keys/columns of ad-hoc files; a catalog
// entry's text_fields / label_field take precedence. For kLm, classification layouts give each
// text as a completion with an empty prompt (fortunes as LM data). FileError naming the file for
// a missing split file; Error for a task a format cannot serve (labels in a .txt file).
TextSplit load_text_split(const std::string& dataset, const std::string& data_root,
                          const std::string& split, TextTask task = TextTask::kClassification,
                          const TextFields& fields = {});

}  // namespace vlprompt::datasets
