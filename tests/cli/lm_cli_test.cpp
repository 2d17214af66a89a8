// The text-LM commands end to end: `lm score` against the plain-PyTorch reference of the fixture
// model (tests/fixtures/make_lm_fixtures.py), `lm generate` with and without the cache,
// `train`/`eval`/`inspect` of the three text deltas on few-shot fortunes with the shipped
// tiny-pretrained-lm (beating the zero-prompt model well above chance), causal-LM training, and
// resume after kill.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/fortunes_runs.h"
#include "tests/cli/train_stop.h"

namespace lm_cli_test {

using namespace vlprompt::testing;

std::string tiny_lm() { return std::string(VLPROMPT_FIXTURE_DIR) + "/lm/tiny"; }

std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(LmScoreCli, MatchesThePythonReference) {
  const nlohmann::json ref = read_json(std::string(VLPROMPT_FIXTURE_DIR) + "/lm/reference.json");
  std::string args = "lm score --model " + quoted(tiny_lm()) + " --texts";
  for (const auto& t : ref["texts"]) args += " " + quoted(t["text"].get<std::string>());
  const CliResult r = run_cli(args);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), ref["texts"].size()) << r.output;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& got = lines[i];
    const auto& want = ref["texts"][i];
    EXPECT_EQ(got["text"], want["text"]);
    EXPECT_EQ(got["ids"], want["ids"]) << "text " << i;  // BOS included
    ASSERT_EQ(got["logprobs"].size(), want["logprobs"].size());
    double sum = 0;
    for (size_t t = 0; t < want["logprobs"].size(); ++t) {
      EXPECT_NEAR(got["logprobs"][t].get<double>(), want["logprobs"][t].get<double>(), 1e-4);
      sum += want["logprobs"][t].get<double>();
    }
    EXPECT_NEAR(got["ppl"].get<double>() / std::exp(-sum / want["logprobs"].size()), 1.0, 1e-5);
    ASSERT_EQ(got["top"].size(), 5u);
    for (size_t k = 0; k < 5; ++k) {
      EXPECT_EQ(got["top"][k][0], want["top"][k][0]) << "text " << i << " top " << k;
      EXPECT_NEAR(got["top"][k][1].get<double>(), want["top"][k][1].get<double>(), 1e-4);
    }
  }
}

TEST(LmScoreCli, ReadsJsonlAndRefusesBadInput) {
  const std::string dir = scratch_dir("lm-score");
  const std::string file = dir + "/texts.jsonl";
  std::ofstream(file) << "\"Hello there\"\n{\"text\": \"General Kenobi\"}\n";
  const CliResult r = run_cli("lm score --model " + quoted(tiny_lm()) + " --jsonl " + quoted(file));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_lines(r.output).size(), 2u);
  std::ofstream(dir + "/bad.jsonl") << "\"fine\"\n[1, 2]\n";
  const CliResult bad =
      run_cli("lm score --model " + quoted(tiny_lm()) + " --jsonl " + quoted(dir + "/bad.jsonl"));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("bad.jsonl"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("line 2"), std::string::npos) << bad.output;
  const CliResult both =
      run_cli("lm score --model " + quoted(tiny_lm()) + " --texts a --jsonl " + quoted(file));
  EXPECT_NE(both.status, 0);
  const CliResult no_model = run_cli("lm score --model " + quoted(dir) + " --texts a");
  EXPECT_NE(no_model.status, 0);
  EXPECT_NE(no_model.output.find("config.json"), std::string::npos) << no_model.output;
}

TEST(LmGenerateCli, CacheAndFullRerunsGiveTheSameTokensAndTextStreams) {
  const std::string base = "lm generate --model " + quoted(tiny_lm()) +
                           " --prompt 'A fool and his money' --max-new-tokens 16 --json";
  for (const std::string sampling : {"", " --temperature 0.9 --top-p 0.9 --seed 7"}) {
    const CliResult cached = run_cli(base + sampling);
    const CliResult full = run_cli(base + sampling + " --no-cache");
    ASSERT_EQ(cached.status, 0) << cached.output;
    ASSERT_EQ(full.status, 0) << full.output;
    const auto a = json_lines(cached.output), b = json_lines(full.output);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0]["ids"], b[0]["ids"]) << sampling;
    EXPECT_FALSE(a[0]["ids"].empty());
  }
  const CliResult streamed = run_cli("lm generate --model " + quoted(tiny_lm()) +
                                     " --prompt 'A fool and his money' --max-new-tokens 8");
  ASSERT_EQ(streamed.status, 0) << streamed.output;
  EXPECT_EQ(streamed.output.rfind("A fool and his money", 0), 0u) << streamed.output;
}

inline constexpr const char* kPromptTuning =
    "prompt_tuning.n_virtual=8 optim.lr=0.1 train.max_epoch=20";

TEST(LmTrainCli, PromptTuningBeatsTheZeroPromptModel) {
  VLP_REQUIRE_FORTUNES();
  const std::string run = fortunes_run("prompt-tuning", kPromptTuning);
  expect_beats_zero_prompt(run);
  // The delta file holds the virtual tokens only, never a model tensor.
  const auto file = vlprompt::core::read_safetensors(run + "/delta.safetensors");
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors.begin()->second.sizes(), (std::vector<int64_t>{8, 128}));
}

TEST(LmTrainCli, PrefixTuningBeatsTheZeroPromptModel) {
  VLP_REQUIRE_FORTUNES();
  expect_beats_zero_prompt(
      fortunes_run("prefix-tuning", "prefix_tuning.n_virtual=8 train.max_epoch=20"));
}

TEST(LmTrainCli, PTuningBeatsTheZeroPromptModel) {
  VLP_REQUIRE_FORTUNES();
  expect_beats_zero_prompt(fortunes_run("p-tuning", "p_tuning.n_virtual=8 train.max_epoch=20"));
}

TEST(LmTrainCli, EvalReproducesTheRunAndInspectNamesNearestTokens) {
  VLP_REQUIRE_FORTUNES();
  const std::string run = fortunes_run("prompt-tuning", kPromptTuning);
  const std::string out = scratch_dir("lm-eval") + "/eval";
  const CliResult r = run_cli("eval --delta " + quoted(run + "/delta.safetensors") + " --model " +
                              quoted(pretrained_lm()) + " --dataset fortunes --out " + quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_json(out + "/results.json")["test"]["top1"],
            read_json(run + "/results.json")["test"]["top1"]);
  const CliResult ins = run_cli("inspect " + quoted(run + "/delta.safetensors") + " --model " +
                                quoted(pretrained_lm()) + " --json");
  ASSERT_EQ(ins.status, 0) << ins.output;
  const nlohmann::json j = printed_json(ins.output);
  ASSERT_TRUE(j.contains("nearest_words")) << ins.output;
  const auto& rows = j["nearest_words"].begin().value();
  ASSERT_EQ(rows.size(), 8u);  // one row per virtual token
  EXPECT_FALSE(rows[0]["words"].empty());
  // summarize reads text runs (the zero-prompt model is their baseline column).
  const CliResult sum = run_cli("summarize " + quoted(run) + " " + quoted(out));
  ASSERT_EQ(sum.status, 0) << sum.output;
  EXPECT_NE(sum.output.find("prompt_tuning"), std::string::npos) << sum.output;
}

TEST(LmTrainCli, TrainedDeltaExportsToPeftWithoutTheModelAndImportsBackUnchanged) {
  VLP_REQUIRE_FORTUNES();
  const std::string run = fortunes_run("prompt-tuning", kPromptTuning);
  const std::string dir = scratch_dir("lm-peft") + "/adapter";
  std::filesystem::remove_all(dir);
  const CliResult e =
      run_cli("export --to peft " + quoted(run + "/delta.safetensors") + " --out " + quoted(dir));
  ASSERT_EQ(e.status, 0) << e.output;
  const nlohmann::json config = read_json(dir + "/adapter_config.json");
  EXPECT_EQ(config["peft_type"], "PROMPT_TUNING");
  EXPECT_EQ(config["num_virtual_tokens"], 8);
  EXPECT_EQ(config["token_dim"], 128);
  EXPECT_EQ(config["num_layers"], 4);
  const std::string back = dir + "/../back.safetensors";
  const CliResult i = run_cli("import --from peft " + quoted(dir) + " --model " +
                              quoted(pretrained_lm()) + " --out " + quoted(back));
  ASSERT_EQ(i.status, 0) << i.output;
  const auto a = vlprompt::core::read_safetensors(run + "/delta.safetensors").tensors;
  const auto b = vlprompt::core::read_safetensors(back).tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
}

TEST(LmTrainCli, CausalLmTrainingLowersThePerplexityOfHeldOutText) {
  VLP_REQUIRE_FORTUNES();
  const std::string dir = scratch_dir("lm-causal") + "/run";
  std::filesystem::remove_all(dir);
  const CliResult r = run_cli("train --method prompt-tuning --task lm --model " +
                              quoted(tiny_lm()) + " --dataset fortunes --out " + quoted(dir) +
                              " text.max_tokens=48 prompt_tuning.n_virtual=4 train.max_epoch=1");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json results = read_json(dir + "/results.json");
  EXPECT_EQ(results["task"], "lm");
  const double learned = results["test"]["ppl"], plain = results["zero_prompt"]["ppl"];
  EXPECT_LT(learned, plain) << results["comparison"].dump();
  EXPECT_GT(results["test"]["tokens"].get<int64_t>(), 1000);
}

TEST(LmTrainCli, KilledRunResumesToTheSameDelta) {
  VLP_REQUIRE_FORTUNES();
  const std::string dir = scratch_dir("lm-resume");
  const std::string a = dir + "/uninterrupted", b = dir + "/killed";
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  const auto args = [&](const std::string& out) {
    return "train --method prefix-tuning --model " + quoted(tiny_lm()) +
           " --dataset fortunes --shots 4 --seed 2 --out " + quoted(out) +
           " text.max_tokens=48 prefix_tuning.n_virtual=4 train.max_epoch=30 train.batch_size=4";
  };
  const CliResult ra = run_cli(args(a));
  ASSERT_EQ(ra.status, 0) << ra.output;
  std::string why;
  ASSERT_TRUE(train_and_stop(args(b), b, 2, SIGKILL, &why)) << why;
  const CliResult rb = run_cli("train --resume " + quoted(b));
  ASSERT_EQ(rb.status, 0) << rb.output;
  const auto da = vlprompt::core::read_safetensors(a + "/delta.safetensors").tensors;
  const auto db = vlprompt::core::read_safetensors(b + "/delta.safetensors").tensors;
  ASSERT_EQ(da.size(), db.size());
  for (const auto& [name, t] : da) EXPECT_TRUE(at::equal(t, db.at(name))) << name;
  EXPECT_EQ(losses_in(a + "/metrics.jsonl"), losses_in(b + "/metrics.jsonl"));
}

}  // namespace lm_cli_test
