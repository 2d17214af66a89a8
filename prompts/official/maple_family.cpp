#include "prompts/official/maple_family.h"

#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

void check_maple_family_keys(const DasslCheckpoint& checkpoint,
                             const std::function<bool(const std::string&)>& learned,
                             const std::string& method) {
  std::string unknown;
  for (const auto& [key, tensor] : checkpoint.state_dict) {
    const bool frozen = starts_with(key, "image_encoder.") || starts_with(key, "text_encoder.") ||
                        key == "logit_scale";
    if (!learned(key) && !frozen) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  }
  if (!unknown.empty()) {
    throw FileError(checkpoint.path, "state_dict holds " + unknown + ", which a " + method +
                                         " checkpoint does not; is it another method's?");
  }
}

std::string maple_family_ctx_init(const DasslCheckpoint& checkpoint, const ImportContext& context,
                                  int64_t n_ctx, const std::string& suffix_key) {
  if (n_ctx > 4) return "";  // the official code ignores CTX_INIT for longer contexts
  const at::Tensor* suffix = checkpoint.find(suffix_key);
  if (!suffix) return kMapleRepoCtxInit;
  if (!context.tokenizer) throw Error("importing needs the model's tokenizer");
  const std::vector<int64_t> words = context.tokenizer->encode(kMapleRepoCtxInit);
  if (static_cast<int64_t>(words.size()) <= n_ctx) return kMapleRepoCtxInit;
  // The words after the context stand first in every class's token_suffix.
  const std::vector<int64_t> rest(words.begin() + n_ctx, words.end());
  const auto k = static_cast<int64_t>(rest.size());
  if (suffix->dim() != 3 || suffix->size(0) < 1 || suffix->size(1) < k) return "";
  models::Clip clip = context.clip;
  at::NoGradGuard no_grad;
  const at::Tensor expected =
      clip->embed_tokens(at::tensor(rest, at::kLong).view({1, k}).to(models::weights_device(clip)))
          .to(at::kCPU, at::kFloat)[0];
  const at::Tensor saved = suffix->to(at::kCPU, at::kFloat)[0].slice(0, 0, k);
  return at::allclose(saved, expected, 1e-3, 1e-4) ? kMapleRepoCtxInit : "";
}

int64_t count_indexed(const DasslCheckpoint& checkpoint, const std::string& prefix,
                      const std::string& suffix, int64_t first) {
  int64_t n = 0;
  while (checkpoint.find(prefix + std::to_string(first + n) + suffix)) ++n;
  return n;
}

}  // namespace vlprompt::prompts::official
