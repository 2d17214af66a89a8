#include "models/llama/llama_generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include "src/core/error.h"

namespace vlprompt::models::llama {

int64_t pick_token(const at::Tensor& all_logits, const GenerateOptions& options,
                   at::Generator& generator) {
  const int64_t limit = options.vocab_limit();
  const at::Tensor logits =
      limit > 0 && limit < all_logits.size(-1) ? all_logits.slice(-1, 0, limit) : all_logits;
  if (options.temperature() <= 0) return logits.argmax().item<int64_t>();
  at::Tensor probs = at::softmax(logits.to(at::kFloat) / options.temperature(), -1);
  if (options.top_p() < 1.0) {
    // Sorted descending, a token is kept while the mass before it is below top_p: the smallest
    // set reaching top_p, never empty.
    const auto sorted = probs.sort(/*dim=*/-1, /*descending=*/true);
    const at::Tensor values = std::get<0>(sorted), indices = std::get<1>(sorted);
    const at::Tensor before = values.cumsum(-1) - values;
    const at::Tensor kept = values.masked_fill(before.ge(options.top_p()), 0);
    probs = at::zeros_like(probs).scatter_(-1, indices, kept);
  }
  return at::multinomial(probs, 1, /*replacement=*/false, generator).item<int64_t>();
}

std::vector<int64_t> generate(LlamaModel& model, const std::vector<int64_t>& prompt,
                              nn::DeltaSites* sites, const GenerateOptions& options,
                              const std::function<void(int64_t)>& on_token) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  if (options.top_p() <= 0 || options.top_p() > 1)
    throw Error("generate: top_p must be in (0, 1], got " + std::to_string(options.top_p()));
  at::NoGradGuard no_grad;
  const at::Device device = model->head_weight().device();
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  std::vector<int64_t> all = prompt, out;
  LlamaCache cache;
  at::Tensor next_logits;
  for (int64_t step = 0; step < options.max_new_tokens(); ++step) {
    if (options.use_cache()) {
      const std::vector<int64_t> feed = step == 0 ? prompt : std::vector<int64_t>{all.back()};
      const at::Tensor ids = at::tensor(feed, at::kLong).view({1, -1}).to(device);
      next_logits = model->forward_step(ids, cache, sites)[0][-1];
    } else {
      const at::Tensor ids = at::tensor(all, at::kLong).view({1, -1}).to(device);
      next_logits = model->logits(ids, sites)[0][-1];
    }
    const int64_t token = pick_token(next_logits.cpu(), options, generator);
    all.push_back(token);
    out.push_back(token);
    if (on_token) on_token(token);
    if (token == options.stop_token()) break;
  }
  return out;
}

}  // namespace vlprompt::models::llama
