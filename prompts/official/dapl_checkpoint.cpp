// DAPL's official checkpoints (LeapLabTHU/DAPrompt trainers/dapl.py, which registers the
// PromptLearner alone): state_dict {ctx [n_ctx, D] or, class-specific, [n_cls, n_ctx, D];
// domain_vectors [n_dm, n_dmx, D]; token_prefix; token_suffix}. The domains' names are not
// stored: --domains gives them, source(s) then target, in the order the run listed them
// (SOURCE_DOMAINS + TARGET_DOMAINS). Our DAPL delta names domain_vectors "dmx"; the prompts'
// text is the official "X ... X {class} , a {domain} image.." in both.
#include <algorithm>

#include "prompts/official/format.h"
#include "prompts/official/prompt_buffers.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

const char* const kDaplName = "DAPL";

std::vector<std::string> split_domain_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

ImportedState import_dapl(const DasslCheckpoint& c, const ImportContext& context) {
  check_state_keys(c, {"ctx", "domain_vectors", "token_prefix", "token_suffix"}, kDaplName);
  refuse_class_token_position(context, "dapl");
  const auto domains = static_cast<int64_t>(context.domains.size());
  if (domains < 2) {
    throw Error(
        "dapl: give --domains SRC,TGT (the run's source domain(s), then its target): a "
        "checkpoint does not store the domains' names");
  }
  const int64_t width = context.clip->config().text.width;
  const auto classes = static_cast<int64_t>(context.classnames.size());
  const at::Tensor* raw = c.find("ctx");
  const bool csc = raw && raw->dim() == 3;
  ImportedState out;
  out.method = "dapl";
  out.tensors["dapl.ctx"] =
      csc ? state_tensor(
                c, "ctx",
                {{classes, std::to_string(classes) + " (classes given)"}, {-1, "n_ctx"}, width},
                kDaplName)
          : state_tensor(c, "ctx", {{-1, "n_ctx"}, width}, kDaplName);
  out.tensors["dapl.dmx"] = state_tensor(
      c, "domain_vectors",
      {{domains, std::to_string(domains) + " (domains given)"}, {-1, "n_dmx"}, width}, kDaplName);
  const int64_t n_ctx = out.tensors["dapl.ctx"].size(-2);
  const int64_t n_dmx = out.tensors["dapl.dmx"].size(1);
  out.hyperparameters = {{"n_ctx", std::to_string(n_ctx)},
                         {"n_dmx", std::to_string(n_dmx)},
                         {"csc", csc ? "true" : "false"},
                         {"domains", joined(context.domains)}};
  return out;
}

StateDict export_dapl(const delta::DeltaFile& file, const ExportContext& context) {
  if (file.info.method != "dapl" || !file.tensors.count("dapl.ctx") ||
      !file.tensors.count("dapl.dmx")) {
    throw FileError(file.info.source,
                    "is a '" + file.info.method + "' delta; --to dapl writes a lone dapl delta");
  }
  const at::Tensor ctx = file.tensors.at("dapl.ctx").to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor dmx = file.tensors.at("dapl.dmx").to(at::kCPU, at::kFloat).contiguous();
  const int64_t n = ctx.size(-2) + dmx.size(1);
  // The official prompts, domain-major: "<X x n> <name> , a <domain> image.." — written as
  // prompt_buffers' "<prefix> <name>." with the domain words joined to each name.
  std::vector<std::string> rows;
  const auto it = file.info.hyperparameters.find("domains");
  if (it == file.info.hyperparameters.end()) {
    throw FileError(file.info.source, "has no 'domains' hyper-parameter");
  }
  for (const auto& domain : split_domain_list(it->second)) {
    for (const auto& name : file.info.classnames)
      rows.push_back(name + " , a " + domain + " image.");
  }
  models::Clip clip = context.clip;
  const PromptBuffers buffers =
      prompt_buffers(clip, *context.tokenizer, official_prompt_prefix({}, n), n, rows);
  return {{"ctx", ctx},
          {"domain_vectors", dmx},
          {"token_prefix", buffers.token_prefix},
          {"token_suffix", buffers.token_suffix}};
}

}  // namespace

VLPROMPT_OFFICIAL_FORMAT(dapl,
                         "LeapLabTHU/DAPrompt trainers/dapl.py (ctx, domain_vectors, "
                         "token_prefix, token_suffix); --domains names them",
                         import_dapl, export_dapl);

}  // namespace vlprompt::prompts::official
