// Running cells: skip the finished, resume the cut short, never run one cell in two processes,
// and keep each command's exit code, time and peak memory. The cells run a stand-in executable
// (a shell script that logs its arguments and writes what a run writes), so these tests are
// about the runner, not training.
#include "study/cell_runner.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "study/cell_lock.h"
#include "study/study_run.h"
#include "tests/test_support.h"

namespace vlprompt::study {
namespace {

using namespace vlprompt::testing;

namespace fs = std::filesystem;

// Logs "argv..." to $CALLS and plays a run: `train ... --out D` writes D/run.json, then (unless
// $FAIL) D/results.json; `train --resume D` and `eval ... --out D` write D/results.json. Results
// appear by rename, as vlprompt writes them: another study process may read them at any moment.
std::string fake_vlprompt(const std::string& dir) {
  const std::string path = dir + "/fake-vlprompt.sh";
  core::atomic_write(path, R"(#!/bin/sh
echo "$*" >> "$CALLS"
out=""; prev=""
for a in "$@"; do
  if [ "$prev" = "--out" ] || [ "$prev" = "--resume" ]; then out="$a"; fi
  prev="$a"
done
mkdir -p "$out"
echo '{}' > "$out/run.json"
sleep "${SLEEP:-0}"
if [ -n "$FAIL" ]; then echo "boom" >&2; exit 3; fi
cp "$DELTA" "$out/delta.safetensors.tmp" && mv "$out/delta.safetensors.tmp" "$out/delta.safetensors"
echo '{"test": {"top1": 50, "macro": 40, "macro_f1": 30}, "zero_prompt": {"top1": 20, "macro_f1": 10}}' > "$out/results.json.tmp"
mv "$out/results.json.tmp" "$out/results.json"
)");
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

std::vector<std::string> calls(const std::string& file) {
  std::vector<std::string> out;
  if (!core::file_exists(file)) return out;
  std::istringstream in(core::read_file(file));
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

struct Fixture {
  std::string dir, calls_file;
  StudyMethod method{"m", {"prompt_tuning"}};
  Cell cell;
  std::vector<CellStep> steps;
  StudyPaths paths;
  explicit Fixture(const std::string& name) {
    dir = scratch_dir(name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    calls_file = dir + "/calls.txt";
    setenv("CALLS", calls_file.c_str(), 1);
    unsetenv("FAIL");
    unsetenv("SLEEP");
    cell.id = "lm/data/m/4-shot/seed-1";
    cell.method = &method;
    CellStep s;
    s.out = dir + "/" + cell.id;
    s.argv = {"train", "--method", "prompt_tuning", "--out", s.out};
    steps = {s};
    paths = {dir, fake_vlprompt(dir)};
    const std::string delta = dir + "/delta.safetensors";
    core::write_safetensors(delta, {{"m.w", at::ones({2, 3})}});
    setenv("DELTA", delta.c_str(), 1);
  }
};

TEST(CellRunner, RunsAFreshCellThenSkipsItWhenFinished) {
  Fixture f("fresh");
  const CellRun first = run_cell(f.paths, f.cell, f.steps);
  EXPECT_EQ(first.outcome, CellOutcome::kDone);
  EXPECT_EQ(calls(f.calls_file),
            (std::vector<std::string>{"train --method prompt_tuning --out " + f.steps[0].out}));
  const CellRun second = run_cell(f.paths, f.cell, f.steps);
  EXPECT_EQ(second.outcome, CellOutcome::kAlreadyDone);
  EXPECT_EQ(calls(f.calls_file).size(), 1u) << "a finished cell ran again";
  const nlohmann::json record = read_cell_record(f.paths, f.cell);
  ASSERT_EQ(record["commands"].size(), 1u);
  EXPECT_EQ(record["commands"][0]["exit_code"], 0);
  EXPECT_GT(record["commands"][0]["peak_rss_bytes"].get<int64_t>(), 0);
  EXPECT_GE(record["commands"][0]["seconds"].get<double>(), 0.0);
}

TEST(CellRunner, ACellCutShortResumesAndAFailureIsRecorded) {
  Fixture f("resume");
  setenv("FAIL", "1", 1);
  const CellRun failed = run_cell(f.paths, f.cell, f.steps);
  EXPECT_EQ(failed.outcome, CellOutcome::kFailed);
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_NE(core::read_file(failed.log).find("boom"), std::string::npos);
  unsetenv("FAIL");
  const CellRun resumed = run_cell(f.paths, f.cell, f.steps);
  EXPECT_EQ(resumed.outcome, CellOutcome::kDone);
  const auto c = calls(f.calls_file);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1], "train --resume " + f.steps[0].out);
  const nlohmann::json record = read_cell_record(f.paths, f.cell);
  ASSERT_EQ(record["commands"].size(), 2u);
  EXPECT_EQ(record["commands"][0]["exit_code"], 3);
  EXPECT_EQ(record["commands"][1]["resumed"], true);
}

TEST(CellRunner, ACellLockedByAnotherHolderIsLeftToIt) {
  Fixture f("locked");
  {
    const CellLock held(f.paths.lock(f.cell));
    ASSERT_TRUE(held.held());
    // flock() conflicts between open file descriptions, as between two processes.
    EXPECT_FALSE(CellLock(f.paths.lock(f.cell)).held());
    EXPECT_EQ(run_cell(f.paths, f.cell, f.steps).outcome, CellOutcome::kRunningElsewhere);
    EXPECT_TRUE(calls(f.calls_file).empty());
  }
  EXPECT_EQ(run_cell(f.paths, f.cell, f.steps).outcome, CellOutcome::kDone);
}

// Two `study` processes on one folder: every cell runs exactly once.
TEST(StudyRun, TwoProcessesOnOneFolderRunEveryCellOnce) {
  Fixture f("two_processes");
  const std::string yaml = f.dir + "/study.yaml";
  core::atomic_write(yaml, R"(models: [lm]
datasets: [data]
shots: [1, 2, 4]
seeds: [1, 2]
methods:
  - {label: a, method: prompt_tuning}
  - {label: b, method: bitfit}
)");
  setenv("SLEEP", "0.2", 1);
  StudyOptions o;
  o.config = yaml;
  o.out = f.dir + "/out";
  o.executable = f.paths.executable;
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 99;
      try {
        code = run_study(o);
      } catch (const std::exception& e) {
        std::cerr << "study process failed: " << e.what() << "\n";
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_LE(WEXITSTATUS(status), 1);  // 1: some cells were left to the other process
  }
  unsetenv("SLEEP");
  const auto c = calls(f.calls_file);
  EXPECT_EQ(c.size(), 12u) << "12 cells, each run exactly once";
  std::set<std::string> unique(c.begin(), c.end());
  EXPECT_EQ(unique.size(), 12u);
  // The report is written from the finished cells whichever process ends last.
  EXPECT_TRUE(core::file_exists(o.out + "/study.json"));
  o.report_only = true;
  EXPECT_EQ(run_study(o), 0);
}

}  // namespace
}  // namespace vlprompt::study
