// Regressions at the command line: arguments that were dropped or accepted without
// a word, checked before any model or dataset is read (each case takes milliseconds).
#include <gtest/gtest.h>

#include <filesystem>

#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "src/delta/delta_file.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::robust_cli_test {

using testing::CliResult;
using testing::quoted;
using testing::run_cli;
using testing::scratch_dir;

// A run folder as `train` leaves it, reduced to what --resume reads first: run.json.
std::string fake_run(const std::string& name) {
  const std::string dir = scratch_dir("robust-runs") + "/" + name;
  const nlohmann::json args = {{"method", "coop"},
                               {"model", "tiny.safetensors"},
                               {"vocab", ""},
                               {"init_seed", 0},
                               {"dataset", "fashion_mnist"},
                               {"data_root", ""},
                               {"subsample", "all"},
                               {"config", ""},
                               {"out", dir},
                               {"device", "cpu"},
                               {"overrides", {"optim.lr=0.02"}},
                               {"shots", 16},
                               {"seed", 1},
                               {"no_augment", true},
                               {"aug_views", 0},
                               {"eval_batch_size", 64},
                               {"init_delta", ""},
                               {"freeze_init", false},
                               {"target", ""},
                               {"target_data_root", ""},
                               {"target_max", 0}};
  core::atomic_write(dir + "/run.json", args.dump(2));
  return dir;
}

void expect_refused(const std::string& args, const std::vector<std::string>& needles) {
  const CliResult r = run_cli(args);
  EXPECT_NE(r.status, 0) << args << "\n" << r.output;
  for (const std::string& needle : needles) {
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\nmissing: " << needle << "\n"
                                                        << r.output;
  }
}

TEST(RobustCli, ResumeRefusesArgumentsThatWouldChangeTheRun) {
  const std::string run = fake_run("resume-args");
  const std::string resume = "train --resume " + quoted(run) + " ";
  expect_refused(resume + "--shots 4", {run + "/run.json", "--shots is 4", "but 16"});
  expect_refused(resume + "--seed 3", {"--seed is 3", "but 1"});
  expect_refused(resume + "--dataset cifar10", {"--dataset is \"cifar10\"", "\"fashion_mnist\""});
  expect_refused(resume + "optim.lr=0.5",
                 {"overrides is [\"optim.lr=0.5\"]", "[\"optim.lr=0.02\"]"});
  expect_refused(resume + "--out " + quoted(run + "-elsewhere"), {"--out is", run});
}

TEST(RobustCli, GarbageRunJsonIsNamed) {
  const std::string dir = scratch_dir("robust-runs") + "/garbage";
  core::atomic_write(dir + "/run.json", "{not json");
  expect_refused("train --resume " + quoted(dir), {dir + "/run.json", "not valid JSON"});
}

TEST(RobustCli, SizesAndCountsAreRangeChecked) {
  expect_refused("predict --model m --top-k 0 x.png",
                 {"--top-k", "expected an integer >= 1, got 0"});
  expect_refused("predict --model m --top-k -1 x.png", {"--top-k", "got -1"});
  expect_refused("embed --model m --texts a --out o.npy --batch-size 0",
                 {"--batch-size", "expected an integer >= 1, got 0"});
  expect_refused("zeroshot --model m --dataset d --batch-size -1",
                 {"--batch-size", "expected an integer >= 1, got -1"});
  expect_refused("train --method coop --model m --dataset d --out o --aug-views -3",
                 {"--aug-views", "expected an integer >= 0, got -3"});
}

// Writes to `path` a copy of unified_run(1)'s delta whose hyper-parameter `key` (checked to be
// `was`) is `now`; without `keep_digests`, as a file written before metadata digests existed.
void write_edited_delta(const std::string& path, const std::string& key, const std::string& was,
                        const std::string& now, bool keep_digests) {
  core::TensorFile f = core::read_safetensors(testing::unified_run(1) + "/delta.safetensors");
  nlohmann::json hyper = nlohmann::json::parse(f.metadata.at("hyperparameters"));
  ASSERT_EQ(hyper.value(key, ""), was);
  hyper[key] = now;
  f.metadata["hyperparameters"] = hyper.dump();
  if (!keep_digests) ASSERT_EQ(f.metadata.erase(delta::kDigestsKey), 1u);
  core::write_safetensors(path, f.tensors, f.metadata);
}

// An edited class_token_position keeps every tensor shape; the metadata digests written with the
// delta catch it (before: eval scored the delta in an arrangement it was never trained in).
TEST(RobustCli, EditedClassTokenPositionIsRefusedByEvalAndInspect) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string edited = scratch_dir("robust-deltas") + "/edited_position.safetensors";
  ASSERT_NO_FATAL_FAILURE(
      write_edited_delta(edited, "class_token_position", "end", "middle", /*keep_digests=*/true));
  const std::string model =
      " --model " + quoted(testing::tiny_model()) + " --vocab " + quoted(testing::vocab());
  const std::vector<std::string> expected = {
      edited + ": metadata 'hyperparameters' was edited after the delta was written",
      "\"class_token_position\":\"middle\""};
  expect_refused("inspect " + quoted(edited) + model, expected);
  expect_refused("eval --delta " + quoted(edited) + model + " --out " +
                     quoted(scratch_dir("robust-eval")) + " --dataset fashion_mnist",
                 expected);
}

// An edited n_ctx in a delta's metadata, in a file without digests (written before they
// existed): eval and inspect name the file and say the tensors do not fit the hyper-parameters
// (before: a shape message with no file name, and inspect said nothing at all).
TEST(RobustCli, EditedHyperparametersAreNamedByEvalAndInspect) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = testing::unified_run(1);
  const std::string edited = scratch_dir("robust-deltas") + "/edited_n_ctx.safetensors";
  ASSERT_NO_FATAL_FAILURE(write_edited_delta(edited, "n_ctx", "4", "6", /*keep_digests=*/false));
  const std::string model =
      " --model " + quoted(testing::tiny_model()) + " --vocab " + quoted(testing::vocab());
  expect_refused("inspect " + quoted(edited) + model,
                 {edited + ": its tensors do not fit", "hyperparameters edited"});
  // Without --model, on a random model of the backbone's architecture (its config name).
  expect_refused("inspect " + quoted(edited),
                 {edited + ": its tensors do not fit", "hyperparameters edited"});
  const CliResult intact = run_cli("inspect " + quoted(run + "/delta.safetensors"));
  EXPECT_EQ(intact.status, 0) << intact.output;
  EXPECT_NE(intact.output.find("tensor shapes: fit the metadata's hyperparameters"),
            std::string::npos)
      << intact.output;
  expect_refused("eval --delta " + quoted(edited) + model + " --out " +
                     quoted(scratch_dir("robust-eval")) + " --dataset fashion_mnist",
                 {edited + ": its tensors do not fit", "hyperparameters edited"});
}

TEST(RobustCli, ASafetensorsFileWithoutDeltaMetadataIsDescribedAsBoth) {
  const std::string path = scratch_dir("robust-deltas") + "/no_metadata.safetensors";
  core::write_safetensors(path, {{"coop.ctx", at::zeros({4, 8})}}, {});
  expect_refused("inspect " + quoted(path),
                 {path + ": neither a vlprompt delta", "nor CLIP weights"});
}

}  // namespace vlprompt::robust_cli_test
