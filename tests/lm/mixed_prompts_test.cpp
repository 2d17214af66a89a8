// Lester et al.'s mixed-task batches: rows of one pass using different virtual-token deltas equal
// their single-delta runs; rows whose counts differ are refused by one pass and served by
// mixed_text_logits.
#include "prompts/lm/mixed_prompts.h"

#include <gtest/gtest.h>

#include "prompts/lm/p_tuning.h"
#include "prompts/lm/prompt_tuning.h"
#include "tests/lm/lm_test_support.h"
#include "tests/test_support.h"

namespace mixed_prompts_test {

using namespace lm_test_support;
namespace lm = vlprompt::prompts::lm;

std::shared_ptr<lm::VirtualTokenDeltaImpl> make(const std::string& method, int64_t n,
                                                vlprompt::models::llama::LlamaModel model,
                                                uint64_t seed) {
  auto d =
      vlprompt::prompts::make_lm_delta(method, config({{method + ".n_virtual", std::to_string(n)}}),
                                       context(std::move(model), seed));
  return std::dynamic_pointer_cast<lm::VirtualTokenDeltaImpl>(d);
}

// One delta over the whole batch: logits [B, n + L, V].
at::Tensor single(vlprompt::models::llama::LlamaModel& model, lm::VirtualTokenDeltaImpl& d,
                  const at::Tensor& ids) {
  return model->logits(ids, d.sites(vlprompt::delta::Tower::kText, {}));
}

TEST(MixedPrompts, RowsEqualTheirSingleDeltaRuns) {
  auto model = tiny_llama();
  torch::NoGradGuard no_grad;
  const lm::VirtualTokenDeltas deltas{make("prompt_tuning", 3, model, 1),
                                      make("prompt_tuning", 3, model, 2),
                                      make("p_tuning", 3, model, 3)};
  const at::Tensor ids = batch_ids();
  const at::Tensor rows = at::tensor({0, 1, 2, 0}, at::kLong);
  lm::MixedPromptSites sites(deltas, rows);
  const at::Tensor mixed = model->logits(ids, &sites);
  ASSERT_EQ(mixed.size(1), 3 + ids.size(1));
  double worst_single_row = 0;
  for (int64_t b = 0; b < 4; ++b) {
    auto& d = *deltas[rows[b].item<int64_t>()];
    // The same batch under that one delta: the same arithmetic, so the row is bit-identical.
    EXPECT_TRUE(at::equal(mixed[b], single(model, d, ids)[b])) << "row " << b;
    // The row alone (another batch size: BLAS may round differently).
    worst_single_row =
        std::max(worst_single_row, max_diff(mixed[b], single(model, d, ids.narrow(0, b, 1))[0]));
  }
  EXPECT_LT(worst_single_row, 1e-5);
  // The deltas differ, so a mix-up of rows would show.
  EXPECT_GT(max_diff(single(model, *deltas[0], ids)[1], mixed[1]), 1e-3);
}

TEST(MixedPrompts, DifferentCountsInOnePassAreRefused) {
  auto model = tiny_llama();
  const lm::VirtualTokenDeltas deltas{make("prompt_tuning", 3, model, 1),
                                      make("prompt_tuning", 2, model, 2)};
  std::string message = vlprompt::testing::error_of([&] {
    lm::MixedPromptSites s(deltas, at::tensor({0, 1}, at::kLong));
  });
  EXPECT_NE(message.find("row 1 prepends 2"), std::string::npos) << message;
  EXPECT_NE(message.find("mixed_text_logits"), std::string::npos) << message;
  message = vlprompt::testing::error_of([&] {
    lm::MixedPromptSites s(deltas, at::tensor({0, -1}, at::kLong));
  });
  EXPECT_NE(message.find("row 1 prepends 0"), std::string::npos) << message;
  message = vlprompt::testing::error_of([&] {
    lm::MixedPromptSites s(deltas, at::tensor({0, 5}, at::kLong));
  });
  EXPECT_NE(message.find("names delta 5"), std::string::npos) << message;
}

TEST(MixedPrompts, MixedTextLogitsGroupsRowsByCount) {
  auto model = tiny_llama();
  torch::NoGradGuard no_grad;
  const lm::VirtualTokenDeltas deltas{make("prompt_tuning", 3, model, 1),
                                      make("prompt_tuning", 2, model, 2)};
  const at::Tensor ids = batch_ids();
  const at::Tensor out = lm::mixed_text_logits(model, ids, deltas, at::tensor({0, -1, 1, 0}));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 6, 40}));
  const int64_t l = ids.size(1);
  EXPECT_LT(max_diff(out[0], single(model, *deltas[0], ids.narrow(0, 0, 1))[0].narrow(0, 3, l)),
            1e-5);
  EXPECT_LT(max_diff(out[1], model->logits(ids.narrow(0, 1, 1))[0]), 1e-5);
  EXPECT_LT(max_diff(out[2], single(model, *deltas[1], ids.narrow(0, 2, 1))[0].narrow(0, 2, l)),
            1e-5);
  EXPECT_LT(max_diff(out[3], single(model, *deltas[0], ids.narrow(0, 3, 1))[0].narrow(0, 3, l)),
            1e-5);
}

}  // namespace mixed_prompts_test
