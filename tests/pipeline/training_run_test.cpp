// The run orchestrator in process (pipeline/training_run.h), on a toy run: what every kind of run
// gets from it (run outputs, the training record, the delta written after evaluation, Ctrl-C's
// exit status 130 with nothing written, resume to the same end).
#include "pipeline/training_run.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "src/engine/interrupt.h"
#include "src/engine/train_data.h"
#include "tests/engine/toy_method.h"
#include "tests/test_support.h"

namespace vlprompt::pipeline {
namespace {

using engine::testing::toy_data;
using engine::testing::ToyMethod;

// ToyMethod that remembers whether it was last put in training mode.
struct ModeToy : ToyMethod {
  ModeToy() : ToyMethod(8, 3, 1) {}
  void set_training(bool on) override { training = on; }
  bool training = true;
};

// Trains ToyMethod on teacher-labelled features; `interrupt_at_epoch` asks for Ctrl-C once.
class ToyRun : public TrainingRun {
 public:
  explicit ToyRun(int64_t interrupt_at_epoch = -1)
      : train_(toy_data(48, 8, 3, 1)),
        test_(toy_data(60, 8, 3, 2, 60)),
        interrupt_at_epoch_(interrupt_at_epoch) {}

  nlohmann::json results_header() const override {
    return {{"command", "train"}, {"title", "toy"}, {"dataset", "toy-set"}, {"shots", 16}};
  }
  engine::Method& method() override { return method_; }
  engine::TrainData& train_data() override { return interrupting_; }
  engine::EvalData* val_data() override { return nullptr; }
  std::string train_data_kind() const override { return "toy features"; }
  void evaluate(nlohmann::json* results) override {
    evaluated_in_training_mode = method_.training;
    at::NoGradGuard no_grad;
    const engine::Batch all = test_.batch(0);
    const double acc =
        method_.forward(all).argmax(1).eq(all.labels).to(at::kDouble).mean().item<double>();
    (*results)["test"] = {{"top1", 100 * acc}};
  }
  void write_delta(const std::string& path, const nlohmann::json& results) override {
    delta_written_with = results;
    core::write_safetensors(path, method_.state(), {});
  }
  std::vector<std::string> summary_lines(const nlohmann::json& results) const override {
    return {"toy summary " + results["test"]["top1"].dump()};
  }

  bool evaluated_in_training_mode = true;
  nlohmann::json delta_written_with;

 private:
  // Asks for an interrupt when the chosen epoch's first batch is drawn.
  struct Interrupting : engine::TrainData {
    explicit Interrupting(ToyRun& run) : run(run) {}
    int64_t size() const override { return run.train_.size(); }
    engine::Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override {
      if (epoch == run.interrupt_at_epoch_ && !fired) {
        fired = true;
        engine::request_interrupt();
      }
      return run.train_.batch(indices, epoch);
    }
    ToyRun& run;
    bool fired = false;
  };

  ModeToy method_;
  engine::TensorData train_, test_;
  int64_t interrupt_at_epoch_;
  Interrupting interrupting_{*this};
};

core::ResolvedConfig toy_config() {
  return core::config_from_strings({{"train.max_epoch", "4"},
                                    {"train.batch_size", "8"},
                                    {"train.progress", "off"},
                                    {"optim.lr", "0.5"},
                                    {"optim.warmup_epoch", "0"}},
                                   "test");
}

// An empty run folder (a rerun of the test starts over).
std::string fresh_dir(const std::string& name) {
  const std::string dir = testing::scratch_dir(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TrainArgs toy_args(const std::string& out) {
  TrainArgs a;
  a.method = "toy";
  a.dataset = "toy-set";
  a.out = out;
  return a;
}

TEST(TrainingRun, WritesTheRecordAndTheDeltaAfterEvaluatingInEvalMode) {
  const std::string out = fresh_dir("orchestrated");
  ToyRun run;
  ASSERT_EQ(run_training(run, toy_args(out), toy_config(), false), 0);
  EXPECT_FALSE(run.evaluated_in_training_mode);
  const nlohmann::json results = nlohmann::json::parse(core::read_file(out + "/results.json"));
  const nlohmann::json& t = results["training"];
  EXPECT_EQ(t["epochs"], 4);
  EXPECT_EQ(t["selected_epoch"], 4);
  EXPECT_EQ(t["train_data"], "toy features");
  EXPECT_EQ(t["resumed"], false);
  EXPECT_EQ(t["selected_on"], "nothing: the last epoch (no test or target data is used to select)");
  EXPECT_EQ(results["hyperparameters"]["setting"], "a");
  // The delta sees the finished record, and the trained method beats chance (3 classes) clearly.
  EXPECT_EQ(run.delta_written_with["training"], t);
  EXPECT_GT(results["test"]["top1"].get<double>(), 60.0);
  EXPECT_TRUE(core::file_exists(out + "/delta.safetensors"));
  EXPECT_NE(core::read_file(out + "/log.txt").find("toy summary"), std::string::npos);
  // One line per epoch in metrics.jsonl, with a falling loss.
  std::istringstream lines(core::read_file(out + "/metrics.jsonl"));
  std::vector<double> losses;
  for (std::string l; std::getline(lines, l);)
    if (!l.empty()) losses.push_back(nlohmann::json::parse(l)["loss"].get<double>());
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front());
}

TEST(TrainingRun, CtrlCExits130WithoutADeltaAndResumeEndsWhereAPlainRunDoes) {
  const std::string plain = fresh_dir("plain");
  ToyRun uninterrupted;
  ASSERT_EQ(run_training(uninterrupted, toy_args(plain), toy_config(), false), 0);

  const std::string out = fresh_dir("interrupted");
  {
    ToyRun run(/*interrupt_at_epoch=*/2);
    EXPECT_EQ(run_training(run, toy_args(out), toy_config(), false), 130);
    engine::clear_interrupt();
    EXPECT_FALSE(core::file_exists(out + "/delta.safetensors"));
    EXPECT_FALSE(core::file_exists(out + "/results.json"));
    EXPECT_TRUE(run.delta_written_with.is_null());
  }
  ToyRun resumed;
  ASSERT_EQ(run_training(resumed, toy_args(out), toy_config(), true), 0);
  const nlohmann::json results = nlohmann::json::parse(core::read_file(out + "/results.json"));
  EXPECT_EQ(results["training"]["resumed"], true);
  EXPECT_EQ(results["training"]["epochs"], 4);
  // Bit-identical to the uninterrupted run's delta.
  const core::TensorMap a = core::read_safetensors(plain + "/delta.safetensors").tensors;
  const core::TensorMap b = core::read_safetensors(out + "/delta.safetensors").tensors;
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name;
}

}  // namespace
}  // namespace vlprompt::pipeline
