// Text data for the text LMs: labelled texts for classification through a verbalizer, and
// prompt/completion records for causal-LM training. No tokens here: the tokenizer belongs to the
// model; these types carry strings only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::datasets {

// What the records of a split are for.
enum class TextTask {
  kClassification,  // text + label; predicted by rank classification over the label words
  kLm,              // prompt (text) + completion; the loss covers the completion tokens only
};

struct TextRecord {
  // Classification: the input text (put into TextSplit::template_text at "{text}").
  // LM: the prompt the completion is conditioned on; "" for plain-text documents.
  std::string text;
  int64_t label = -1;  // index into TextSplit::classnames; -1 for LM records
  // LM only: the tokens the loss is taken on (a JSONL "completion", or a whole plain-text
  // document, whose prompt is empty). "" for classification records.
  std::string completion;
  // Where the record came from, "<file relative to the split's root>:<line>" ("computers:118",
  // "train.jsonl:7"); unique within a split. The few-shot split file names records by it.
  std::string key;
};

struct TextSplit {
  std::string dataset;  // catalog name, or the file/folder path for ad-hoc data
  std::string split;    // "train", "val", "test"
  TextTask task = TextTask::kClassification;
  std::vector<std::string> classnames;   // by label: the labels as named in the data
  std::vector<std::string> label_words;  // verbalizer: the words scored for each class, same order
  // Where the text goes, "{text} Topic:"; the label words follow the filled template (the
  // scorer decides the joining space). "{text}" alone for LM data.
  std::string template_text;
  std::vector<TextRecord> items;
  std::string root;  // the folder the record keys are relative to
};

// The template with "{text}" (each occurrence) replaced by `text`.
std::string format_text_prompt(const std::string& template_text, const std::string& text);

}  // namespace vlprompt::datasets
