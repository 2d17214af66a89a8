// Reading a study back from its run folders: the numbers of study.json (means and spreads over
// seeds, the base-to-new harmonic mean, parameters counted from the delta files of every stage,
// seconds per step and steps to 90% from metrics.jsonl) and the report's plots. The run folders
// are written by the test with known numbers, so every expected value is computed here by hand.
#include "study/study_results.h"

#include <gtest/gtest.h>

#include <cmath>

#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "study/study_markdown.h"
#include "study/study_report.h"
#include "study/svg_chart.h"
#include "tests/test_support.h"

namespace vlprompt::study {
namespace {

using namespace vlprompt::testing;

void write_run(const std::string& dir, double top1, double baseline, int64_t values,
               const std::string& metrics) {
  core::atomic_write(
      dir + "/results.json",
      nlohmann::json{{"test", {{"top1", top1}, {"macro", top1 - 1}, {"macro_f1", top1 - 2}}},
                     {"zeroshot_manual", {{"top1", baseline}, {"macro_f1", 9.0}}}}
          .dump());
  core::write_safetensors(dir + "/delta.safetensors", {{"m.w", at::zeros({values})}});
  if (!metrics.empty()) core::atomic_write(dir + "/metrics.jsonl", metrics);
}

std::string epoch(int e, double acc, int64_t steps, double seconds) {
  return nlohmann::json{{"epoch", e},          {"loss", 1.0 / e},         {"train_acc", acc},
                        {"steps", steps},      {"step_seconds", seconds}, {"lr", 0.1},
                        {"val_top1", nullptr}, {"seconds", seconds + 1}}
             .dump() +
         "\n";
}

StudySpec spec_with(const std::string& file) {
  core::atomic_write(file, R"(models: [m]
datasets: [d]
shots: [2, 4]
seeds: [1, 2]
protocols: [all, base-to-new]
methods:
  - {label: hand-written, baseline: true}
  - {label: A, method: coop}
  - {label: A->B, sequence: [coop, vpt], group: sequential, base_to_new: false}
)");
  return read_study(file);
}

TEST(StudyResults, NumbersComeFromTheRunFoldersAndReduceOverSeeds) {
  const std::string dir = scratch_dir("results");
  std::filesystem::remove_all(dir);
  const StudySpec spec = spec_with(dir + "/study.yaml");
  const std::vector<Cell> cells = expand_cells(spec);
  ASSERT_EQ(cells.size(), 2u * 2 * 2 + 4);  // A and A->B under all; A only under base-to-new
  StudyPaths paths{dir, "/nonexistent"};
  // A, 4 shots, seeds 1 and 2 (all classes): 60 and 70 against a hand-written 50.
  const auto& a1 = cells[2];
  const auto& a2 = cells[3];
  ASSERT_EQ(a1.id, "m/d/a/4-shot/seed-1");
  write_run(dir + "/" + a1.id, 60, 50, 6,
            epoch(1, 40, 10, 2.0) + epoch(2, 80, 10, 2.0) + epoch(3, 85, 10, 2.0) +
                epoch(4, 90, 10, 2.0));
  write_run(dir + "/" + a2.id, 70, 50, 6, "");
  // A->B, 4 shots, seed 1: two stages; the last stage's file holds both (3 + 5 values), and the
  // curve goes on across stages.
  const auto& seq = cells[6];
  ASSERT_EQ(seq.id, "m/d/a-b/4-shot/seed-1");
  write_run(dir + "/" + seq.id + "/stages/1-coop", 55, 50, 3, epoch(1, 50, 4, 1.0));
  write_run(dir + "/" + seq.id, 65, 50, 8, epoch(1, 70, 6, 3.0) + epoch(2, 100, 6, 3.0));
  // A base-to-new, 2 shots, seed 1: base 80, new 60 (hand-written 70 and 50).
  const auto& b2n = cells[8];
  ASSERT_EQ(b2n.id, "m/d/a/2-shot-base-to-new/seed-1");
  write_run(dir + "/" + b2n.id, 80, 70, 6, "");
  write_run(dir + "/" + b2n.id + "/new", 60, 50, 6, "");

  const std::vector<CellResult> results = read_results(spec, cells, paths);
  EXPECT_FALSE(results[0].done);
  ASSERT_TRUE(results[2].done);
  EXPECT_EQ(results[2].parameters, 6);
  ASSERT_TRUE(results[2].seconds_per_step);
  EXPECT_DOUBLE_EQ(*results[2].seconds_per_step, 8.0 / 40);
  // 90% of the final 90 is 81: reached at epoch 3, after 30 steps.
  EXPECT_EQ(results[2].steps_to_90, 30);
  EXPECT_FALSE(results[3].seconds_per_step) << "no epochs: a fitted method";
  ASSERT_TRUE(results[6].done);
  EXPECT_EQ(results[6].parameters, 8) << "the values of the whole stack";
  ASSERT_EQ(results[6].curve.size(), 3u);
  EXPECT_EQ(results[6].curve[2].step, 4 + 6 + 6);
  EXPECT_DOUBLE_EQ(*results[6].seconds_per_step, 7.0 / 16);
  ASSERT_TRUE(results[8].hm);
  EXPECT_DOUBLE_EQ(*results[8].hm, 2 * 80.0 * 60 / 140);
  EXPECT_DOUBLE_EQ(*results[8].baseline_hm, 2 * 70.0 * 50 / 120);

  const nlohmann::json j = study_json(spec, results);
  EXPECT_EQ(j["cells_done"], 4);
  EXPECT_EQ(j["cells_total"], 12);
  bool found = false;
  for (const auto& row : j["rows"]) {
    if (row["method"] == "A" && row["shots"] == 4 && row["protocol"] == "all") {
      found = true;
      EXPECT_DOUBLE_EQ(row["test_top1"]["mean"].get<double>(), 65.0);
      EXPECT_DOUBLE_EQ(row["test_top1"]["std"].get<double>(), std::sqrt(50.0));
      EXPECT_EQ(row["test_top1"]["n"], 2);
    }
  }
  EXPECT_TRUE(found);

  std::vector<StudyPlot> plots;
  const std::string html =
      render_study_report(spec, results, "vlprompt study ...", {"a note"}, &plots);
  std::vector<std::string> files;
  for (const auto& p : plots) files.push_back(p.file);
  EXPECT_EQ(files,
            (std::vector<std::string>{"m-d-parameters.svg", "m-d-shots.svg", "m-d-convergence.svg",
                                      "m-d-base-to-new-parameters.svg", "m-d-base-to-new-shots.svg",
                                      "m-d-base-to-new-convergence.svg"}));
  EXPECT_NE(html.find("Accuracy against trainable parameters"), std::string::npos);
  EXPECT_NE(html.find("Accuracy against shots"), std::string::npos);
  EXPECT_NE(html.find("Convergence"), std::string::npos);
  EXPECT_NE(html.find("Sequential combinations"), std::string::npos);
  EXPECT_NE(html.find("base-to-new"), std::string::npos);
  EXPECT_NE(html.find("65.00 &plusmn; 7.07"), std::string::npos) << "A at 4 shots";
  EXPECT_NE(html.find("4 of 12 cells finished"), std::string::npos);

  const std::string md = study_markdown(spec, results);
  EXPECT_NE(md.find("| A | - | 65.00 ± 7.07 | 63.00 ± 7.07 | 6 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| hand-written | - | 50.00 ± 0.00 | 9.00 ± 0.00 | 0 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| A->B | - | 65.00 | 63.00 | 8 |"), std::string::npos) << md;
}

TEST(SvgChart, AxesLegendAndALogScaleThatSaysWhatItLeftOut) {
  Series a{"LoRA", {1000, 100000}, {70, 80}};
  Series b{"zero", {0, 10}, {50, 55}};
  ChartOptions o;
  o.title = "t <1>";
  o.x_label = "parameters";
  o.y_label = "top-1";
  o.log_x = true;
  const std::string svg = svg_chart({a, b}, o);
  EXPECT_NE(svg.find("t &lt;1&gt;"), std::string::npos);
  EXPECT_NE(svg.find("parameters (log scale) (1 points at 0 not shown)"), std::string::npos);
  EXPECT_NE(svg.find(">LoRA</text>"), std::string::npos) << "legend entry";
  EXPECT_NE(svg.find(">zero</text>"), std::string::npos);
  // Decades as ticks: 10, 100, 1000, 10000, 100000.
  for (const char* tick : {">10<", ">100<", ">1000<", ">10000<", ">1e+05<"}) {
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  }
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_NE(svg_chart({}, o).find("no data"), std::string::npos);
}

TEST(StudyResults, StepsToNinetyPercent) {
  EXPECT_FALSE(steps_to_fraction({}, 0.9));
  EXPECT_EQ(steps_to_fraction({{5, 10, 0}, {10, 95, 0}, {15, 100, 0}}, 0.9), 10);
  EXPECT_EQ(steps_to_fraction({{5, 100, 0}, {10, 50, 0}}, 0.9), 5);
}

}  // namespace
}  // namespace vlprompt::study
