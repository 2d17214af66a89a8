// `vlprompt study` end to end on the shipped tiny LM: a killed study resumes its cut-short cell
// from the checkpoint, finished cells are skipped, and a sequential cell's delta file holds every
// stage (the earlier stages' tensors exactly as they trained them) and evaluates on its own.
#include <gtest/gtest.h>
#include <signal.h>

#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/train_stop.h"
#include "tests/test_support.h"

namespace vlprompt::testing {
namespace {

const char* kStudy = R"(study: tiny
models: [tiny-pretrained-lm]
datasets: [fortunes]
shots: [2]
seeds: [1]
overrides: [prompt_tuning.n_virtual=4]
methods:
  - {label: zero-prompt, baseline: true}
  - {label: Prompt, method: prompt_tuning, overrides: [train.max_epoch=40]}
  - {label: Prompt->BitFit, sequence: [prompt_tuning, bitfit], group: sequential,
     overrides: [train.max_epoch=2]}
)";

int64_t commands_run(const std::string& record) {
  return static_cast<int64_t>(read_json(record)["commands"].size());
}

TEST(StudyCli, AKilledStudyResumesItsCellAndSkipsFinishedOnes) {
  const std::string dir = scratch_dir("cli");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string yaml = dir + "/tiny.yaml";
  core::atomic_write(yaml, kStudy);
  const std::string out = dir + "/out";
  const std::string args = "study --config " + quoted(yaml) + " --out " + quoted(out);
  const std::string prompt = out + "/tiny-pretrained-lm/fortunes/prompt/2-shot/seed-1";
  const std::string seq = out + "/tiny-pretrained-lm/fortunes/prompt-bitfit/2-shot/seed-1";
  std::filesystem::create_directories(std::filesystem::path(prompt).parent_path());  // its log
  std::string why;
  ASSERT_TRUE(train_and_stop(args, prompt, 2, SIGKILL, &why)) << why;
  EXPECT_FALSE(core::file_exists(prompt + "/results.json"));

  const CliResult resumed = run_cli(args);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const std::string record =
      out + "/study_state/cells/tiny-pretrained-lm__fortunes__prompt__2-shot__seed-1.json";
  const nlohmann::json commands = read_json(record)["commands"];
  ASSERT_EQ(commands.size(), 2u) << commands.dump();
  EXPECT_TRUE(commands[0]["exit_code"].is_null()) << "the killed command has no exit code";
  EXPECT_EQ(commands[1]["argv"], (nlohmann::json{"train", "--resume", prompt}));
  EXPECT_EQ(commands[1]["exit_code"], 0);
  EXPECT_GT(commands[1]["peak_rss_bytes"].get<int64_t>(), 10 << 20);
  EXPECT_EQ(checkpoint_epoch(prompt), 40);

  // A third run runs nothing and writes the same numbers.
  const CliResult again = run_cli(args);
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(commands_run(record), 2);
  const nlohmann::json study = read_json(out + "/study.json");
  EXPECT_EQ(study["cells_done"], 2);
  const nlohmann::json results = read_json(prompt + "/results.json");
  EXPECT_EQ(study["cells"][0]["test_top1"], results["test"]["top1"]);
  EXPECT_EQ(study["cells"][0]["baseline_top1"], results["zero_prompt"]["top1"]);
  const std::string html = core::read_file(out + "/report.html");
  EXPECT_NE(html.find("Sequential combinations"), std::string::npos);
  EXPECT_NE(html.find("demonstration model"), std::string::npos);

  // The sequence: stage 2's file holds stage 1's prompt exactly (it was held fixed) and its own
  // BitFit, and `eval` of that file alone reproduces the cell's test numbers.
  const core::TensorMap first =
      core::read_safetensors(seq + "/stages/1-prompt_tuning/delta.safetensors").tensors;
  const core::TensorMap last = core::read_safetensors(seq + "/delta.safetensors").tensors;
  ASSERT_FALSE(first.empty());
  for (const auto& [name, t] : first) {
    ASSERT_TRUE(last.count(name)) << name << " missing from the last stage's file";
    EXPECT_TRUE(at::equal(last.at(name), t)) << name << " moved while held fixed";
  }
  EXPECT_GT(last.size(), first.size());
  const CliResult inspect = run_cli("inspect " + quoted(seq + "/delta.safetensors"));
  EXPECT_NE(inspect.output.find("method: prompt_tuning+bitfit"), std::string::npos)
      << inspect.output;
  const CliResult eval =
      run_cli("eval --delta " + quoted(seq + "/delta.safetensors") +
              " --model tiny-pretrained-lm --dataset fortunes --out " + quoted(dir + "/eval"));
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_NEAR(read_json(dir + "/eval/results.json")["test"]["top1"].get<double>(),
              read_json(seq + "/results.json")["test"]["top1"].get<double>(), 1e-9);
}

}  // namespace
}  // namespace vlprompt::testing
