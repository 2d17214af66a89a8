#include "tools/bench/bench_prompts.h"

#include "prompts/cocoop.h"
#include "prompts/prompted_clip.h"
#include "prompts/registry.h"
#include "prompts/vpt.h"
#include "src/core/config.h"
#include "src/delta/delta_stack.h"
#include "tools/bench/bench_util.h"

namespace vlprompt::pipeline {
namespace {

// Hands the text tower prompts built outside it, as the official CoCoOp forward does.
class GivenTokens : public nn::DeltaSites {
 public:
  explicit GivenTokens(at::Tensor tokens) : tokens_(std::move(tokens)) {}
  at::Tensor input_tokens(const at::Tensor&, const at::Tensor&) override { return tokens_; }

 private:
  at::Tensor tokens_;
};

nlohmann::json timing(double seconds, int64_t images) {
  return {{"seconds_per_step", seconds},
          {"seconds_per_image", seconds / images},
          {"peak_rss_mib", peak_rss_mib()}};
}

}  // namespace

nlohmann::json bench_cocoop_step(models::Clip& model,
                                 std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                 int64_t batch, const std::vector<int64_t>& class_counts,
                                 int warmup, int iters) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t classes : class_counts) {
    const std::vector<std::string> names = bench_class_names(classes);
    prompts::CoCoOp cocoop(prompts::CoCoOpOptions(), model, tokenizer, names);
    delta::DeltaStack stack{delta::DeltaStackOptions{}};
    stack->add("cocoop", cocoop);
    prompts::PromptedClipMethod method(model, tokenizer, stack, names);
    method.set_training(true);
    const engine::Batch b{at::randn({batch, model->config().embed_dim}),
                          at::randint(0, classes, {batch}, at::kLong), true};
    reset_peak_rss();
    const double batched = median_seconds(
        [&] {
          for (auto& p : method.trainable_parameters()) p.mutable_grad() = at::Tensor();
          method.train_step(b, "bench");
        },
        warmup, iters);
    const nlohmann::json batched_json = timing(batched, batch);
    // The official loop: per image, ctx + meta_net(f), its C prompts of 77 tokens, a text pass,
    // its logits; the batch's cross-entropy back through all of them.
    const at::Tensor ids = cocoop->class_prompt_ids();
    const at::Tensor embedded = [&] {
      at::NoGradGuard no_grad;
      return model->embed_tokens(ids);
    }();
    const int64_t n_ctx = cocoop->ctx.size(0);
    reset_peak_rss();
    const double loop = median_seconds(
        [&] {
          for (auto& p : method.trainable_parameters()) p.mutable_grad() = at::Tensor();
          std::vector<at::Tensor> rows;
          for (int64_t i = 0; i < batch; ++i) {
            const at::Tensor f = b.inputs[i] / b.inputs[i].norm();
            const at::Tensor ctx = cocoop->ctx + cocoop->meta_net->forward(f.unsqueeze(0));
            GivenTokens sites(at::cat(
                {embedded.slice(1, 0, 1), ctx.unsqueeze(0).expand({classes, n_ctx, ctx.size(1)}),
                 embedded.slice(1, 1 + n_ctx)},
                1));
            const at::Tensor text = model->encode_text(ids, &sites, models::TextPositions::kFull);
            rows.push_back(model->logits(b.inputs.slice(0, i, i + 1), text)[0]);
          }
          at::cross_entropy_loss(at::stack(rows), b.labels).backward();
        },
        warmup, iters);
    out.push_back({{"classes", classes},
                   {"batch", batch},
                   {"n_ctx", n_ctx},
                   {"batched_truncated", batched_json},
                   {"official_loop_77_tokens", timing(loop, batch)},
                   {"speedup", loop / batched}});
  }
  return out;
}

nlohmann::json bench_vpt_step(models::Clip& model, int64_t batch, int warmup, int iters) {
  const auto& v = model->config().vision;
  prompts::Vpt vpt(prompts::VptOptions().n_ctx(8).deep(true).depth(12), model);
  const at::Tensor px = at::randn({batch, 3, v.image_resolution, v.image_resolution});
  const delta::SiteContext none;
  reset_peak_rss();
  const double forward = median_seconds(
      [&] {
        at::NoGradGuard no_grad;
        model->encode_image(px, vpt->sites(delta::Tower::kImage, none));
      },
      warmup, iters);
  const nlohmann::json forward_json = timing(forward, batch);
  reset_peak_rss();
  const double train = median_seconds(
      [&] {
        vpt->prompts.mutable_grad() = at::Tensor();
        model->encode_image(px, vpt->sites(delta::Tower::kImage, none)).sum().backward();
      },
      warmup, iters);
  nlohmann::json out{{"batch", batch},
                     {"n_ctx", 8},
                     {"depth", vpt->options().depth()},
                     {"forward_no_grad", forward_json},
                     {"forward_backward_to_prompts", timing(train, batch)},
                     {"ratio", train / forward}};
  // The Delta Tuning families on the same image tower (their YAML defaults, towers: image):
  // forward + backward to the delta's tensors, against the same frozen forward.
  prompts::MethodContext context;
  context.clip = model;
  context.seed = 1;
  for (const char* method : {"lora", "ia3", "adapter", "bitfit", "partial"}) {
    const std::string m = method;
    auto d = prompts::make_delta(
        m, core::config_from_strings({{m + ".towers", "image"}}, "bench " + m), context);
    int64_t trained = 0;
    for (const auto& p : d->parameters()) trained += p.numel();
    reset_peak_rss();
    const double step = median_seconds(
        [&] {
          for (auto& p : d->parameters()) p.mutable_grad() = at::Tensor();
          model->encode_image(px, d->sites(delta::Tower::kImage, none)).sum().backward();
        },
        warmup, iters);
    out["delta_tuning"][m] = timing(step, batch);
    out["delta_tuning"][m]["trained_parameters"] = trained;
    out["delta_tuning"][m]["ratio_to_forward"] = step / forward;
  }
  return out;
}

}  // namespace vlprompt::pipeline
