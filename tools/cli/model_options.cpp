#include "tools/cli/model_options.h"

namespace vlprompt::cli {

void add_model_options(CLI::App& app, pipeline::ModelArgs& args) {
  app.add_option("--model", args.model,
                 "OpenAI .pt archive, Hugging Face CLIP folder, vlprompt .safetensors, or a "
                 "config name from models/configs (random weights)")
      ->required();
  app.add_option("--vocab", args.vocab,
                 "BPE vocabulary (bpe_simple_vocab_16e6.txt.gz or HF vocab.json); default: beside "
                 "the model, then $VLPROMPT_HOME");
  app.add_option("--init-seed", args.seed, "seed for a config name's random weights")
      ->default_val(0);
}

}  // namespace vlprompt::cli
