// IVLP's official checkpoints (muzairkhattak/multimodal-prompt-learning trainers/independentVL.py):
// the whole CustomCLIP's state_dict, of which the learned part is prompt_learner.ctx
// [n_text, W_txt], text_encoder.transformer.resblocks.i.VPT_shallow [n_text, W_txt] and
// image_encoder.transformer.resblocks.i.VPT_shallow [n_vision, W_img] for the deeper layers
// i >= 1, and image_encoder.VPT [n_vision, W_img] at the image input. Our IVLP delta names them
// ctx, text_deep.(i-1), visual_deep.(i-1) and visual_ctx.
#include <algorithm>

#include "prompts/official/maple_family.h"
#include "prompts/official/prompt_buffers.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

const char* const kIvlpName = "IVLP";
const std::string kTextLayer = "text_encoder.transformer.resblocks.";
const std::string kImageLayer = "image_encoder.transformer.resblocks.";
const std::string kShallow = ".VPT_shallow";

ImportedState import_ivlp(const DasslCheckpoint& c, const ImportContext& context) {
  refuse_class_token_position(context, "ivlp");
  const auto& config = context.clip->config();
  const int64_t text = config.text.width, image = config.vision.width;
  const int64_t text_deep = count_indexed(c, kTextLayer, kShallow, 1);
  const int64_t image_deep = count_indexed(c, kImageLayer, kShallow, 1);
  if (text_deep + 1 > config.text.layers || image_deep + 1 > config.vision.layers) {
    throw FileError(c.path, "holds prompts for depths " + std::to_string(text_deep + 1) +
                                " (text) and " + std::to_string(image_deep + 1) +
                                " (image); the model's towers have " +
                                std::to_string(config.text.layers) + " and " +
                                std::to_string(config.vision.layers) + " layers");
  }
  std::vector<std::string> known{"prompt_learner.token_prefix", "prompt_learner.token_suffix"};
  ImportedState out;
  out.method = "ivlp";
  auto take = [&](const std::string& key, const std::string& ours, const std::vector<Dim>& shape) {
    known.push_back(key);
    return out.tensors["ivlp." + ours] = state_tensor(c, key, shape, kIvlpName);
  };
  const int64_t n_text = take("prompt_learner.ctx", "ctx", {{-1, "n_ctx_text"}, text}).size(0);
  const int64_t n_vision =
      take("image_encoder.VPT", "visual_ctx", {{-1, "n_ctx_vision"}, image}).size(0);
  for (int64_t i = 1; i <= text_deep; ++i) {
    take(kTextLayer + std::to_string(i) + kShallow, "text_deep." + std::to_string(i - 1),
         {n_text, text});
  }
  for (int64_t i = 1; i <= image_deep; ++i) {
    take(kImageLayer + std::to_string(i) + kShallow, "visual_deep." + std::to_string(i - 1),
         {n_vision, image});
  }
  // Only the learner's own keys are checked by name: the frozen towers' keys are ignored, and
  // a VPT_shallow beyond a gap in the layers would be a frozen key no official run writes.
  check_maple_family_keys(
      c,
      [&](const std::string& key) {
        return key.rfind("prompt_learner.", 0) == 0 &&
               std::count(known.begin(), known.end(), key) > 0;
      },
      kIvlpName);
  out.hyperparameters = {
      {"n_ctx_text", std::to_string(n_text)},
      {"n_ctx_vision", std::to_string(n_vision)},
      {"depth_text", std::to_string(text_deep + 1)},
      {"depth_vision", std::to_string(image_deep + 1)},
      {"ctx_init", maple_family_ctx_init(c, context, n_text, "prompt_learner.token_suffix")}};
  return out;
}

StateDict export_ivlp(const delta::DeltaFile& file, const ExportContext& context) {
  if (file.info.method != "ivlp" || !file.tensors.count("ivlp.ctx")) {
    throw FileError(file.info.source,
                    "is a '" + file.info.method + "' delta; --to ivlp writes a lone ivlp delta");
  }
  auto tensor = [&](const std::string& name) {
    return file.tensors.at("ivlp." + name).to(at::kCPU, at::kFloat).contiguous();
  };
  const at::Tensor ctx = tensor("ctx");
  StateDict out{{"prompt_learner.ctx", ctx}, {"image_encoder.VPT", tensor("visual_ctx")}};
  for (int64_t i = 0; file.tensors.count("ivlp.text_deep." + std::to_string(i)); ++i) {
    out.emplace_back(kTextLayer + std::to_string(i + 1) + kShallow,
                     tensor("text_deep." + std::to_string(i)));
  }
  for (int64_t i = 0; file.tensors.count("ivlp.visual_deep." + std::to_string(i)); ++i) {
    out.emplace_back(kImageLayer + std::to_string(i + 1) + kShallow,
                     tensor("visual_deep." + std::to_string(i)));
  }
  models::Clip clip = context.clip;
  const PromptBuffers buffers = prompt_buffers(
      clip, *context.tokenizer, official_prompt_prefix(file.info.hyperparameters, ctx.size(0)),
      ctx.size(0), file.info.classnames);
  out.emplace_back("prompt_learner.token_prefix", buffers.token_prefix);
  out.emplace_back("prompt_learner.token_suffix", buffers.token_suffix);
  return out;
}

}  // namespace

VLPROMPT_OFFICIAL_FORMAT(ivlp,
                         "muzairkhattak/multimodal-prompt-learning trainers/independentVL.py "
                         "(prompt_learner.ctx, image_encoder.VPT, *.resblocks.i.VPT_shallow)",
                         import_ivlp, export_ivlp);

}  // namespace vlprompt::prompts::official
