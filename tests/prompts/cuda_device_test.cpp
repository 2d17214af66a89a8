// --device cuda: the trainer and evaluator move the frozen backbone and the deltas with the batch,
// and a run on the GPU ends where the same run on the CPU ends. Skipped, saying so, where this
// LibTorch build or machine has no GPU (CI); tools/gpu_check.sh runs it on a GPU machine.
#include <gtest/gtest.h>

#include <filesystem>

#include "prompts/registry.h"
#include "src/engine/evaluate.h"
#include "src/engine/trainer.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::testing {
namespace {

engine::TrainResult train_on(const at::Device& device, const std::string& method_name,
                             engine::TensorData& data, std::unique_ptr<engine::Method>* out) {
  prompts::MethodContext context;
  context.clip = tiny_clip();
  context.tokenizer = clip_tokenizer();
  context.classnames = {"cat", "dog", "bird"};
  context.seed = 2;
  *out = prompts::make_method(method_name, core::config_from_strings({{"coop.n_ctx", "4"}}, "test"),
                              context);
  const std::string dir = scratch_dir("cuda") + "/" + method_name + "-" + device.str();
  std::filesystem::remove_all(dir);
  engine::OptimizerOptions sgd;
  sgd.lr(0.05);
  return engine::Trainer(engine::TrainerOptions(dir)
                             .max_epoch(2)
                             .batch_size(4)
                             .device(device)
                             .optimizer(sgd)
                             .progress(engine::ProgressMode::kOff))
      .fit(**out, data, &data);
}

TEST(CudaDevice, RunsEndWhereTheCpuRunEndsWithEveryModuleMoved) {
  if (!at::hasCUDA()) {
    GTEST_SKIP() << "no CUDA device: this LibTorch build or machine has no GPU, so --device cuda "
                    "cannot be exercised here (tools/gpu_check.sh runs this test on one)";
  }
  at::manual_seed(0);
  const at::Tensor labels = at::arange(12, at::kLong).remainder(3);
  // Text-side (cached features) and image-side (images in the loop) alike.
  for (const auto& [name, inputs, are_features] :
       {std::tuple<std::string, at::Tensor, bool>{"coop", at::randn({12, 64}), true},
        {"coop+toy_image_shift", at::randn({12, 3, 64, 64}), false}}) {
    SCOPED_TRACE(name);
    engine::TensorData data(inputs, labels, are_features, 6);
    std::unique_ptr<engine::Method> cpu, gpu;
    const engine::TrainResult on_cpu = train_on(at::kCPU, name, data, &cpu);
    const engine::TrainResult on_gpu = train_on(at::Device("cuda:0"), name, data, &gpu);
    for (const auto& [key, t] : gpu->state()) EXPECT_TRUE(t.is_cuda()) << key;
    for (const auto& [key, t] : on_cpu.final_state) {
      EXPECT_TRUE(at::allclose(t, on_gpu.final_state.at(key), 1e-3, 1e-4)) << key;
    }
    const double top1_gpu = engine::evaluate(*gpu, data, at::Device("cuda:0")).top1;
    const double top1_cpu = engine::evaluate(*cpu, data, at::kCPU).top1;
    EXPECT_NEAR(top1_gpu, top1_cpu, 100.0 / 12 + 1e-9) << "at most one image may flip";
  }
}

}  // namespace
}  // namespace vlprompt::testing
