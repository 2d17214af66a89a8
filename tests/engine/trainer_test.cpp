#include "src/engine/trainer.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/engine/toy_method.h"
#include "tests/test_support.h"

namespace vlprompt::engine {
namespace {

using testing::toy_data;
using testing::ToyMethod;
namespace fs = std::filesystem;

constexpr int64_t kDim = 8, kClasses = 3;

std::string fresh_run_dir(const std::string& name) {
  const std::string dir = ::vlprompt::testing::scratch_dir("trainer") + "/" + name;
  fs::remove_all(dir);
  return dir;
}

TrainerOptions toy_options(const std::string& run_dir, int64_t max_epoch) {
  return TrainerOptions(run_dir)
      .max_epoch(max_epoch)
      .batch_size(8)
      .seed(7)
      .progress(ProgressMode::kOff)
      .optimizer(OptimizerOptions().lr(0.5))
      .schedule(ScheduleOptions().warmup_epochs(1).warmup_lr(0.05));
}

// Raises SIGINT (through the Trainer's handler) while producing the first batch of an epoch.
class InterruptingData : public TrainData {
 public:
  InterruptingData(TensorData& inner, int64_t interrupt_epoch)
      : inner_(inner), interrupt_epoch_(interrupt_epoch) {}
  int64_t size() const override { return inner_.size(); }
  Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override {
    if (epoch == interrupt_epoch_ && !fired_) {
      fired_ = true;
      std::raise(SIGINT);
    }
    return inner_.batch(indices, epoch);
  }

 private:
  TensorData& inner_;
  int64_t interrupt_epoch_;
  bool fired_ = false;
};

TEST(Trainer, LossFallsAndMetricsAreWrittenPerEpoch) {
  const std::string run = fresh_run_dir("falls");
  TensorData train = toy_data(44, kDim, kClasses, 1), val = toy_data(20, kDim, kClasses, 2);
  ToyMethod method(kDim, kClasses, 3);
  const TrainResult result = Trainer(toy_options(run, 6)).fit(method, train, &val);
  ASSERT_EQ(result.status, TrainStatus::kCompleted);
  ASSERT_EQ(result.history.size(), 6u);
  // Dassl's drop_last: 44 samples in batches of 8 -> 5 full batches per epoch.
  EXPECT_EQ(method.forward_calls, 6 * 5 + 6 * 2);  // train batches + val batches (20 / 16)
  EXPECT_LT(result.history.back().loss, 0.5 * result.history.front().loss);
  EXPECT_GE(*result.history.back().val_top1, 75.0);  // chance is 33
  EXPECT_EQ(result.history[0].lr, 0.05);             // warm-up epoch
  EXPECT_EQ(result.history[1].lr, 0.5);              // cosine from its start
  EXPECT_EQ(result.selected_epoch, 6);

  const std::string text = core::read_file(run + "/metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(nlohmann::json::parse(text.substr(start, end - start)));
  }
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[5]["epoch"], 6);
  EXPECT_EQ(lines[5]["loss"].get<double>(), result.history[5].loss);
  for (const char* key : {"lr", "train_acc", "val_top1", "seconds"}) {
    EXPECT_TRUE(lines[2].contains(key)) << key;
  }
}

TEST(Trainer, ResumeEndsBitIdenticalToAnUninterruptedRun) {
  TensorData train = toy_data(44, kDim, kClasses, 1), val = toy_data(20, kDim, kClasses, 2);
  ToyMethod straight(kDim, kClasses, 3);
  const TrainResult full =
      Trainer(toy_options(fresh_run_dir("straight"), 5)).fit(straight, train, &val);

  const std::string run = fresh_run_dir("resumed");
  {
    ToyMethod method(kDim, kClasses, 3);
    InterruptingData interrupting(train, /*interrupt_epoch=*/3);  // after 3 completed epochs
    const TrainResult part = Trainer(toy_options(run, 5)).fit(method, interrupting, &val);
    ASSERT_EQ(part.status, TrainStatus::kInterrupted);
    EXPECT_EQ(part.epochs_completed, 3);
    EXPECT_TRUE(part.final_state.empty());
  }
  ToyMethod method(kDim, kClasses, /*init_seed=*/99);  // other init: everything must come from disk
  const TrainResult resumed = Trainer(toy_options(run, 5)).resume(method, train, &val);
  ASSERT_EQ(resumed.status, TrainStatus::kCompleted);
  ASSERT_EQ(resumed.history.size(), 5u);
  for (const char* name : {"weight", "bias"}) {
    EXPECT_TRUE(at::equal(resumed.final_state.at(name), full.final_state.at(name))) << name;
  }
  EXPECT_EQ(resumed.history[4].loss, full.history[4].loss);
  EXPECT_EQ(load_checkpoint(run).epoch, 5);
  // The handler is gone: SIGINT is back to what it was before training.
  EXPECT_EQ(std::signal(SIGINT, SIG_DFL), SIG_DFL);
}

TEST(Trainer, ResumeRefusesChangedOptions) {
  const std::string run = fresh_run_dir("changed");
  TensorData train = toy_data(20, kDim, kClasses, 1);
  ToyMethod method(kDim, kClasses, 3);
  Trainer(toy_options(run, 1)).fit(method, train);
  try {
    Trainer(toy_options(run, 1).batch_size(4)).resume(method, train);
    FAIL() << "expected an Error";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("checkpoint.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Trainer(toy_options(run, 1)).fit(method, train), FileError);  // already has one
}

TEST(Trainer, ResumeRefusesAnotherBackboneOrOtherHyperparameters) {
  const std::string run = fresh_run_dir("changed_method");
  TensorData train = toy_data(20, kDim, kClasses, 1);
  ToyMethod method(kDim, kClasses, 3);
  Trainer(toy_options(run, 1)).fit(method, train);
  ToyMethod other_backbone(kDim, kClasses, 3);
  other_backbone.backbone = "sha256:other";
  try {
    Trainer(toy_options(run, 1)).resume(other_backbone, train);
    FAIL() << "another backbone accepted";
  } catch (const FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'backbone_fingerprint' is \"sha256:other\" now but \"sha256:toy\""),
              std::string::npos)
        << msg;
  }
  ToyMethod other_settings(kDim, kClasses, 3);
  other_settings.setting = "b";
  try {
    Trainer(toy_options(run, 1)).resume(other_settings, train);
    FAIL() << "other hyper-parameters accepted";
  } catch (const FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("method_hyperparameters"), std::string::npos) << msg;
    EXPECT_NE(msg.find("{\"setting\":\"b\"} now but {\"setting\":\"a\"}"), std::string::npos)
        << msg;
    // Regression: the changed entry is named, as an edited class_token_position is.
    EXPECT_NE(msg.find("'method_hyperparameters.setting' is \"b\" now but \"a\""),
              std::string::npos)
        << msg;
  }
}

TEST(Trainer, PartialBatchesFollowDasslDropLast) {
  TensorData tiny = toy_data(5, kDim, kClasses, 1);  // smaller than a batch: kept as one batch
  ToyMethod a(kDim, kClasses, 3);
  Trainer(toy_options(fresh_run_dir("tiny"), 2)).fit(a, tiny);
  EXPECT_EQ(a.forward_calls, 2);
  TensorData train = toy_data(44, kDim, kClasses, 1);  // 5 full batches + 4 samples
  ToyMethod b(kDim, kClasses, 3);
  Trainer(toy_options(fresh_run_dir("keep_last"), 1).drop_last(false)).fit(b, train);
  EXPECT_EQ(b.forward_calls, 6);
}

TEST(Trainer, BestValWithoutValDataIsAnError) {
  TensorData train = toy_data(20, kDim, kClasses, 1);
  ToyMethod method(kDim, kClasses, 3);
  const std::string run = fresh_run_dir("no_val");
  try {
    Trainer(toy_options(run, 2).select(Select::kBestVal)).fit(method, train);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("best_val"), std::string::npos) << e.what();
  }
  EXPECT_EQ(method.forward_calls, 0);
  EXPECT_FALSE(has_checkpoint(run));
}

TEST(Trainer, BestValKeepsTheEarliestBestEpoch) {
  TensorData train = toy_data(44, kDim, kClasses, 1), val = toy_data(20, kDim, kClasses, 2);
  ToyMethod method(kDim, kClasses, 3);
  const TrainResult r = Trainer(toy_options(fresh_run_dir("best"), 6).select(Select::kBestVal))
                            .fit(method, train, &val);
  double best = -1;
  int64_t best_epoch = 0;
  for (const EpochRecord& e : r.history) {
    if (*e.val_top1 > best) best = *e.val_top1, best_epoch = e.epoch;
  }
  EXPECT_EQ(r.best_epoch, best_epoch);
  EXPECT_EQ(r.selected_epoch, best_epoch);
  EXPECT_EQ(r.best_val_top1, best);
  EXPECT_TRUE(at::equal(method.state().at("weight"), r.final_state.at("weight")));
}

TEST(Trainer, NanLossStopsNamingEpochAndBatchAndKeepsTheCheckpoint) {
  const std::string run = fresh_run_dir("nan");
  TensorData train = toy_data(40, kDim, kClasses, 1);  // 5 batches per epoch
  ToyMethod method(kDim, kClasses, 3);
  method.nan_at_call = 2 * 5 + 2;  // epoch 3, batch 2
  try {
    Trainer(toy_options(run, 4)).fit(method, train);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("epoch 3/4, batch 2/5"), std::string::npos) << m;
    EXPECT_NE(m.find("epoch 2"), std::string::npos) << m;  // the checkpoint that is kept
  }
  const Checkpoint kept = load_checkpoint(run);
  EXPECT_EQ(kept.epoch, 2);
  ToyMethod reloaded(kDim, kClasses, 5);
  reloaded.load_state(kept.method_state);
  EXPECT_TRUE(at::isfinite(reloaded.state().at("weight")).all().item<bool>());
}

}  // namespace
}  // namespace vlprompt::engine

namespace vlprompt::engine {
namespace {

// optim.clip_grad_norm, against PyTorch's rule worked here: one SGD step (lr 1, no momentum or
// decay) on one batch moves the weights by -min(1, c / (||g|| + 1e-6)) g, with ||g|| the global
// norm over every parameter's gradient.
TEST(Trainer, ClipGradNormScalesTheStepToTheGlobalNorm) {
  const double max_norm = 0.01;
  TensorData data = testing::toy_data(8, kDim, kClasses, 3);
  ToyMethod method(kDim, kClasses, 5);
  const at::Tensor w0 = method.state().at("weight").detach().clone();
  const at::Tensor b0 = method.state().at("bias").detach().clone();
  // The gradient of the whole batch, by hand.
  const at::Tensor w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
  const Batch all = data.batch({0, 1, 2, 3, 4, 5, 6, 7}, 0);
  at::cross_entropy_loss(at::addmm(b, all.inputs, w.t()), all.labels).backward();
  const double norm =
      std::sqrt(w.grad().pow(2).sum().item<double>() + b.grad().pow(2).sum().item<double>());
  ASSERT_GT(norm, 10 * max_norm);  // the clip must bite
  const double coef = max_norm / (norm + 1e-6);
  Trainer trainer(
      TrainerOptions(fresh_run_dir("clip-grad"))
          .max_epoch(1)
          .batch_size(8)
          .progress(ProgressMode::kOff)
          .optimizer(
              OptimizerOptions().lr(1.0).momentum(0).weight_decay(0).clip_grad_norm(max_norm))
          .schedule(ScheduleOptions().name("constant")));
  ASSERT_EQ(trainer.fit(method, data).status, TrainStatus::kCompleted);
  EXPECT_TRUE(at::allclose(method.state().at("weight"), w0 - coef * w.grad(), 1e-6, 1e-7));
  EXPECT_TRUE(at::allclose(method.state().at("bias"), b0 - coef * b.grad(), 1e-6, 1e-7));
}

}  // namespace
}  // namespace vlprompt::engine
