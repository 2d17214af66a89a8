// CoCoOp's official checkpoints (KaiyangZhou/CoOp trainers/cocoop.py): the PromptLearner's
// state_dict is {ctx [n_ctx, D_txt], meta_net.linear1 (D_img -> D_img / 16), meta_net.linear2
// (-> D_txt), token_prefix, token_suffix}; the same names our CoCoOp delta uses. Whether the run
// started from ctx_init words is not stored, and need not be: the context vectors overwrite the
// tokens at their positions, so any placeholder of n_ctx tokens gives the same prompts.
#include <algorithm>

#include "prompts/official/format.h"
#include "prompts/official/prompt_buffers.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

const char* const kCoCoOpName = "CoCoOp";
const char* const kCoCoOpLinears[] = {"meta_net.linear1.weight", "meta_net.linear1.bias",
                                      "meta_net.linear2.weight", "meta_net.linear2.bias"};

ImportedState import_cocoop(const DasslCheckpoint& c, const ImportContext& context) {
  check_state_keys(c,
                   {"ctx", kCoCoOpLinears[0], kCoCoOpLinears[1], kCoCoOpLinears[2],
                    kCoCoOpLinears[3], "token_prefix", "token_suffix"},
                   kCoCoOpName);
  refuse_class_token_position(context, "cocoop");
  const int64_t width = context.clip->config().text.width;
  const int64_t vis = context.clip->config().embed_dim;
  // Our meta-net, like the official one, narrows the image feature to D_img / 16.
  const Dim hidden{std::max<int64_t>(1, vis / 16), std::to_string(std::max<int64_t>(1, vis / 16)) +
                                                       " (= " + std::to_string(vis) + " / 16)"};
  ImportedState out;
  out.method = "cocoop";
  const at::Tensor ctx = state_tensor(c, "ctx", {{-1, "n_ctx"}, width}, kCoCoOpName);
  out.tensors["cocoop.ctx"] = ctx;
  out.tensors["cocoop.meta_net.linear1.weight"] =
      state_tensor(c, kCoCoOpLinears[0], {hidden, vis}, kCoCoOpName);
  out.tensors["cocoop.meta_net.linear1.bias"] =
      state_tensor(c, kCoCoOpLinears[1], {hidden}, kCoCoOpName);
  out.tensors["cocoop.meta_net.linear2.weight"] =
      state_tensor(c, kCoCoOpLinears[2], {width, hidden}, kCoCoOpName);
  out.tensors["cocoop.meta_net.linear2.bias"] =
      state_tensor(c, kCoCoOpLinears[3], {width}, kCoCoOpName);
  const int64_t n_ctx = ctx.size(0);
  const int64_t tail = context.clip->config().text.context_length - 1 - n_ctx;
  if (c.find("token_prefix"))
    state_tensor(c, "token_prefix", {{-1, "n_cls"}, 1, width}, kCoCoOpName);
  if (c.find("token_suffix")) {
    state_tensor(c, "token_suffix", {{-1, "n_cls"}, tail, width}, kCoCoOpName);
  }
  out.hyperparameters = {{"n_ctx", std::to_string(n_ctx)}, {"ctx_init", ""}};
  return out;
}

StateDict export_cocoop(const delta::DeltaFile& file, const ExportContext& context) {
  if (file.info.method != "cocoop" || !file.tensors.count("cocoop.ctx")) {
    throw FileError(file.info.source, "is a '" + file.info.method +
                                          "' delta; --to cocoop writes a lone cocoop delta");
  }
  auto tensor = [&](const std::string& name) {
    const auto it = file.tensors.find("cocoop." + name);
    if (it == file.tensors.end()) {
      throw FileError(file.info.source, "has no tensor 'cocoop." + name + "'");
    }
    return it->second.to(at::kCPU, at::kFloat).contiguous();
  };
  const at::Tensor ctx = tensor("ctx");
  const int64_t n_ctx = ctx.size(0);
  models::Clip clip = context.clip;
  const PromptBuffers buffers = prompt_buffers(
      clip, *context.tokenizer, official_prompt_prefix(file.info.hyperparameters, n_ctx), n_ctx,
      file.info.classnames);
  StateDict out{{"ctx", ctx}};
  for (const char* name : kCoCoOpLinears) out.emplace_back(name, tensor(name));
  out.emplace_back("token_prefix", buffers.token_prefix);
  out.emplace_back("token_suffix", buffers.token_suffix);
  return out;
}

}  // namespace

VLPROMPT_OFFICIAL_FORMAT(cocoop,
                         "KaiyangZhou/CoOp trainers/cocoop.py (ctx, meta_net.linear1/2, "
                         "token_prefix, token_suffix)",
                         import_cocoop, export_cocoop);

}  // namespace vlprompt::prompts::official
