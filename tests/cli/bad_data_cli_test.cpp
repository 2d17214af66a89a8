// Careless input on the data paths: pixel arrays that only overflow, label columns that are not
// classes, label words a model cannot tell apart, and imports that would make a delta every later
// command refuses. Each is refused with a message naming the file, key or value, as users run the
// commands (a subprocess).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "prompts/official/checkpoint.h"
#include "src/core/npy.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace bad_data_cli_test {

void expect_refused(const CliResult& r, const std::string& message) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << "expected '" << message << "' in\n"
                                                       << r.output;
}

std::string scratch(const std::string& name) {
  const std::string dir = scratch_dir("bad_data") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(BadDataCli, PixelsThatAreNotFiniteNormalisedValuesOrNoImageAreRefused) {
  const std::string dir = scratch("pixels");
  const std::string predict =
      "predict --model tiny --vocab " + quoted(vocab()) + " --classes cat,dog --pixels ";
  const auto with = [&](const std::string& name, float value, int64_t n) {
    at::Tensor x = at::zeros({n, 3, 64, 64});
    if (n > 1) x[1][2][5][7] = value;
    const std::string path = dir + "/" + name + ".npy";
    core::write_npy(path, x);
    return run_cli(predict + quoted(path));
  };
  expect_refused(with("nan", std::numeric_limits<float>::quiet_NaN(), 2),
                 "image 1 holds the value nan; expected finite normalised pixels");
  expect_refused(with("inf", std::numeric_limits<float>::infinity(), 2), "holds the value inf");
  expect_refused(with("huge", 1e30f, 2), "holds the value 1e+30");
  expect_refused(with("empty", 0, 0), "holds no image (shape [0, 3, 64, 64])");
  const CliResult fine = with("fine", 1.5f, 2);
  EXPECT_EQ(fine.status, 0) << fine.output;
}

std::string tiny_lm() { return std::string(VLPROMPT_FIXTURE_DIR) + "/lm/tiny"; }

// A text data folder with train.jsonl and test.jsonl of the given labels, one text each.
std::string text_data(const std::string& name, const std::vector<std::string>& labels) {
  const std::string dir = scratch(name);
  for (const char* split : {"train", "test"}) {
    std::ofstream f(dir + "/" + split + ".jsonl");
    for (size_t i = 0; i < labels.size(); ++i)
      f << nlohmann::json{{"text", "text number " + std::to_string(i)}, {"label", labels[i]}}.dump()
        << "\n";
  }
  return dir;
}

CliResult train_on(const std::string& data) {
  return run_cli("train --method prompt-tuning --model " + quoted(tiny_lm()) + " --dataset " +
                 quoted(data) + " --shots 2 --out " + quoted(data + "/run") +
                 " train.max_epoch=1 prompt_tuning.n_virtual=2");
}

TEST(BadDataCli, ALabelColumnThatIsNotClassesIsDescribedAndRefused) {
  std::vector<std::string> numbers;
  for (int i = 0; i < 3000; ++i) numbers.push_back(std::to_string(i * 0.731));
  const CliResult many = train_on(text_data("regression", numbers));
  expect_refused(many, "labels take 3000 distinct values in 3000 records (e.g. '0.000000'");
  EXPECT_NE(many.output.find("a number or an id, not class labels"), std::string::npos);
  EXPECT_LT(many.output.size(), 2000u) << "one message, not a warning per class";
  expect_refused(train_on(text_data("one-class", {"spam", "spam", "spam", "spam"})),
                 "labels take the single value 'spam': classification needs at least 2 classes");
}

// A text data folder holding `files` (name -> content).
std::string text_files(const std::string& name, const std::map<std::string, std::string>& files) {
  const std::string dir = scratch(name);
  for (const auto& [file, content] : files) std::ofstream(dir + "/" + file) << content;
  return dir;
}

TEST(BadDataCli, EmptySplitsBadLabelsAndOldMacLineEndingsAreNamedBeforeTraining) {
  const std::string two =
      "{\"text\": \"a b\", \"label\": \"x\"}\n{\"text\": \"c\", \"label\": \"y\"}\n";
  std::string dir = text_files("empty-train", {{"train.jsonl", ""}, {"test.jsonl", two}});
  expect_refused(train_on(dir), dir + "/train.jsonl: holds no records");
  dir = text_files("empty-test", {{"train.jsonl", two + two}, {"test.jsonl", ""}});
  const CliResult empty_test = train_on(dir);
  expect_refused(empty_test, dir + "/test.jsonl: holds no records");
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/metrics.jsonl")) << "trained before checking";
  const std::string bad_utf8 = "text\tlabel\na b\tx\xff\nc d\ty\n";
  dir = text_files("utf8", {{"train.tsv", bad_utf8}, {"test.tsv", bad_utf8}});
  expect_refused(train_on(dir), "is not valid UTF-8 (byte 0xFF at offset 1); expected UTF-8 text");
  const std::string cr = "text,label\ra b,x\rc d,y\r";
  dir = text_files("cr", {{"train.csv", cr}, {"test.csv", cr}});
  expect_refused(train_on(dir), dir + "/train.csv: uses CR-only line endings");
}

TEST(BadDataCli, ADeltaWithNothingToTrainSaysSo) {
  const std::string dir = text_data("nothing", {"x", "y", "x", "y"});
  const CliResult r = run_cli(
      "train --method prompt-tuning --model " + quoted(tiny_lm()) + " --dataset " + quoted(dir) +
      " --shots 2 --out " + quoted(dir + "/run") + " train.max_epoch=1 prompt_tuning.n_virtual=0");
  expect_refused(r, "prompt_tuning: these options leave nothing to train (0 trainable values");
}

TEST(BadDataCli, LabelWordsThatTokenizeTheSameAreRefused) {
  const CliResult r = train_on(text_data("same-tokens", {"food", "food ", "food", "food "}));
  expect_refused(r, "label words \"food\" and \"food \" tokenize the same");
}

// `vlprompt import --from coop` of a checkpoint holding `state` on the tiny config (width 64).
CliResult import_coop(const std::string& name, const prompts::official::StateDict& state,
                      const std::string& extra = "") {
  const std::string dir = scratch(name);
  const std::string path = dir + "/model.pth.tar-5";
  prompts::official::write_dassl_checkpoint(path, state, 5);
  return run_cli("import --from coop " + quoted(path) + " --model tiny --vocab " + quoted(vocab()) +
                 " --classes cat,dog --out " + quoted(dir + "/delta.safetensors") + " " + extra);
}

TEST(BadDataCli, ImportsOfNonFiniteOrMisshapenStatesAreRefused) {
  const at::Tensor ctx = at::randn({4, 64});
  const CliResult fine = import_coop("fine", {{"ctx", ctx}});
  ASSERT_EQ(fine.status, 0) << fine.output;
  at::Tensor nan_ctx = ctx.clone();
  nan_ctx[2][3] = std::numeric_limits<float>::quiet_NaN();
  expect_refused(import_coop("nan", {{"ctx", nan_ctx}}),
                 "state_dict['ctx'] holds NaN or Inf values (1 of 256)");
  at::Tensor inf_suffix = at::zeros({2, 72, 64});
  inf_suffix[0][0][0] = std::numeric_limits<float>::infinity();
  expect_refused(import_coop("inf", {{"ctx", ctx}, {"token_suffix", inf_suffix}}),
                 "state_dict['token_suffix'] holds NaN or Inf values");
  expect_refused(import_coop("prefix", {{"ctx", ctx}, {"token_prefix", at::zeros({2, 3, 64})}}),
                 "state_dict['token_prefix'] has shape [2, 3, 64], expected [n_cls, 1, 64]");
  expect_refused(import_coop("position", {{"ctx", ctx}}, "--position ''"), "--position");
  expect_refused(import_coop("position2", {{"ctx", ctx}}, "--position middel"), "--position");
}

}  // namespace bad_data_cli_test
}  // namespace vlprompt::testing
