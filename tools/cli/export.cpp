// vlprompt export: a delta file -> the checkpoint the official trainer writes (Dassl's
// model.pth.tar-N: {state_dict, epoch, optimizer, scheduler, val_result}), which its load_model
// (and torch.load) reads. The fixed token vectors the official files carry are rebuilt from the
// delta's classes on --model.
#include <cstdio>

#include "pipeline/delta_formats.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

Runner setup_export(CLI::App& app) {
  auto a = std::make_shared<pipeline::ExportRequest>();
  auto to = std::make_shared<std::string>();
  std::string formats;
  for (const auto& n : pipeline::delta_format_names()) formats += (formats.empty() ? "" : "|") + n;
  app.add_option("--to", *to, "the official code to write for: " + formats)->required();
  app.add_option("delta", a->delta, "a delta file (RUN/delta.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  add_model_options(app, a->model);
  // --to peft reads the model's shapes from the delta file; --model there only double-checks.
  app.get_option("--model")->required(false);
  app.add_option("--out", a->out,
                 "the checkpoint to write; Dassl's load_model looks for "
                 "<dir>/prompt_learner/model.pth.tar-N (or model-best.pth.tar)")
      ->required();
  app.add_option("--epoch", a->epoch, "the epoch to record (default: N of model.pth.tar-N)")
      ->check(at_least(0));
  app.footer(
      "Example:\n  vlprompt export --to coop runs/coop/delta.safetensors --model ViT-B-16.pt "
      "--out official/prompt_learner/model.pth.tar-50\n"
      "  python train.py ... --eval-only --model-dir official --load-epoch 50\n"
      "  vlprompt export --to peft runs/pt/delta.safetensors --out adapter/\n"
      "  (PeftModel.from_pretrained(model, 'adapter/') reads it)");
  return [a, to] {
    std::fprintf(stderr, "%s\n", pipeline::find_delta_format(*to).export_file(*a).c_str());
    return 0;
  };
}

}  // namespace

VLPROMPT_COMMAND(
    export, "write a delta file as an official CoOp/CoCoOp (Dassl) checkpoint or a PEFT adapter",
    setup_export);

}  // namespace vlprompt::cli
