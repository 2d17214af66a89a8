#include "tools/bench/bench_coop.h"

#include "prompts/coop.h"
#include "prompts/prompted_clip.h"
#include "src/engine/optimizer.h"
#include "tools/bench/bench_util.h"

namespace vlprompt::pipeline {

namespace {
const std::vector<std::string> kClasses = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                           "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
}  // namespace

nlohmann::json bench_text_backward(models::Clip& model,
                                   std::shared_ptr<const text::ClipTokenizer> tokenizer, int warmup,
                                   int iters) {
  prompts::CoOp coop(prompts::CoOpOptions().n_ctx(16), model, tokenizer, kClasses);
  auto text_side = [&](bool full) {
    coop->ctx.mutable_grad() = at::Tensor();
    coop->text_features(full).sum().backward();
  };
  const double t_trunc = median_seconds([&] { text_side(false); }, warmup, iters);
  const double t_full = median_seconds([&] { text_side(true); }, warmup, iters);
  // End-of-text positions (the largest id per row), so a peer can run exactly these lengths.
  const at::Tensor eot = coop->token_ids().argmax(1);
  std::vector<int64_t> eot_positions(eot.data_ptr<int64_t>(),
                                     eot.data_ptr<int64_t>() + eot.numel());
  return {{"prompts", kClasses.size()},
          {"n_ctx", 16},
          {"eot_positions", eot_positions},
          {"tokens_truncated", eot.max().item<int64_t>() + 1},
          {"seconds_truncated", t_trunc},
          {"seconds_full_77", t_full},
          {"ratio_truncated_to_full", t_trunc / t_full}};
}

nlohmann::json bench_coop_step(models::Clip& model,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer, int64_t batch,
                               int warmup, int iters) {
  const std::vector<std::string>& classes = kClasses;
  prompts::CoOp coop(prompts::CoOpOptions().n_ctx(16), model, tokenizer, classes);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  stack->add(coop->method(), coop);
  prompts::PromptedClipMethod method(model, tokenizer, stack, classes);
  engine::SGD sgd(method.trainable_parameters(),
                  engine::SGDOptions().lr(0.002).momentum(0.9).weight_decay(5e-4));
  const int64_t res = model->config().vision.image_resolution;
  const at::Tensor labels = at::randint(0, 10, {batch}, at::kLong);
  engine::Batch features{at::randn({batch, model->config().embed_dim}), labels, true};
  engine::Batch images{at::randn({batch, 3, res, res}), labels, false};
  method.set_training(true);
  auto step = [&](const engine::Batch& b) {
    sgd.zero_grad();
    method.loss(method.forward(b), b).backward();
    sgd.step();
  };
  const double s_feat = median_seconds([&] { step(features); }, warmup, iters);
  const double s_img = median_seconds([&] { step(images); }, 1, std::max(1, iters / 2));
  return {{"classes", classes.size()},
          {"n_ctx", 16},
          {"batch", batch},
          {"cached_features", {{"seconds_per_step", s_feat}, {"steps_per_s", 1.0 / s_feat}}},
          {"image_tower_in_loop", {{"seconds_per_step", s_img}, {"steps_per_s", 1.0 / s_img}}},
          {"text_side", bench_text_backward(model, tokenizer, warmup, iters)},
          {"peak_rss_mib", peak_rss_mib()}};
}

}  // namespace vlprompt::pipeline
