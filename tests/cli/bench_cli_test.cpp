// `vlprompt bench coop-step` keeps its public JSON: one entry per --classes count, the text side
// three ways (shared prefix, truncated, 77 tokens) with the token rows each runs.
#include <gtest/gtest.h>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

TEST(BenchCli, CoopStepReportsTheSharedPrefixBesideTruncationPerClassCount) {
  const CliResult r = run_cli("bench coop-step --config tiny --vocab " + quoted(vocab()) +
                              " --batch 4 --classes 3 12 --iters 1 --warmup 0");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = printed_json(r.output);
  ASSERT_TRUE(j.contains("coop_step")) << r.output;
  const nlohmann::json& steps = j.at("coop_step");
  ASSERT_EQ(steps.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const nlohmann::json& s = steps[i];
    EXPECT_EQ(s.at("classes").get<int64_t>(), i == 0 ? 3 : 12);
    EXPECT_GT(s.at("cached_features").at("seconds_per_step").get<double>(), 0);
    const nlohmann::json& t = s.at("text_side");
    for (const char* k : {"seconds_shared_prefix", "seconds_truncated", "seconds_full_77"}) {
      EXPECT_GT(t.at(k).get<double>(), 0) << k;
    }
    // [SOS][ctx x 16] once, then each class's own tokens.
    EXPECT_LT(t.at("token_rows_shared_prefix").get<int64_t>(),
              t.at("token_rows_truncated").get<int64_t>());
    EXPECT_EQ(t.at("eot_positions").size(), s.at("classes").get<size_t>());
  }
  EXPECT_TRUE(steps[0].contains("image_tower_in_loop")) << "timed at the first class count";
  EXPECT_EQ(j.at("blas").at("threads").get<int>() > 0, true);
}

}  // namespace
}  // namespace vlprompt::testing
