// vlprompt predict through a trained delta, on preprocessed pixels, writing raw logits: the logits
// are the delta's (not zero-shot), in the class order given, and bad pixel files are named.
#include <gtest/gtest.h>

#include "datasets/catalog.h"
#include "models/clip/load_clip.h"
#include "prompts/registry.h"
#include "src/core/npy.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

TEST(PredictCli, DeltaOnPreprocessedPixelsWritesTheDeltasLogits) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = unified_run(1);
  const std::string dir = scratch_dir("predict");
  at::manual_seed(0);
  const at::Tensor pixels = at::randn({3, 3, 64, 64});
  core::write_npy(dir + "/x.npy", pixels);
  const std::string base = "predict --model " + quoted(tiny_model()) + " --vocab " +
                           quoted(vocab()) + " --dataset fashion_mnist --pixels " +
                           quoted(dir + "/x.npy") + " --json --top-k 1";
  const CliResult learned = run_cli(base + " --delta " + quoted(run + "/delta.safetensors") +
                                    " --logits-out " + quoted(dir + "/learned.npy"));
  ASSERT_EQ(learned.status, 0) << learned.output;
  const CliResult zeroshot = run_cli(base + " --logits-out " + quoted(dir + "/zeroshot.npy"));
  ASSERT_EQ(zeroshot.status, 0) << zeroshot.output;
  const at::Tensor logits = core::read_npy(dir + "/learned.npy");
  ASSERT_EQ(logits.sizes(), (at::IntArrayRef{3, 10}));
  EXPECT_FALSE(at::allclose(logits, core::read_npy(dir + "/zeroshot.npy"), 1e-3, 1e-3));

  // The delta evaluated in process on the same pixels, classes in the catalog's order.
  prompts::MethodContext context;
  context.clip = models::load_clip(tiny_model()).model;
  context.tokenizer =
      std::make_shared<const text::ClipTokenizer>(text::ClipTokenizer::from_file(vocab()));
  context.classnames = datasets::load_catalog_entry("fashion_mnist").classnames;
  auto method = prompts::method_from_delta(run + "/delta.safetensors", context).method;
  method->set_training(false);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose(logits, method->forward({pixels, at::zeros({3}, at::kLong), false}),
                           1e-5, 1e-5));
  const std::string json_lines = learned.output.substr(learned.output.find("\n{") + 1);
  const auto first = nlohmann::json::parse(json_lines.substr(0, json_lines.find('\n')));
  EXPECT_EQ(first["top"][0]["label"], context.classnames[logits[0].argmax().item<int64_t>()]);

  core::write_npy(dir + "/bad.npy", at::randn({2, 3, 32, 32}));
  std::string bad = base;
  bad.replace(bad.find(dir + "/x.npy"), (dir + "/x.npy").size(), dir + "/bad.npy");
  const CliResult refused = run_cli(bad);
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("bad.npy: expected float32 pixels [N, 3, 64, 64]"),
            std::string::npos)
      << refused.output;
}

}  // namespace
}  // namespace vlprompt::testing
