#include "prompts/deep_vl_prompts.h"

#include <algorithm>

#include "prompts/coop_layout.h"
#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::prompts {

at::Tensor round_through_half(const at::Tensor& t) { return t.to(at::kHalf).to(t.scalar_type()); }

at::Tensor DeepPromptSites::place(const at::Tensor& x, const at::Tensor& prompt, bool round,
                                  bool insert) const {
  at::Tensor p = round ? round_through_half(prompt) : prompt;
  const int64_t n = p.size(0);
  p = p.to(x.scalar_type()).unsqueeze(0).expand({x.size(0), n, p.size(1)});
  if (placement_ == DeepPromptPlacement::kAfterStartOfText) {
    // The text keeps its length: the prompt always overwrites positions 1..n.
    return at::cat({x.slice(1, 0, 1), p, x.slice(1, 1 + n)}, 1);
  }
  return at::cat({insert ? x : x.slice(1, 0, x.size(1) - n), p}, 1);
}

at::Tensor DeepPromptSites::input_tokens(const at::Tensor& tokens, const at::Tensor&) {
  if (layers_.empty()) return tokens;
  return place(tokens, layers_[0], round_input_, /*insert=*/true);
}

at::Tensor DeepPromptSites::layer_tokens(int64_t layer, const at::Tensor& x) {
  if (layer == 0 || layer >= static_cast<int64_t>(layers_.size())) return x;
  return place(x, layers_[layer], round_deep_, /*insert=*/false);
}

DeepVlPromptDelta::DeepVlPromptDelta(const std::string& method, models::Clip clip,
                                     std::shared_ptr<const text::ClipTokenizer> tokenizer,
                                     bool half_round)
    : Delta(method),
      clip_(std::move(clip)),
      tokenizer_(std::move(tokenizer)),
      text_sites_(DeepPromptPlacement::kAfterStartOfText, false, half_round),
      image_sites_(DeepPromptPlacement::kAppended, half_round, half_round) {
  if (!clip_ || !tokenizer_) throw Error(method + ": needs a CLIP model and a tokenizer");
  provide<delta::ClassPrompts>(this);
}

void DeepVlPromptDelta::lay_out(std::string prefix_text,
                                const std::vector<std::string>& classnames) {
  if (classnames.empty()) throw Error(method() + ": the class list is empty");
  prefix_text_ = std::move(prefix_text);
  token_ids_ =
      register_buffer("token_ids", at::zeros({1, clip_->config().text.context_length}, at::kLong)
                                       .to(models::weights_device(clip_)));
  set_classnames(classnames);
}

void DeepVlPromptDelta::set_classnames(const std::vector<std::string>& classnames) {
  at::NoGradGuard no_grad;
  const at::Tensor ids = front_context_prompt_ids(*tokenizer_, prefix_text_, classnames,
                                                  clip_->config().text.context_length);
  token_ids_.set_(ids.to(token_ids_.device()));
}

nn::DeltaSites* DeepVlPromptDelta::bind(delta::Tower tower, std::vector<at::Tensor> layers) {
  DeepPromptSites& sites = tower == delta::Tower::kText ? text_sites_ : image_sites_;
  sites.bind(std::move(layers));
  return &sites;
}

DeepTextContext deep_text_context(const std::string& method, const std::string& ctx_init,
                                  int64_t n_ctx, double init_std, at::Generator& generator,
                                  models::Clip& clip, const text::ClipTokenizer& tokenizer) {
  if (n_ctx < 1) throw Error(method + ": n_ctx is " + std::to_string(n_ctx) + ", expected >= 1");
  check_text_tokens(method + (method == "ivlp" ? ".n_ctx_text" : ".n_ctx"), n_ctx,
                    clip->config().text.context_length);
  if (!(init_std > 0)) {
    throw Error(method + ": init_std is " + c10::str(init_std) + ", expected > 0");
  }
  const at::Device device = models::weights_device(clip);
  DeepTextContext out;
  at::NoGradGuard no_grad;
  // The reference starts from the words only for short contexts; longer ones start random.
  if (!ctx_init.empty() && n_ctx <= 4) {
    out.prefix_text = core::spaces_for_underscores(ctx_init);
    const std::vector<int64_t> ids = tokenizer.encode(out.prefix_text);
    if (static_cast<int64_t>(ids.size()) < n_ctx) {
      throw Error(method + ": ctx_init '" + out.prefix_text + "' is " + std::to_string(ids.size()) +
                  " tokens, fewer than n_ctx = " + std::to_string(n_ctx));
    }
    const at::Tensor words = at::tensor(ids, at::kLong).view({1, -1}).to(device);
    out.vectors = clip->embed_tokens(words)[0].slice(0, 0, n_ctx).to(at::kFloat).clone();
    return out;
  }
  out.prefix_text = "X";
  for (int64_t i = 1; i < n_ctx; ++i) out.prefix_text += " X";
  out.vectors = at::empty({n_ctx, clip->config().text.width}, at::kFloat)
                    .normal_(0.0, init_std, generator)
                    .to(device);
  return out;
}

at::Tensor front_context_prompt_ids(const text::ClipTokenizer& tokenizer,
                                    const std::string& prefix_text,
                                    const std::vector<std::string>& classnames,
                                    int64_t context_length) {
  std::vector<std::string> prompts;
  prompts.reserve(classnames.size());
  for (const auto& name : classnames) {
    prompts.push_back(prefix_text + " " + core::spaces_for_underscores(name) + ".");
  }
  return tokenizer.tokenize(prompts, context_length, /*truncate=*/false);
}

int64_t prompt_depth(const std::string& method, const std::string& key, int64_t depth,
                     int64_t layers) {
  if (depth < 1) {
    throw Error(method + ": " + key + " is " + std::to_string(depth) +
                ", expected >= 1 (1 = prompts at the input only)");
  }
  return std::min(depth, layers);
}

}  // namespace vlprompt::prompts
