// CoOp's official checkpoints (KaiyangZhou/CoOp trainers/coop.py): the PromptLearner's state_dict
// is {ctx, token_prefix, token_suffix}. ctx is [n_ctx, D] for a unified context and
// [n_cls, n_ctx, D] for class-specific context (CSC); the class-token position is not stored
// (--position, default end). The imported delta keeps "X X ... X" at the context positions, the
// official prompt_prefix of a random init: the context vectors overwrite those tokens' embeddings,
// so the prompts equal the official ones whatever words the run was initialised from.
#include "prompts/coop_layout.h"
#include "prompts/official/format.h"
#include "prompts/official/prompt_buffers.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

const char* const kCoOpName = "CoOp";

ImportedState import_coop(const DasslCheckpoint& c, const ImportContext& context) {
  check_state_keys(c, {"ctx", "token_prefix", "token_suffix"}, kCoOpName);
  const int64_t width = context.clip->config().text.width;
  const auto classes = static_cast<int64_t>(context.classnames.size());
  const std::string position = context.position.empty() ? "end" : context.position;
  check_class_token_position(position);
  // The official CSC flag is the rank of ctx.
  const at::Tensor* raw = c.find("ctx");
  const bool csc = raw && raw->dim() == 3;
  const at::Tensor ctx =
      csc ? state_tensor(
                c, "ctx",
                {{classes, std::to_string(classes) + " (classes given)"}, {-1, "n_ctx"}, width},
                kCoOpName)
          : state_tensor(c, "ctx", {{-1, "n_ctx"}, width}, kCoOpName);
  const int64_t n_ctx = ctx.size(-2);
  // The saved token vectors are ignored (rebuilt from the classes given) but must belong to a
  // model of this width: otherwise the file was trained on another backbone.
  const int64_t tail = context.clip->config().text.context_length - 1 - n_ctx;
  if (c.find("token_prefix")) state_tensor(c, "token_prefix", {{-1, "n_cls"}, 1, width}, kCoOpName);
  if (c.find("token_suffix")) {
    state_tensor(c, "token_suffix", {{-1, "n_cls"}, tail, width}, kCoOpName);
  }
  ImportedState out;
  out.method = "coop";
  out.hyperparameters = {{"n_ctx", std::to_string(n_ctx)},
                         {"ctx_init", ""},
                         {"csc", csc ? "true" : "false"},
                         {"class_token_position", position}};
  out.tensors["coop.ctx"] = ctx;
  return out;
}

StateDict export_coop(const delta::DeltaFile& file, const ExportContext& context) {
  const auto it = file.tensors.find("coop.ctx");
  if (file.info.method != "coop" || it == file.tensors.end()) {
    throw FileError(file.info.source, "is a '" + file.info.method +
                                          "' delta; --to coop writes a lone coop delta "
                                          "(tensor coop.ctx)");
  }
  const at::Tensor ctx = it->second.to(at::kCPU, at::kFloat).contiguous();
  const int64_t n_ctx = ctx.size(-2);
  models::Clip clip = context.clip;
  const PromptBuffers buffers = prompt_buffers(
      clip, *context.tokenizer, official_prompt_prefix(file.info.hyperparameters, n_ctx), n_ctx,
      file.info.classnames);
  return {
      {"ctx", ctx}, {"token_prefix", buffers.token_prefix}, {"token_suffix", buffers.token_suffix}};
}

}  // namespace

VLPROMPT_OFFICIAL_FORMAT(coop,
                         "KaiyangZhou/CoOp trainers/coop.py (ctx, token_prefix, token_suffix)",
                         import_coop, export_coop);

}  // namespace vlprompt::prompts::official
