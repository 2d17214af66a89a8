// What every subcommand that takes --model/--vocab needs: the frozen CLIP plus its tokenizer,
// with a plain statement when the weights are not pretrained.
#pragma once

#include <string>

#include "models/clip/load_clip.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::pipeline {

struct ModelArgs {
  std::string model;
  std::string vocab;
  uint64_t seed = 0;  // for a config name: random initialisation seed
};

struct ModelBundle {
  models::LoadedClip clip;
  std::shared_ptr<const text::ClipTokenizer> tokenizer;
  std::string vocab_path;
};

// Loads the model (and tokenizer unless `need_tokenizer` is false: then the bundle's tokenizer
// is loaded only if a vocabulary can be found). Prints to stderr where the weights come from,
// and a warning when they are a random initialisation.
ModelBundle load_model_bundle(const ModelArgs& args);
models::LoadedClip load_model_only(const ModelArgs& args);

}  // namespace vlprompt::pipeline
