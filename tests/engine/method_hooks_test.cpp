// What a method may take over from the trainer: the step (several passes per batch), hooks before
// training and after every epoch, and batches carrying domain ids and an unlabelled stream.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "src/engine/trainer.h"
#include "tests/engine/toy_method.h"
#include "tests/test_support.h"

namespace vlprompt::engine {
namespace method_hooks_test {

using testing::toy_data;
using testing::ToyMethod;

constexpr int64_t kDim = 8, kClasses = 3;

TrainerOptions options(const std::string& name) {
  const std::string dir = ::vlprompt::testing::scratch_dir("method_hooks") + "/" + name;
  std::filesystem::remove_all(dir);
  return TrainerOptions(dir)
      .max_epoch(3)
      .batch_size(8)
      .seed(5)
      .progress(ProgressMode::kOff)
      .optimizer(OptimizerOptions().lr(0.5));
}

// The same mean loss as the default step, back-propagated in two halves of the batch: the
// gradient is the same sum, so training ends where the default step ends.
class ChunkedToy : public ToyMethod {
 public:
  using ToyMethod::ToyMethod;
  StepOutput train_step(const Batch& batch, const std::string& where) override {
    const int64_t n = batch.labels.size(0), half = n / 2;
    std::vector<at::Tensor> logits;
    double total = 0;
    for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, half}, {half, n}}) {
      const Batch part{batch.inputs.slice(0, begin, end), batch.labels.slice(0, begin, end), true};
      const at::Tensor l = forward(part);
      const at::Tensor loss = loss_of(l, part) * (static_cast<double>(end - begin) / n);
      loss.backward();
      total += loss.item<double>();
      logits.push_back(l.detach());
      ++passes;
    }
    return {at::scalar_tensor(total), at::cat(logits)};
  }
  at::Tensor loss_of(const at::Tensor& logits, const Batch& batch) {
    return Method::loss(logits, batch);
  }
  void before_train(const HookContext& c) override {
    events.push_back("before@" + std::to_string(c.epoch) + " n=" + std::to_string(c.train.size()));
  }
  void after_epoch(const HookContext& c) override {
    events.push_back("after@" + std::to_string(c.epoch) + (c.val ? " val" : ""));
    if (c.epoch == interrupt_after) std::raise(SIGINT);  // Ctrl-C: the trainer's handler stops
  }
  int64_t interrupt_after = -1;
  int64_t passes = 0;
  std::vector<std::string> events;
};

TEST(MethodHooks, AChunkedStepTrainsLikeTheDefaultStep) {
  TensorData data = toy_data(32, kDim, kClasses, 3);
  ToyMethod plain(kDim, kClasses, 11);
  ChunkedToy chunked(kDim, kClasses, 11);
  const TrainResult a = Trainer(options("plain")).fit(plain, data, &data);
  const TrainResult b = Trainer(options("chunked")).fit(chunked, data, &data);
  EXPECT_EQ(chunked.passes, 3 * 4 * 2);
  for (const auto& [name, t] : a.final_state) {
    EXPECT_TRUE(at::allclose(t, b.final_state.at(name), 1e-5, 1e-6)) << name;
  }
  EXPECT_NEAR(a.history.back().loss, b.history.back().loss, 1e-5);
  EXPECT_DOUBLE_EQ(a.history.back().train_acc, b.history.back().train_acc);
}

TEST(MethodHooks, HooksRunBeforeTrainingAndAfterEveryEpochAgainOnResume) {
  TensorData data = toy_data(32, kDim, kClasses, 3);
  ChunkedToy method(kDim, kClasses, 11);
  TrainerOptions o = options("hooks");
  method.interrupt_after = 1;
  EXPECT_EQ(Trainer(o).fit(method, data, &data).status, TrainStatus::kInterrupted);
  EXPECT_EQ(method.events,
            (std::vector<std::string>{"before@0 n=32", "after@0 val", "after@1 val"}));
  method.events.clear();
  method.interrupt_after = -1;
  EXPECT_EQ(Trainer(o).resume(method, data, &data).status, TrainStatus::kCompleted);
  EXPECT_EQ(method.events, (std::vector<std::string>{"before@2 n=32", "after@2 val"}));
}

// A source that pairs every labelled batch with unlabelled rows and domain ids, as a
// domain-adaptation run's does; the trainer passes both through untouched.
class TwoStreamData : public TrainData {
 public:
  explicit TwoStreamData(TensorData labelled) : labelled_(std::move(labelled)) {}
  int64_t size() const override { return labelled_.size(); }
  Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override {
    Batch b = labelled_.batch(indices, epoch);
    b.domains = at::zeros({b.labels.size(0)}, at::kLong);
    b.unlabelled = std::make_shared<Batch>();
    b.unlabelled->inputs = at::randn({3, kDim});
    b.unlabelled->inputs_are_features = true;
    b.unlabelled->domains = at::ones({3}, at::kLong);
    return b;
  }

 private:
  TensorData labelled_;
};

class StreamCountingToy : public ToyMethod {
 public:
  using ToyMethod::ToyMethod;
  at::Tensor loss(const at::Tensor& logits, const Batch& batch) override {
    EXPECT_TRUE(batch.domains.defined());
    EXPECT_TRUE(batch.unlabelled && batch.unlabelled->domains.defined());
    EXPECT_FALSE(batch.unlabelled->labels.defined());
    unlabelled_rows += batch.unlabelled->inputs.size(0);
    return ToyMethod::loss(logits, batch);
  }
  int64_t unlabelled_rows = 0;
};

TEST(MethodHooks, BatchesCarryDomainIdsAndAnUnlabelledStream) {
  TwoStreamData data(toy_data(32, kDim, kClasses, 3));
  StreamCountingToy method(kDim, kClasses, 11);
  Trainer(options("streams").max_epoch(1)).fit(method, data);
  EXPECT_EQ(method.unlabelled_rows, 4 * 3);
}

}  // namespace method_hooks_test
}  // namespace vlprompt::engine
