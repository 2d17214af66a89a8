#include "tools/bench/bench_allreduce.h"

#include <algorithm>
#include <chrono>

#include "models/clip/load_clip.h"
#include "prompts/registry.h"
#include "prompts/run_config.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::pipeline {

nlohmann::json bench_allreduce(engine::Collective& group, const std::string& config,
                               const std::string& vocab, int warmup, int iters) {
  models::Clip clip = models::init_clip(models::load_config(config), 0);
  prompts::MethodContext context;
  context.clip = clip;
  context.tokenizer = std::make_shared<const text::ClipTokenizer>(
      text::ClipTokenizer::from_file(text::find_vocab(vocab, "")));
  context.classnames = {"cat",  "dog",  "car",  "tree", "house",
                        "boat", "bird", "frog", "ship", "truck"};
  context.seed = 1;
  nlohmann::json rows = nlohmann::json::array();
  for (const std::string method :
       {"coop", "cocoop", "vpt", "maple", "l2p", "lora", "ia3", "adapter", "bitfit", "finetune"}) {
    const core::ResolvedConfig resolved =
        prompts::resolve_run_config({method, "fashion_mnist", 16, 1, "", {}, false});
    auto built = prompts::make_method(method, resolved, context);
    int64_t values = 0;
    const auto params = built->trainable_parameters();
    for (const auto& p : params) values += p.numel();
    built.reset();
    // The Trainer's bucket: the gradients, a flag per parameter, the loss and the right answers.
    at::Tensor flat = at::ones({values + static_cast<int64_t>(params.size()) + 2}, at::kFloat);
    std::vector<double> ms;
    for (int i = 0; i < warmup + iters; ++i) {
      const auto start = std::chrono::steady_clock::now();
      group.all_reduce_sum(flat);
      const double t =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (i >= warmup) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double bytes = 4.0 * static_cast<double>(flat.numel());
    rows.push_back({{"method", method},
                    {"trained_values", values},
                    {"bucket_bytes", static_cast<int64_t>(bytes)},
                    {"allreduce_ms_median", median},
                    {"allreduce_ms_min", ms.front()},
                    {"effective_gb_per_s", bytes / (median / 1e3) / 1e9}});
  }
  return {{"world_size", group.world_size()},
          {"backend", "c10d ProcessGroupGloo (TCP)"},
          {"config", config},
          {"iters", iters},
          {"methods", rows}};
}

}  // namespace vlprompt::pipeline
