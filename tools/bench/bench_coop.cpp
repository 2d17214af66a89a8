#include "tools/bench/bench_coop.h"

#include "prompts/coop.h"
#include "prompts/prompted_clip.h"
#include "src/engine/op_profile.h"
#include "src/engine/optimizer.h"
#include "tools/bench/bench_util.h"

namespace vlprompt::pipeline {

namespace {

// Past this many text tokens the 77-token pass is not timed: 1,000 prompts x 77 tokens keep
// ~20 GB of activations for backward at ViT-B/16 width.
constexpr int64_t kMaxFullTokens = 100 * 77;

}  // namespace

nlohmann::json bench_text_backward(models::Clip& model,
                                   std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                   int64_t classes, int warmup, int iters) {
  prompts::CoOp coop(prompts::CoOpOptions().n_ctx(16), model, tokenizer,
                     bench_class_names(classes));
  auto text_side = [&](models::TextPositions positions) {
    coop->ctx.mutable_grad() = at::Tensor();
    coop->text_features(positions).sum().backward();
  };
  auto timed = [&](models::TextPositions positions) {
    return median_seconds([&] { text_side(positions); }, warmup, iters);
  };
  const double t_shared = timed(models::TextPositions::kSharedPrefix);
  // Where the shared pass spends its time, and the BLAS alone on the GEMMs it ran.
  const engine::OpProfile profile =
      engine::profile_ops([&] { text_side(models::TextPositions::kSharedPrefix); });
  const double blas_s = engine::blas_seconds(profile.gemms, iters);
  const double t_trunc = timed(models::TextPositions::kTruncated);
  const int64_t context = model->config().text.context_length;
  const bool full = classes * context <= kMaxFullTokens;
  const double t_full = full ? timed(models::TextPositions::kFull) : 0;
  // End-of-text positions (the largest id per row), so a peer can run exactly these lengths.
  const at::Tensor eot = coop->token_ids().argmax(1);
  std::vector<int64_t> eot_positions(eot.data_ptr<int64_t>(),
                                     eot.data_ptr<int64_t>() + eot.numel());
  const int64_t longest = eot.max().item<int64_t>() + 1, shared = 1 + 16;
  nlohmann::json j{{"prompts", classes},
                   {"n_ctx", 16},
                   {"eot_positions", eot_positions},
                   {"tokens_truncated", longest},
                   {"token_rows_truncated", classes * longest},
                   {"token_rows_shared_prefix", shared + classes * (longest - shared)},
                   {"seconds_shared_prefix", t_shared},
                   {"seconds_truncated", t_trunc},
                   {"ratio_shared_prefix_to_truncated", t_shared / t_trunc},
                   {"blas_seconds_shared_prefix_gemms", blas_s},
                   {"breakdown_shared_prefix", engine::to_json(profile)}};
  if (full) {
    j["seconds_full_77"] = t_full;
    j["ratio_truncated_to_full"] = t_trunc / t_full;
    j["ratio_shared_prefix_to_full"] = t_shared / t_full;
  } else {
    j["seconds_full_77"] = nullptr;
    j["full_77_not_run"] = std::to_string(classes) + " prompts x " + std::to_string(context) +
                           " tokens is past the " + std::to_string(kMaxFullTokens) +
                           "-token budget of this benchmark (memory for backward)";
  }
  return j;
}

nlohmann::json bench_coop_step(models::Clip& model,
                               std::shared_ptr<const text::ClipTokenizer> tokenizer, int64_t batch,
                               const std::vector<int64_t>& class_counts, int warmup, int iters) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t c = 0; c < class_counts.size(); ++c) {
    const int64_t classes = class_counts[c];
    const std::vector<std::string> names = bench_class_names(classes);
    prompts::CoOp coop(prompts::CoOpOptions().n_ctx(16), model, tokenizer, names);
    delta::DeltaStack stack{delta::DeltaStackOptions{}};
    stack->add(coop->method(), coop);
    prompts::PromptedClipMethod method(model, tokenizer, stack, names);
    engine::SGD sgd(method.trainable_parameters(),
                    engine::SGDOptions().lr(0.002).momentum(0.9).weight_decay(5e-4));
    const int64_t res = model->config().vision.image_resolution;
    const at::Tensor labels = at::randint(0, classes, {batch}, at::kLong);
    engine::Batch features{at::randn({batch, model->config().embed_dim}), labels, true};
    method.set_training(true);
    auto step = [&](const engine::Batch& b) {
      sgd.zero_grad();
      method.loss(method.forward(b), b).backward();
      sgd.step();
    };
    reset_peak_rss();
    const double s_feat = median_seconds([&] { step(features); }, warmup, iters);
    nlohmann::json j{{"classes", classes},
                     {"n_ctx", 16},
                     {"batch", batch},
                     {"cached_features",
                      {{"seconds_per_step", s_feat},
                       {"steps_per_s", 1.0 / s_feat},
                       {"peak_rss_mib", peak_rss_mib()}}}};
    // The image tower in the loop costs the same for any class count: timed at the first only.
    if (c == 0) {
      engine::Batch images{at::randn({batch, 3, res, res}), labels, false};
      const double s_img = median_seconds([&] { step(images); }, 1, std::max(1, iters / 2));
      j["image_tower_in_loop"] = {{"seconds_per_step", s_img}, {"steps_per_s", 1.0 / s_img}};
    }
    j["text_side"] = bench_text_backward(model, tokenizer, classes, warmup, iters);
    j["peak_rss_mib"] = peak_rss_mib();
    out.push_back(j);
  }
  return out;
}

}  // namespace vlprompt::pipeline
