#include "prompts/official/prompt_buffers.h"

#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::prompts::official {

PromptBuffers prompt_buffers(models::Clip& clip, const text::ClipTokenizer& tokenizer,
                             const std::string& prompt_prefix, int64_t n_ctx,
                             const std::vector<std::string>& classnames) {
  std::vector<std::string> prompts;
  for (const auto& name : classnames) {
    prompts.push_back(prompt_prefix + " " + core::spaces_for_underscores(name) + ".");
  }
  const int64_t length = clip->config().text.context_length;
  at::NoGradGuard no_grad;
  const at::Tensor ids = tokenizer.tokenize(prompts, length, /*truncate=*/false);
  const at::Tensor embedding =
      clip->embed_tokens(ids.to(models::weights_device(clip))).to(at::kCPU, at::kFloat);
  if (1 + n_ctx >= embedding.size(1)) {
    throw Error("a prompt of " + std::to_string(n_ctx) + " context tokens does not fit " +
                std::to_string(embedding.size(1)) + " positions");
  }
  return {embedding.slice(1, 0, 1).contiguous(), embedding.slice(1, 1 + n_ctx).contiguous()};
}

std::string official_prompt_prefix(const std::map<std::string, std::string>& hyperparameters,
                                   int64_t n_ctx) {
  const auto it = hyperparameters.find("ctx_init");
  if (it != hyperparameters.end() && !it->second.empty()) {
    return core::spaces_for_underscores(it->second);
  }
  std::string prefix = "X";
  for (int64_t i = 1; i < n_ctx; ++i) prefix += " X";
  return prefix;
}

}  // namespace vlprompt::prompts::official
