#include "tools/pipeline/bench_coop.h"

#include "prompts/coop.h"
#include "prompts/coop_method.h"
#include "src/engine/optimizer.h"
#include "tools/pipeline/bench_util.h"

namespace vlprompt::pipeline {

nlohmann::json bench_coop_step(models::Clip& model,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer, int64_t batch,
                               int warmup, int iters) {
  const std::vector<std::string> classes = {"t-shirt", "trouser",   "pullover", "dress",
                                            "coat",    "sandal",    "shirt",    "sneaker",
                                            "bag",     "ankle boot"};
  prompts::CoOp coop(prompts::CoOpOptions().n_ctx(16), model, tokenizer, classes);
  prompts::CoOpMethod method(model, coop);
  engine::SGD sgd(method.trainable_parameters(),
                  engine::SGDOptions().lr(0.002).momentum(0.9).weight_decay(5e-4));
  const int64_t res = model->config().vision.image_resolution;
  const at::Tensor labels = at::randint(0, 10, {batch}, at::kLong);
  engine::Batch features{at::randn({batch, model->config().embed_dim}), labels, true};
  engine::Batch images{at::randn({batch, 3, res, res}), labels, false};
  auto step = [&](const engine::Batch& b) {
    sgd.zero_grad();
    method.loss(method.forward(b), b).backward();
    sgd.step();
  };
  // The text side alone: prompts of all classes forward + backward, truncated vs 77 tokens.
  auto text_side = [&](bool full) {
    coop->ctx.mutable_grad() = at::Tensor();
    coop->text_features(full).sum().backward();
  };
  const double s_feat = median_seconds([&] { step(features); }, warmup, iters);
  const double t_trunc = median_seconds([&] { text_side(false); }, warmup, iters);
  const double t_full = median_seconds([&] { text_side(true); }, warmup, iters);
  const double s_img = median_seconds([&] { step(images); }, 1, std::max(1, iters / 2));
  return {{"classes", classes.size()},
          {"n_ctx", 16},
          {"batch", batch},
          {"cached_features", {{"seconds_per_step", s_feat}, {"steps_per_s", 1.0 / s_feat}}},
          {"image_tower_in_loop", {{"seconds_per_step", s_img}, {"steps_per_s", 1.0 / s_img}}},
          {"text_side_truncated_s", t_trunc},
          {"text_side_full_77_s", t_full},
          {"ratio_truncated_to_full", t_trunc / t_full},
          {"peak_rss_mib", peak_rss_mib()}};
}

}  // namespace vlprompt::pipeline
