// vlprompt export: a delta file -> the checkpoint the official trainer writes (Dassl's
// model.pth.tar-N: {state_dict, epoch, optimizer, scheduler, val_result}), which its load_model
// (and torch.load) reads. The fixed token vectors the official files carry are rebuilt from the
// delta's classes on --model.
#include <cstdio>

#include "prompts/lm/peft_format.h"
#include "prompts/official/convert.h"
#include "src/core/error.h"
#include "src/delta/delta_file.h"
#include "tools/cli/command.h"
#include "tools/pipeline/model_loading.h"

namespace vlprompt::cli {
namespace {

struct ExportArgs {
  pipeline::ModelArgs model;
  std::string to, delta, out;
  int64_t epoch = -1;
};

int run_export(const ExportArgs& a) {
  if (a.to == prompts::lm::kPeftFormat) {  // a text-LM delta; --model is the LLaMA folder
    prompts::lm::export_peft(a.delta, a.model.model, a.out);
    std::fprintf(stderr, "exported %s as a PEFT adapter -> %s\n", a.delta.c_str(), a.out.c_str());
    return 0;
  }
  prompts::official::find_official_format(a.to);
  if (a.model.model.empty()) throw Error("export --to " + a.to + ": --model is required");
  int64_t epoch = a.epoch >= 0 ? a.epoch : prompts::official::epoch_from_file_name(a.out);
  if (epoch < 0) {
    throw Error("export: cannot tell the epoch from '" + a.out +
                "' (not model.pth.tar-N); give --epoch N");
  }
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  prompts::official::ExportContext context;
  context.clip = m.clip.model;
  context.tokenizer = m.tokenizer;
  prompts::official::export_checkpoint(a.to, a.delta, a.out, epoch, context);
  std::fprintf(stderr, "exported %s as a %s checkpoint (epoch %lld) -> %s\n", a.delta.c_str(),
               a.to.c_str(), static_cast<long long>(epoch), a.out.c_str());
  return 0;
}

Runner setup_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  std::string formats;
  for (const auto& n : prompts::official::official_format_names()) {
    formats += (formats.empty() ? "" : "|") + n;
  }
  formats += std::string("|") + prompts::lm::kPeftFormat;
  app.add_option("--to", a->to, "the official code to write for: " + formats)->required();
  app.add_option("delta", a->delta, "a delta file (RUN/delta.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  pipeline::add_model_options(app, a->model);
  // --to peft reads the model's shapes from the delta file; --model there only double-checks.
  app.get_option("--model")->required(false);
  app.add_option("--out", a->out,
                 "the checkpoint to write; Dassl's load_model looks for "
                 "<dir>/prompt_learner/model.pth.tar-N (or model-best.pth.tar)")
      ->required();
  app.add_option("--epoch", a->epoch, "the epoch to record (default: N of model.pth.tar-N)");
  app.footer(
      "Example:\n  vlprompt export --to coop runs/coop/delta.safetensors --model ViT-B-16.pt "
      "--out official/prompt_learner/model.pth.tar-50\n"
      "  python train.py ... --eval-only --model-dir official --load-epoch 50\n"
      "  vlprompt export --to peft runs/pt/delta.safetensors --out adapter/\n"
      "  (PeftModel.from_pretrained(model, 'adapter/') reads it)");
  return [a] { return run_export(*a); };
}

}  // namespace

VLPROMPT_COMMAND(
    export, "write a delta file as an official CoOp/CoCoOp (Dassl) checkpoint or a PEFT adapter",
    setup_export);

}  // namespace vlprompt::cli
