#include "prompts/lm/prompt_tuning.h"

#include <ATen/CPUGeneratorImpl.h>

#include "src/core/error.h"

namespace vlprompt::prompts::lm {
namespace {

at::Tensor embedding_matrix(const LmMethodContext& context) {
  return context.model->model->embed_tokens->weight.detach();
}

// Token ids drawn uniformly over the vocabulary, as PEFT's SAMPLE_VOCAB (torch.randint).
at::Tensor sampled_ids(int64_t n, int64_t vocab, at::Generator& generator) {
  return at::randint(vocab, {n}, generator, at::TensorOptions().dtype(at::kLong));
}

std::vector<int64_t> encoded(const LmMethodContext& context, const std::string& text,
                             const std::string& what) {
  if (!context.encode) throw Error("prompt_tuning: init " + what + " needs a tokenizer (encode)");
  std::vector<int64_t> ids = context.encode(text);
  if (ids.empty()) throw Error("prompt_tuning: '" + text + "' encodes to no tokens");
  return ids;
}

}  // namespace

std::vector<int64_t> repeat_to(const std::vector<int64_t>& ids, int64_t n) {
  std::vector<int64_t> out;
  if (ids.empty()) return out;
  while (static_cast<int64_t>(out.size()) < n) out.insert(out.end(), ids.begin(), ids.end());
  out.resize(n);
  return out;
}

PromptTuningImpl::PromptTuningImpl(PromptTuningOptions options, const LmMethodContext& context)
    : VirtualTokenDeltaImpl("prompt_tuning"), options_(std::move(options)) {
  if (!context.model) throw Error("prompt_tuning: needs a LLaMA model");
  const int64_t n = options_.n_virtual();
  check_virtual_sizes("prompt_tuning", n, 0, context.model->config());
  const std::string& init = options_.init();
  if (init != "random" && init != "vocab" && init != "text" && init != "labels") {
    throw Error("prompt_tuning.init: unknown value '" + init +
                "' (expected random, vocab, text or labels)");
  }
  if (init == "text" && options_.init_text().empty()) {
    throw Error("prompt_tuning.init: 'text' needs prompt_tuning.init_text");
  }
  const at::Tensor table = embedding_matrix(context);
  const int64_t hidden = table.size(1), vocab = table.size(0);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed());
  at::Tensor start = at::zeros({n, hidden}, at::kFloat);
  if (!context.load_only && n > 0) {
    at::NoGradGuard no_grad;
    if (init == "random") {
      start = at::empty({n, hidden}, at::kFloat).normal_(0.0, options_.init_std(), generator);
    } else if (init == "vocab") {
      start = table.index_select(0, sampled_ids(n, vocab, generator)).to(at::kFloat).cpu();
    } else if (init == "text") {
      std::vector<int64_t> ids = encoded(context, options_.init_text(), "text");
      const int64_t bos = context.model->config().bos_token_id;
      if (options_.init_text_bos() && bos >= 0) ids.insert(ids.begin(), bos);
      const std::vector<int64_t> rows = repeat_to(ids, n);
      start = table.index_select(0, at::tensor(rows, at::kLong).to(table.device()))
                  .to(at::kFloat)
                  .cpu();
    } else {  // labels
      if (context.label_words.empty()) {
        throw Error("prompt_tuning.init: 'labels' needs the task's label words (none given)");
      }
      start = table.index_select(0, sampled_ids(n, vocab, generator)).to(at::kFloat).cpu();
      const int64_t c = std::min<int64_t>(n, context.label_words.size());
      for (int64_t i = 0; i < c; ++i) {
        const std::vector<int64_t> ids = encoded(context, context.label_words[i], "labels");
        start[i].copy_(table.index_select(0, at::tensor(ids, at::kLong).to(table.device()))
                           .mean(0)
                           .to(at::kFloat)
                           .cpu());
      }
    }
  }
  embeddings = register_parameter("embeddings", start.to(table.device()));
}

std::map<std::string, std::string> PromptTuningImpl::hyperparameters() const {
  return core::to_strings(options_);
}

namespace {

std::shared_ptr<delta::Delta> make_prompt_tuning(const core::ResolvedConfig& config,
                                                 const std::string& section,
                                                 const LmMethodContext& context) {
  return PromptTuning(read_delta_options<PromptTuningOptions>(config, section, context.seed),
                      context)
      .ptr();
}

}  // namespace

VLPROMPT_LM_DELTA(prompt_tuning,
                  "Prompt Tuning (Lester et al.): virtual tokens prepended to a text LM's input",
                  make_prompt_tuning, PromptTuningOptions);

}  // namespace vlprompt::prompts::lm
