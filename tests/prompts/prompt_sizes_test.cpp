// Regression: `coop.n_ctx=99999999` spent minutes and gigabytes building a prompt
// before anything said it could not fit. Every method's prompt length is checked against the
// context first, and the error names the key and the limit.
#include <gtest/gtest.h>

#include "prompts/cocoop.h"
#include "prompts/coop.h"
#include "prompts/dapl.h"
#include "prompts/ivlp.h"
#include "prompts/maple.h"
#include "prompts/vpt.h"
#include "src/core/error.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace prompt_sizes_test {

using testing::clip_tokenizer;
using testing::error_of;
using testing::tiny_clip;

const std::vector<std::string> kNames = {"dog", "golden retriever"};

void expect_names(const std::string& msg, const std::string& key, const std::string& limit) {
  EXPECT_NE(msg.find(key), std::string::npos) << key << ": " << msg;
  EXPECT_NE(msg.find("expected at most " + limit), std::string::npos) << key << ": " << msg;
}

TEST(PromptSizes, HugeContextLengthsAreRefusedBeforeAllocating) {
  const models::Clip clip = tiny_clip();
  const int64_t context = clip->config().text.context_length;
  const std::string text_limit = std::to_string(context - 3);
  constexpr int64_t kHuge = 99999999;
  expect_names(error_of([&] { CoOp(CoOpOptions().n_ctx(kHuge), clip, clip_tokenizer(), kNames); }),
               "coop.n_ctx is 99999999", text_limit);
  expect_names(error_of([&] {
                 CoCoOp(CoCoOpOptions().ctx_init("").n_ctx(kHuge), clip, clip_tokenizer(), kNames);
               }),
               "cocoop.n_ctx", text_limit);
  expect_names(
      error_of([&] { Maple(MapleOptions().n_ctx(kHuge), clip, clip_tokenizer(), kNames); }),
      "maple.n_ctx", text_limit);
  expect_names(
      error_of([&] { Ivlp(IvlpOptions().n_ctx_text(kHuge), clip, clip_tokenizer(), kNames); }),
      "ivlp.n_ctx_text", text_limit);
  expect_names(
      error_of([&] { Ivlp(IvlpOptions().n_ctx_vision(kHuge), clip, clip_tokenizer(), kNames); }),
      "ivlp.n_ctx_vision", "1024");
  expect_names(error_of([&] {
                 Dapl(DaplOptions().n_ctx(kHuge).n_dmx(2).domains("a,b"), clip, clip_tokenizer(),
                      kNames);
               }),
               "dapl.n_ctx + dapl.n_dmx", text_limit);
  expect_names(error_of([&] { Vpt(VptOptions().n_ctx(kHuge), clip, kNames); }), "vpt.n_ctx",
               "1024");
}

TEST(PromptSizes, AContextThatFitsAloneButNotWithTheClassNamesNamesTheKey) {
  const models::Clip clip = tiny_clip();
  const int64_t context = clip->config().text.context_length;
  // "dog." fits beside context - 4 context tokens; "golden retriever." does not.
  const std::string msg =
      error_of([&] { CoOp(CoOpOptions().n_ctx(context - 4), clip, clip_tokenizer(), kNames); });
  EXPECT_NE(msg.find("n_ctx = " + std::to_string(context - 4)), std::string::npos) << msg;
  EXPECT_NE(msg.find("golden retriever"), std::string::npos) << msg;
  EXPECT_NE(msg.find("context length " + std::to_string(context)), std::string::npos) << msg;
}

}  // namespace prompt_sizes_test
}  // namespace vlprompt::prompts
