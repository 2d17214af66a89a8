#include "pipeline/text_rows.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::pipeline {

datasets::TextTask dataset_task(prompts::LmTask task) {
  return task == prompts::LmTask::kCausalLm ? datasets::TextTask::kLm
                                            : datasets::TextTask::kClassification;
}

TextTask make_text_task(prompts::LmTask task, const prompts::TextConfig& config,
                        const datasets::TextSplit& train,
                        const models::llama::LlamaTokenizer& tokenizer) {
  TextTask t;
  t.task = task;
  t.max_tokens = config.max_tokens;
  if (t.max_tokens < 4)
    throw Error("text.max_tokens must be at least 4, got " + std::to_string(t.max_tokens));
  t.template_text = !config.template_text.empty()  ? config.template_text
                    : !train.template_text.empty() ? train.template_text
                                                   : std::string("{text}");
  if (t.template_text.find("{text}") == std::string::npos)
    throw Error("text template \"" + t.template_text + "\" has no {text} placeholder");
  if (task == prompts::LmTask::kClassify) {
    t.classnames = train.classnames;
    t.label_words = train.label_words.empty() ? train.classnames : train.label_words;
    if (t.label_words.size() != t.classnames.size())
      throw Error("dataset " + train.dataset + ": " + std::to_string(t.label_words.size()) +
                  " label words for " + std::to_string(t.classnames.size()) + " classes");
    for (const auto& w : t.label_words) {
      t.label_ids.push_back(tokenizer.encode(w, /*add_special=*/false));
      if (t.label_ids.back().empty())
        throw Error("dataset " + train.dataset + ": label word \"" + w + "\" has no tokens");
      // Two classes the model scores with the same tokens can never be told apart.
      const auto same = std::find(t.label_ids.begin(), t.label_ids.end() - 1, t.label_ids.back());
      if (same != t.label_ids.end() - 1) {
        std::string ids;
        for (int64_t id : *same) ids += (ids.empty() ? "" : " ") + std::to_string(id);
        throw Error("dataset " + train.dataset + ": label words \"" +
                    t.label_words[same - t.label_ids.begin()] + "\" and \"" + w +
                    "\" tokenize the same (ids " + ids +
                    "), so no model can tell those classes apart; give distinct label_words");
      }
    }
  }
  return t;
}

namespace {

// Keeps BOS (when the row starts with it) and the last `keep` tokens after it.
std::vector<int64_t> cut_front(const std::vector<int64_t>& ids, size_t keep, int64_t bos) {
  const size_t head = !ids.empty() && ids[0] == bos ? 1 : 0;
  if (ids.size() - head <= keep) return ids;
  std::vector<int64_t> out(ids.begin(), ids.begin() + head);
  out.insert(out.end(), ids.end() - keep, ids.end());
  return out;
}

}  // namespace

std::vector<engine::TokenRow> token_rows(const datasets::TextSplit& split, const TextTask& task,
                                         const models::llama::LlamaTokenizer& tokenizer) {
  std::vector<engine::TokenRow> rows;
  rows.reserve(split.items.size());
  const auto max = static_cast<size_t>(task.max_tokens);
  const int64_t bos = tokenizer.bos_id();
  size_t longest_label = 0;
  for (const auto& l : task.label_ids) longest_label = std::max(longest_label, l.size());
  for (const datasets::TextRecord& r : split.items) {
    engine::TokenRow row;
    if (task.task == prompts::LmTask::kClassify) {
      if (r.label < 0 || r.label >= static_cast<int64_t>(task.classnames.size()))
        throw Error(split.dataset + " " + split.split + ": a record has label " +
                    std::to_string(r.label) + " outside the " +
                    std::to_string(task.classnames.size()) + " classes");
      row.ids =
          cut_front(tokenizer.encode(datasets::format_text_prompt(task.template_text, r.text)),
                    max - 1 - longest_label, bos);
      row.label = r.label;
    } else {
      const bool document = r.completion.empty();
      std::vector<int64_t> prompt = tokenizer.encode(document ? "" : r.text);
      std::vector<int64_t> completion =
          tokenizer.encode(document ? r.text : r.completion, /*add_special=*/false);
      if (tokenizer.eos_id() >= 0) completion.push_back(tokenizer.eos_id());
      const auto nothing_to_predict = [&](const std::string& why) {
        return Error(split.dataset + " " + split.split + ": record " +
                     std::to_string(&r - split.items.data() + 1) + " " + why +
                     "; a causal-LM record needs at least one token to predict");
      };
      if (completion.empty())
        throw nothing_to_predict(
            "has a completion that tokenizes to nothing, and the tokenizer has no end-of-text "
            "piece to predict instead");
      // Without BOS the first token has no context to be predicted from: it becomes the prompt.
      if (prompt.empty()) {
        if (completion.size() < 2)
          throw nothing_to_predict(
              "is one token long and the tokenizer adds no BOS, so that token has nothing to be "
              "predicted from");
        prompt.push_back(completion.front());
        completion.erase(completion.begin());
      }
      if (completion.size() > max - 1) completion.resize(max - 1);
      prompt = cut_front(prompt, max - completion.size() - 1, bos);
      row.ids = prompt;
      row.ids.insert(row.ids.end(), completion.begin(), completion.end());
      row.target_start = static_cast<int64_t>(prompt.size());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace vlprompt::pipeline
