// vlprompt merge: a weight-space delta (LoRA, IA3, BitFit, LN tuning) folded into the model's
// weights, written in the model's own format (pipeline/merge.h).
#include "pipeline/merge.h"

#include <cstdio>

#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

Runner setup_merge(CLI::App& app) {
  auto a = std::make_shared<pipeline::MergeRequest>();
  app.add_option("--delta", a->delta, "a delta file (RUN/delta.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  add_model_options(app, a->model);
  app.add_option("--out", a->out,
                 "the merged model: a folder for a LLaMA (Hugging Face layout), a .safetensors "
                 "for CLIP")
      ->required();
  app.footer(
      "Example:\n  vlprompt merge --delta runs/lora/delta.safetensors --model LLAMA_DIR "
      "--out merged/\n  vlprompt lm score --model merged/ --texts '...'\n"
      "  vlprompt merge --delta runs/lora-clip/delta.safetensors --model ViT-B-16.pt "
      "--out merged.safetensors");
  return [a] {
    std::fprintf(stderr, "%s\n", pipeline::merge_delta(*a).c_str());
    return 0;
  };
}

}  // namespace

VLPROMPT_COMMAND(merge, "fold a LoRA/IA3/BitFit/LN-tuning delta into the model's weights",
                 setup_merge);

}  // namespace vlprompt::cli
