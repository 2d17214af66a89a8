// Causal-LM rows from records that leave nothing to predict: with a tokenizer that has
// no EOS piece and adds no BOS, a completion that tokenizes to nothing used to reach training as
// an empty target and segfault. Each such record is now an error naming it.
#include "pipeline/text_rows.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace text_rows_test {

namespace vp = vlprompt::pipeline;
using vlprompt::testing::error_of;

// The spm fixture without EOS (tests/fixtures/make_spm_fixtures.py), adding no BOS.
std::shared_ptr<vlprompt::models::llama::LlamaTokenizer> no_eos_tokenizer() {
  auto tok = vlprompt::models::llama::LlamaTokenizer::load(std::string(VLPROMPT_FIXTURE_DIR) +
                                                           "/spm/no_eos");
  EXPECT_LT(tok->eos_id(), 0);
  EXPECT_FALSE(tok->add_bos());
  return tok;
}

vlprompt::datasets::TextSplit lm_split(const std::string& text, const std::string& completion) {
  vlprompt::datasets::TextSplit split;
  split.dataset = "records.jsonl";
  split.split = "train";
  split.task = vlprompt::datasets::TextTask::kLm;
  split.template_text = "{text}";
  split.items.push_back({"the cat", -1, "sat on the mat", "records.jsonl:1"});
  split.items.push_back({text, -1, completion, "records.jsonl:2"});
  return split;
}

vp::TextTask lm_task() {
  vp::TextTask task;
  task.task = vlprompt::prompts::LmTask::kCausalLm;
  task.template_text = "{text}";
  task.max_tokens = 64;
  return task;
}

TEST(LmTokenRows, ACompletionOfNothingWithoutEosIsAnErrorNotACrash) {
  const auto tok = no_eos_tokenizer();
  ASSERT_TRUE(tok->encode(" ", /*add_special=*/false).empty());
  const std::string message =
      error_of([&] { vp::token_rows(lm_split("the dog", " "), lm_task(), *tok); });
  EXPECT_NE(message.find("records.jsonl train: record 2 has a completion that tokenizes to "
                         "nothing, and the tokenizer has no end-of-text piece to predict instead"),
            std::string::npos)
      << message;
  // A document (no completion) that tokenizes to nothing is the same case.
  const std::string empty_doc =
      error_of([&] { vp::token_rows(lm_split("", ""), lm_task(), *tok); });
  EXPECT_NE(empty_doc.find("record 2 has a completion that tokenizes to nothing"),
            std::string::npos)
      << empty_doc;
}

TEST(LmTokenRows, AOneTokenDocumentWithoutBosHasNothingToPredictFrom) {
  const auto tok = no_eos_tokenizer();
  ASSERT_EQ(tok->encode("a", /*add_special=*/false).size(), 1u);
  const std::string message = error_of([&] { vp::token_rows(lm_split("", "a"), lm_task(), *tok); });
  EXPECT_NE(message.find("record 2 is one token long and the tokenizer adds no BOS"),
            std::string::npos)
      << message;
  // Records with a token to predict make rows whose target starts after the prompt.
  const auto rows = vp::token_rows(lm_split("the dog", "ran"), lm_task(), *tok);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_GT(rows[0].ids.size(), static_cast<size_t>(rows[0].target_start));
}

}  // namespace text_rows_test
