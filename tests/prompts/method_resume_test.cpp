// Every registered delta resumes exactly: a run interrupted after an epoch and resumed (with a
// method rebuilt from another seed, so everything must come from the checkpoint) ends with the
// very same tensors as the run left alone, whatever the method holds when resuming. Dropout (VPT)
// draws from the trainer's per-epoch seed.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "prompts/registry.h"
#include "src/engine/trainer.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::testing {
namespace method_resume_test {

// Raises SIGINT (through the trainer's handler) while producing the first batch of an epoch.
class InterruptingData : public engine::TrainData {
 public:
  InterruptingData(engine::TensorData& inner, int64_t epoch) : inner_(inner), epoch_(epoch) {}
  int64_t size() const override { return inner_.size(); }
  engine::Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override {
    if (epoch == epoch_ && !fired_) {
      fired_ = true;
      std::raise(SIGINT);
    }
    return inner_.batch(indices, epoch);
  }

 private:
  engine::TensorData& inner_;
  int64_t epoch_;
  bool fired_ = false;
};

std::unique_ptr<engine::Method> make(const std::string& method, uint64_t seed) {
  prompts::MethodContext c;
  c.clip = tiny_clip();
  c.tokenizer = clip_tokenizer();
  c.classnames = {"cat", "dog", "bird"};
  c.seed = seed;
  return prompts::make_method(method,
                              core::config_from_strings({{"coop.n_ctx", "2"},
                                                         {"vpt.n_ctx", "3"},
                                                         {"vpt.dropout", "0.2"},
                                                         {"cocoop.n_ctx", "2"},
                                                         {"cocoop.ctx_init", ""}},
                                                        "test"),
                              c);
}

engine::TrainerOptions options(const std::string& dir) {
  engine::OptimizerOptions sgd;
  sgd.lr(0.05);
  return engine::TrainerOptions(dir).max_epoch(3).batch_size(4).seed(3).optimizer(sgd).progress(
      engine::ProgressMode::kOff);
}

TEST(MethodResume, EveryDeltaEndsBitIdenticalAfterAnInterruptAndResume) {
  at::manual_seed(0);
  const at::Tensor labels = at::arange(8, at::kLong).remainder(3);
  const at::Tensor images = at::randn({8, 3, 64, 64});
  const at::Tensor features = at::randn({8, 64});
  for (const std::string method : {"coop", "cocoop", "vpt", "coop+vpt", "maple", "ivlp"}) {
    SCOPED_TRACE(method);
    const bool needs_images = make(method, 1)->data_needs().images_in_loop;
    engine::TensorData data(needs_images ? images : features, labels, !needs_images, 4);
    const std::string root = scratch_dir("method_resume") + "/" + method;
    std::filesystem::remove_all(root);
    auto straight = make(method, 1);
    const engine::TrainResult full =
        engine::Trainer(options(root + "/straight")).fit(*straight, data);
    {
      auto part = make(method, 1);
      InterruptingData interrupting(data, /*epoch=*/1);
      const engine::TrainResult r =
          engine::Trainer(options(root + "/resumed")).fit(*part, interrupting);
      ASSERT_EQ(r.status, engine::TrainStatus::kInterrupted);
    }
    auto other = make(method, 1);
    {
      at::NoGradGuard no_grad;  // scrambled: the checkpoint must restore every tensor
      for (auto& p : other->trainable_parameters()) p.add_(at::randn_like(p));
    }
    const engine::TrainResult resumed =
        engine::Trainer(options(root + "/resumed")).resume(*other, data);
    ASSERT_EQ(resumed.status, engine::TrainStatus::kCompleted);
    for (const auto& [name, t] : full.final_state) {
      EXPECT_TRUE(at::equal(t, resumed.final_state.at(name))) << name;
    }
  }
}

}  // namespace method_resume_test
}  // namespace vlprompt::testing
