// The study file and its grid: what cells exist, in which folders, with which commands; and the
// errors a wrong file gets.
#include "study/study_grid.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "study/study_spec.h"
#include "tests/test_support.h"

namespace vlprompt::study {
namespace {

using namespace vlprompt::testing;

std::string write_study(const std::string& name, const std::string& yaml) {
  const std::string path = scratch_dir("grid") + "/" + name + ".yaml";
  core::atomic_write(path, yaml);
  return path;
}

const char* kStudy = R"(study: tiny
models: [tiny-pretrained-lm]
datasets: [fortunes]
shots: [4, 16]
seeds: [1, 2]
args: [--eval-batch-size, '32']
overrides: [train.max_epoch=3, bitfit.seed=7]
methods:
  - {label: zero-prompt, baseline: true}
  - {label: Prompt, method: prompt_tuning, overrides: [optim.lr=0.1]}
  - {label: Prompt+BitFit, method: prompt_tuning+bitfit, group: simultaneous}
  - {label: Prompt->BitFit, sequence: [prompt_tuning, bitfit], group: sequential}
cells:
  - when: {method: Prompt, shots: 4}
    overrides: [train.max_epoch=9]
)";

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(StudyGrid, CellsAreMethodsTimesShotsTimesSeedsWithoutTheBaselineRow) {
  const StudySpec spec = read_study(write_study("ok", kStudy));
  const std::vector<Cell> cells = expand_cells(spec);
  ASSERT_EQ(cells.size(), 3u * 2 * 2);
  EXPECT_EQ(cells[0].id, "tiny-pretrained-lm/fortunes/prompt/4-shot/seed-1");
  EXPECT_EQ(cells[1].id, "tiny-pretrained-lm/fortunes/prompt/4-shot/seed-2");
  EXPECT_EQ(cells[2].id, "tiny-pretrained-lm/fortunes/prompt/16-shot/seed-1");
  EXPECT_EQ(cells[11].id, "tiny-pretrained-lm/fortunes/prompt-bitfit/16-shot/seed-2");
  EXPECT_EQ(cells[4].id, "tiny-pretrained-lm/fortunes/prompt+bitfit/4-shot/seed-1");
}

TEST(StudyGrid, RulesApplyOnlyToTheirCellsAndAfterTheMethodsOverrides) {
  const StudySpec spec = read_study(write_study("rules", kStudy));
  const std::vector<Cell> cells = expand_cells(spec);
  const auto four = cell_steps(spec, cells[0], "/s");
  ASSERT_EQ(four.size(), 1u);
  const auto& argv = four[0].argv;
  EXPECT_EQ(argv[0], "train");
  EXPECT_TRUE(has(argv, "--eval-batch-size"));
  const auto last_epoch = std::find(argv.rbegin(), argv.rend(), "train.max_epoch=9");
  const auto first_epoch = std::find(argv.rbegin(), argv.rend(), "train.max_epoch=3");
  ASSERT_NE(last_epoch, argv.rend());
  ASSERT_NE(first_epoch, argv.rend());
  EXPECT_LT(last_epoch - argv.rbegin(), first_epoch - argv.rbegin()) << "the rule comes last";
  EXPECT_TRUE(has(argv, "optim.lr=0.1"));
  // bitfit's key is left out of a stage that trains no bitfit.
  EXPECT_FALSE(has(argv, "bitfit.seed=7"));
  const auto sixteen = cell_steps(spec, cells[2], "/s");
  EXPECT_FALSE(has(sixteen[0].argv, "train.max_epoch=9"));
  EXPECT_EQ(sixteen[0].out, "/s/" + cells[2].id);
}

TEST(StudyGrid, ASequenceTrainsEachStageOnTheLastHeldFixed) {
  const StudySpec spec = read_study(write_study("sequence", kStudy));
  const std::vector<Cell> cells = expand_cells(spec);
  const Cell& c = cells[8];
  ASSERT_EQ(c.method->label, "Prompt->BitFit");
  const auto steps = cell_steps(spec, c, "/s");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].out, "/s/" + c.id + "/stages/1-prompt_tuning");
  EXPECT_EQ(steps[1].out, "/s/" + c.id);
  EXPECT_FALSE(has(steps[0].argv, "--init-delta"));
  EXPECT_FALSE(has(steps[0].argv, "bitfit.seed=7"));
  const auto& second = steps[1].argv;
  const auto init = std::find(second.begin(), second.end(), "--init-delta");
  ASSERT_NE(init, second.end());
  EXPECT_EQ(*(init + 1), steps[0].out + "/delta.safetensors");
  EXPECT_TRUE(has(second, "--freeze-init"));
  EXPECT_TRUE(has(second, "bitfit.seed=7"));
  EXPECT_EQ(resume_argv(steps[1]), (std::vector<std::string>{"train", "--resume", steps[1].out}));
}

TEST(StudyGrid, BaseToNewTrainsOnBaseAndEvaluatesNew) {
  std::string yaml = kStudy;
  yaml.replace(yaml.find("args:"), 0, "protocols: base-to-new\n");
  const StudySpec spec = read_study(write_study("b2n", yaml));
  const auto steps = cell_steps(spec, expand_cells(spec)[0], "/s");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(has(steps[0].argv, "base"));
  EXPECT_EQ(steps[1].kind, CellStep::Kind::kEval);
  EXPECT_EQ(steps[1].argv[0], "eval");
  EXPECT_TRUE(has(steps[1].argv, "new"));
  EXPECT_TRUE(has(steps[1].argv, steps[0].out + "/delta.safetensors"));
  EXPECT_EQ(steps[1].out, steps[0].out + "/new");
}

TEST(StudyGrid, ModelsGivenOnTheCommandLineAreFolderNames) {
  EXPECT_EQ(folder_name("/models/Llama-2-7b-hf/"), "llama-2-7b-hf");
  EXPECT_EQ(folder_name("Prompt->BitFit->Adapter"), "prompt-bitfit-adapter");
  EXPECT_EQ(folder_name("CoOp (16 ctx)"), "coop-16-ctx");
  EXPECT_THROW(folder_name("../"), Error);
}

TEST(StudySpecErrors, NameTheFileTheEntryAndWhatWasExpected) {
  const std::string typo = write_study("typo", std::string(kStudy) + "seedz: [1]\n");
  std::string e = error_of([&] { read_study(typo); });
  EXPECT_NE(e.find(typo), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'seedz'"), std::string::npos) << e;
  EXPECT_NE(e.find("'seeds'"), std::string::npos) << e;

  std::string bad = kStudy;
  bad.replace(bad.find("method: prompt_tuning,"), 22, "method: prompt_tunin,");
  e = error_of([&] { read_study(write_study("unknown", bad)); });
  EXPECT_NE(e.find("methods[1].method"), std::string::npos) << e;
  EXPECT_NE(e.find("prompt_tunin"), std::string::npos) << e;

  std::string twice = kStudy;
  twice.replace(twice.find("label: Prompt+BitFit"), 20, "label: Prompt");
  e = error_of([&] { read_study(write_study("twice", twice)); });
  EXPECT_NE(e.find("methods[2]: the label 'Prompt' is taken"), std::string::npos) << e;

  std::string protocol = kStudy;
  protocol.replace(protocol.find("args:"), 0, "protocols: [all, base2new]\n");
  e = error_of([&] { read_study(write_study("protocol", protocol)); });
  EXPECT_NE(e.find("protocols: 'base2new' is not all or base-to-new"), std::string::npos) << e;

  std::string rule = kStudy;
  rule.replace(rule.find("method: Prompt, shots"), 15, "method: Promt,");
  e = error_of([&] { read_study(write_study("rule", rule)); });
  EXPECT_NE(e.find("no method is labelled 'Promt'"), std::string::npos) << e;

  std::string shots = kStudy;
  shots.replace(shots.find("[4, 16]"), 7, "[4, x]");
  e = error_of([&] { read_study(write_study("shots", shots)); });
  EXPECT_NE(e.find("shots: 'x' is not an integer >= 1"), std::string::npos) << e;

  e = error_of([&] { read_study(write_study("garbled", "methods: [\n")); });
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

TEST(StudySpec, TheShippedStudiesReadAndExpand) {
  for (const char* name : {"delta-tuning", "vpt-baselines", "coop-family"}) {
    const StudySpec spec =
        read_study(source_path(std::string("prompts/studies/") + name + ".yaml"));
    EXPECT_FALSE(expand_cells(spec).empty()) << name;
    EXPECT_EQ(study_path(name),
              std::string(VLPROMPT_SOURCE_DIR) + "/prompts/studies/" + name + ".yaml");
  }
}

}  // namespace
}  // namespace vlprompt::study
