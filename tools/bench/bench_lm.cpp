#include "tools/bench/bench_lm.h"

#include <chrono>

#include "models/llama/llama_generate.h"
#include "models/llama/llama_model.h"
#include "prompts/prompted_lm.h"
#include "prompts/registry.h"
#include "src/core/config.h"
#include "tools/bench/bench_util.h"

namespace vlprompt::pipeline {

models::llama::LlamaConfig bench_llama_config() {
  models::llama::LlamaConfig c;
  c.hidden_size = 768;
  c.intermediate_size = 2048;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 4;
  c.vocab_size = 32000;
  c.rms_norm_eps = 1e-5;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  return c;
}

namespace {

// Next-token cross-entropy over the text positions of one batch (virtual tokens are not scored).
at::Tensor lm_loss(models::llama::LlamaModel& model, const at::Tensor& ids, nn::DeltaSites* sites) {
  const at::Tensor hidden = model->hidden_states(ids, sites);
  const int64_t inserted = sites ? sites->inserted_tokens() : 0;
  const int64_t l = ids.size(1);
  const at::Tensor logits =
      at::linear(hidden.slice(1, inserted, inserted + l - 1), model->head_weight());
  return at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                ids.slice(1, 1).reshape({-1}));
}

// Median step time and the step's own peak resident memory.
nlohmann::json time_step(const std::function<void()>& step, const LmBenchOptions& o) {
  reset_peak_rss();
  const double before = peak_rss_mib();
  const double s = median_seconds(step, o.warmup, o.iters);
  return {{"seconds_per_step", s},
          {"tokens_per_s", o.batch * o.seq / s},
          {"peak_rss_mib", peak_rss_mib()},
          {"peak_rss_above_start_mib", peak_rss_mib() - before}};
}

// One training step of `method` with its YAML's defaults except `keys` (the virtual-token
// methods get --n-virtual).
nlohmann::json delta_step(models::llama::LlamaModel& model, const at::Tensor& ids,
                          const std::string& method, const LmBenchOptions& o,
                          std::map<std::string, std::string> keys = {}) {
  keys[method + ".seed"] = "1";
  const core::ResolvedConfig config = core::config_from_strings(keys, "bench " + method);
  prompts::LmMethodContext context;
  context.model = model;
  context.encode = [](const std::string&) { return std::vector<int64_t>{}; };
  context.seed = 1;
  auto delta = prompts::make_lm_delta(method, config, context);
  delta::SiteContext site_context;
  int64_t trained = 0;
  for (const auto& p : delta->parameters()) trained += p.numel();
  nlohmann::json j = time_step(
      [&] {
        for (auto& p : delta->parameters()) p.mutable_grad() = at::Tensor();
        lm_loss(model, ids, delta->sites(delta::Tower::kText, site_context)).backward();
      },
      o);
  j["trained_parameters"] = trained;
  if (keys.count(method + ".n_virtual")) j["n_virtual"] = o.n_virtual;
  return j;
}

double generation_seconds(models::llama::LlamaModel& model, bool cache, const LmBenchOptions& o) {
  std::vector<int64_t> prompt(o.prompt_tokens);
  for (int64_t i = 0; i < o.prompt_tokens; ++i) prompt[i] = 3 + (i * 7919) % 30000;
  const auto options =
      models::llama::GenerateOptions().max_new_tokens(o.new_tokens).use_cache(cache);
  return median_seconds([&] { models::llama::generate(model, prompt, nullptr, options); }, o.warmup,
                        o.iters);
}

// Rank classification's training step with Prompt Tuning (n_virtual tokens): C = 5 classes whose
// label words are 1-3 tokens (fortunes' shape), scored with each prompt run once against its
// cached keys and values, and with B x C rows each holding the whole prompt.
nlohmann::json rank_classification(models::llama::LlamaModel& model, const at::Tensor& ids,
                                   const LmBenchOptions& o) {
  const std::vector<std::vector<int64_t>> labels{
      {311}, {412, 5130}, {6001, 77, 8123}, {90, 91}, {1234}};
  prompts::LmMethodContext context;
  context.model = model;
  context.seed = 0;
  context.encode = [](const std::string&) { return std::vector<int64_t>{}; };
  auto delta = prompts::make_lm_delta(
      "prompt_tuning",
      core::config_from_strings({{"prompt_tuning.n_virtual", std::to_string(o.n_virtual)},
                                 {"prompt_tuning.init", "random"}},
                                "bench"),
      context);
  prompts::PromptedLmMethod method("prompt_tuning", model, delta, labels, "bench");
  const at::Tensor targets = at::arange(ids.size(0), at::kLong).remainder(5);
  nlohmann::json out{{"classes", 5}, {"n_virtual", o.n_virtual}, {"label_tokens", {1, 2, 3, 2, 1}}};
  for (const bool shared : {true, false}) {
    nlohmann::json j = time_step(
        [&] {
          for (auto& p : delta->parameters()) p.mutable_grad() = at::Tensor();
          const at::Tensor scores =
              shared ? method.class_scores(ids) : method.class_scores_per_row(ids);
          at::cross_entropy_loss(scores, targets).backward();
        },
        o);
    j["prompt_token_rows"] = ids.size(0) * (shared ? 1 : 5);
    out[shared ? "shared_prompt" : "per_row"] = j;
  }
  out["ratio_shared_to_per_row"] = out["shared_prompt"]["seconds_per_step"].get<double>() /
                                   out["per_row"]["seconds_per_step"].get<double>();
  return out;
}

}  // namespace

nlohmann::json bench_lm_step(const models::llama::LlamaConfig& config, const LmBenchOptions& o) {
  torch::manual_seed(0);
  models::llama::LlamaModel model(config);
  int64_t params = 0;
  for (auto& p : model->parameters()) {
    p.set_requires_grad(false);
    params += p.numel();
  }
  const at::Tensor ids = at::randint(3, config.vocab_size, {o.batch, o.seq}, at::kLong);
  nlohmann::json out{{"model",
                      {{"layers", config.num_hidden_layers},
                       {"hidden", config.hidden_size},
                       {"heads", config.num_attention_heads},
                       {"kv_heads", config.num_key_value_heads},
                       {"intermediate", config.intermediate_size},
                       {"vocab", config.vocab_size},
                       {"parameters", params}}},
                     {"batch", o.batch},
                     {"seq", o.seq}};
  {
    at::NoGradGuard no_grad;
    out["forward_only"] = time_step([&] { lm_loss(model, ids, nullptr); }, o);
  }
  const std::string n = std::to_string(o.n_virtual);
  out["prompt_tuning"] =
      delta_step(model, ids, "prompt_tuning", o, {{"prompt_tuning.n_virtual", n}});
  out["prefix_tuning"] =
      delta_step(model, ids, "prefix_tuning", o, {{"prefix_tuning.n_virtual", n}});
  // The Delta Tuning families with their YAML defaults: LoRA r 8 on q and v, IA3 on k, v and
  // down's input, Houlsby adapters (reduction 16), BitFit on every projection and norm.
  for (const char* method : {"lora", "ia3", "adapter", "bitfit"}) {
    out[method] = delta_step(model, ids, method, o);
  }
  for (auto& p : model->parameters()) p.set_requires_grad(true);
  out["full_finetune"] = time_step(
      [&] {
        for (auto& p : model->parameters()) p.mutable_grad() = at::Tensor();
        lm_loss(model, ids, nullptr).backward();
      },
      o);
  for (auto& p : model->parameters()) {
    p.set_requires_grad(false);
    p.mutable_grad() = at::Tensor();
  }
  const double full = out["full_finetune"]["seconds_per_step"].get<double>();
  for (const char* k : {"prompt_tuning", "prefix_tuning", "lora", "ia3", "adapter", "bitfit"})
    out[k]["ratio_to_full_finetune"] = out[k]["seconds_per_step"].get<double>() / full;
  const double with_cache = generation_seconds(model, true, o);
  const double without = generation_seconds(model, false, o);
  out["generation"] = {{"prompt_tokens", o.prompt_tokens},
                       {"new_tokens", o.new_tokens},
                       {"tokens_per_s_cache", o.new_tokens / with_cache},
                       {"tokens_per_s_no_cache", o.new_tokens / without},
                       {"speedup_cache", without / with_cache}};
  // Last, as in the PyTorch peer: the B x C rows leave the allocator holding gigabytes, which
  // would flatter the steps timed after them (no page faults) and cloud their peaks.
  out["rank_classification"] = rank_classification(model, ids, o);
  return out;
}

}  // namespace vlprompt::pipeline
