// `vlprompt inspect` on a delta file: its metadata and tensors, and with --model the vocabulary
// words nearest each context vector (CoOp's reading of learned prompts). Context vectors set to
// known token embeddings must read back as those tokens at distance 0.
#include <gtest/gtest.h>

#include "models/clip/load_clip.h"
#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

// OpenAI's ids: "a</w>", "photo</w>", "of</w>", "cat</w>".
const std::vector<int64_t> kWordIds{320, 1125, 539, 2368};

at::Tensor token_embeddings(const std::vector<int64_t>& ids) {
  at::NoGradGuard no_grad;
  models::Clip clip = models::load_clip(tiny_model()).model;
  return clip->embed_tokens(at::tensor(ids, at::kLong).unsqueeze(0)).squeeze(0).clone();
}

// A copy of `run`'s delta whose context tensor is replaced by `ctx`.
std::string delta_with_context(const std::string& run, const at::Tensor& ctx,
                               const std::string& name) {
  core::TensorFile f = core::read_safetensors(run + "/delta.safetensors");
  EXPECT_EQ(f.tensors.at("coop.ctx").sizes(), ctx.sizes());
  f.tensors["coop.ctx"] = ctx;
  const std::string path = scratch_dir("inspect") + "/" + name + ".safetensors";
  core::write_safetensors(path, f.tensors, f.metadata);
  return path;
}

std::string inspect_args(const std::string& file) {
  return "inspect " + quoted(file) + " --model " + quoted(tiny_model()) + " --vocab " +
         quoted(vocab());
}

TEST(InspectCli, DeltaFileShowsItsMetadataAndTensors) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = unified_run(1);
  const CliResult r = run_cli("inspect " + quoted(run + "/delta.safetensors"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("method: coop"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("n_ctx=4"), std::string::npos) << r.output;
  EXPECT_NE(
      r.output.find(read_json(run + "/results.json")["model"]["fingerprint"].get<std::string>()),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("t-shirt, trouser"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("a photo of a {}, a type of clothing."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("coop.ctx"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[4,64]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pass --model"), std::string::npos) << r.output;

  const CliResult j = run_cli("inspect --json " + quoted(run + "/delta.safetensors"));
  ASSERT_EQ(j.status, 0) << j.output;
  const nlohmann::json out = printed_json(j.output);
  EXPECT_EQ(out["kind"], "delta");
  EXPECT_EQ(out["training"]["shots"], 16);
  EXPECT_EQ(out["tensor_list"]["coop.ctx"]["shape"], nlohmann::json({4, 64}));
  EXPECT_EQ(out["parameters"], 256);
}

TEST(InspectCli, UnifiedContextReadsBackAsTheWordsItWasSetTo) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string file =
      delta_with_context(unified_run(1), token_embeddings(kWordIds), "unified-words");
  const CliResult r = run_cli(inspect_args(file) + " --json --top-k 2");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json out = printed_json(r.output);
  const nlohmann::json& rows = out["nearest_words"]["coop.ctx"];
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rows[i]["position"], i);
    EXPECT_FALSE(rows[i].contains("class"));
    ASSERT_EQ(rows[i]["words"].size(), 2u);
    EXPECT_EQ(rows[i]["words"][0]["id"], kWordIds[i]);
    EXPECT_NEAR(rows[i]["words"][0]["distance"].get<double>(), 0.0, 1e-6);
    EXPECT_GT(rows[i]["words"][1]["distance"].get<double>(), 0.1);
  }
  EXPECT_EQ(rows[1]["words"][0]["token"], "photo</w>");

  const CliResult text = run_cli(inspect_args(file));
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("ctx  1:  photo (0.000)"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("ctx  3:  cat (0.000)"), std::string::npos) << text.output;
}

TEST(InspectCli, ClassSpecificContextIsReadPerClass) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = csc_run();
  at::Tensor ctx = core::read_safetensors(run + "/delta.safetensors").tensors.at("coop.ctx");
  ASSERT_EQ(ctx.dim(), 3);
  ctx = ctx.clone();
  ctx[9][15] = token_embeddings({2368})[0];  // the last class's last vector: "cat</w>"
  const std::string file = delta_with_context(run, ctx, "csc-words");
  const CliResult r = run_cli(inspect_args(file) + " --json --top-k 1");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json out = printed_json(r.output);
  const nlohmann::json& rows = out["nearest_words"]["coop.ctx"];
  ASSERT_EQ(rows.size(), 10u * 16u);
  EXPECT_EQ(rows[16]["class"], 1);
  EXPECT_EQ(rows[16]["classname"], "trouser");
  EXPECT_EQ(rows[16]["position"], 0);
  const nlohmann::json& last = rows[10 * 16 - 1];
  EXPECT_EQ(last["classname"], "ankle boot");
  EXPECT_EQ(last["words"][0]["token"], "cat</w>");
  EXPECT_NEAR(last["words"][0]["distance"].get<double>(), 0.0, 1e-6);
}

TEST(InspectCli, NearestWordsRefuseAnotherBackbone) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = unified_run(1);
  const CliResult r = run_cli("inspect " + quoted(run + "/delta.safetensors") + " --model " +
                              quoted(tiny_model(1)) + " --vocab " + quoted(vocab()));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("fingerprint"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vlprompt::testing
