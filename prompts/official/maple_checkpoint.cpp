// MaPLe's official checkpoints (muzairkhattak/multimodal-prompt-learning trainers/maple.py): the
// whole CustomCLIP's state_dict, of which the learned part is prompt_learner.{ctx [n_ctx, W_txt],
// proj [W_img, W_txt], compound_prompts_text.i [n_ctx, W_txt], compound_prompt_projections.i
// [W_img, W_txt]} for i < J - 1 (J = the prompt depth), plus token_prefix / token_suffix. Our
// MaPLe delta uses the same names without "prompt_learner.". fp16 tensors (the official
// precision) are read as fp32.
#include <algorithm>

#include "prompts/official/maple_family.h"
#include "prompts/official/prompt_buffers.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

const char* const kMapleName = "MaPLe";
const std::string kLearner = "prompt_learner.";

ImportedState import_maple(const DasslCheckpoint& c, const ImportContext& context) {
  refuse_class_token_position(context, "maple");
  const auto& config = context.clip->config();
  const int64_t text = config.text.width, image = config.vision.width;
  const int64_t deep = count_indexed(c, kLearner + "compound_prompts_text.", "");
  const int64_t layers = std::min(config.text.layers, config.vision.layers);
  if (deep + 1 > layers) {
    throw FileError(c.path, "holds prompts for depth " + std::to_string(deep + 1) +
                                " but the model's towers have " + std::to_string(layers) +
                                " layers");
  }
  std::vector<std::string> known;
  ImportedState out;
  out.method = "maple";
  auto take = [&](const std::string& name, const std::vector<Dim>& shape) {
    known.push_back(kLearner + name);
    out.tensors["maple." + name] = state_tensor(c, kLearner + name, shape, kMapleName);
    return out.tensors["maple." + name];
  };
  const int64_t n_ctx = take("ctx", {{-1, "n_ctx"}, text}).size(0);
  take("proj.weight", {image, text});
  take("proj.bias", {image});
  for (int64_t i = 0; i < deep; ++i) {
    const std::string k = std::to_string(i);
    take("compound_prompts_text." + k, {n_ctx, text});
    take("compound_prompt_projections." + k + ".weight", {image, text});
    take("compound_prompt_projections." + k + ".bias", {image});
  }
  known.push_back(kLearner + "token_prefix");
  known.push_back(kLearner + "token_suffix");
  check_maple_family_keys(
      c, [&](const std::string& key) { return std::count(known.begin(), known.end(), key) > 0; },
      kMapleName);
  out.hyperparameters = {
      {"n_ctx", std::to_string(n_ctx)},
      {"depth", std::to_string(deep + 1)},
      {"ctx_init", maple_family_ctx_init(c, context, n_ctx, kLearner + "token_suffix")}};
  return out;
}

StateDict export_maple(const delta::DeltaFile& file, const ExportContext& context) {
  if (file.info.method != "maple" || !file.tensors.count("maple.ctx")) {
    throw FileError(file.info.source,
                    "is a '" + file.info.method + "' delta; --to maple writes a lone maple delta");
  }
  StateDict out;
  for (const auto& [name, tensor] : file.tensors) {  // sorted: ctx, compound..., proj
    out.emplace_back(kLearner + name.substr(std::string("maple.").size()),
                     tensor.to(at::kCPU, at::kFloat).contiguous());
  }
  const int64_t n_ctx = file.tensors.at("maple.ctx").size(0);
  models::Clip clip = context.clip;
  const PromptBuffers buffers = prompt_buffers(
      clip, *context.tokenizer, official_prompt_prefix(file.info.hyperparameters, n_ctx), n_ctx,
      file.info.classnames);
  out.emplace_back(kLearner + "token_prefix", buffers.token_prefix);
  out.emplace_back(kLearner + "token_suffix", buffers.token_suffix);
  return out;
}

}  // namespace

VLPROMPT_OFFICIAL_FORMAT(maple,
                         "muzairkhattak/multimodal-prompt-learning trainers/maple.py "
                         "(prompt_learner.ctx, proj, compound_prompts_text.i, "
                         "compound_prompt_projections.i)",
                         import_maple, export_maple);

}  // namespace vlprompt::prompts::official
