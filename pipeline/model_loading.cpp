#include "pipeline/model_loading.h"

#include <iostream>

namespace vlprompt::pipeline {

models::LoadedClip load_model_only(const ModelArgs& args) {
  models::LoadedClip clip = models::load_clip(args.model, args.seed);
  std::cerr << "[vlprompt] model: " << clip.source << " (" << clip.format << ", fingerprint "
            << clip.model->fingerprint() << ")\n";
  if (clip.provenance.pretrained == false) {
    std::cerr << "[vlprompt] NOTE: these are randomly initialised weights, not pretrained CLIP; "
                 "numbers from them say nothing about CLIP's accuracy.\n";
  }
  return clip;
}

ModelBundle load_model_bundle(const ModelArgs& args) {
  models::LoadedClip clip = load_model_only(args);
  const std::string model_path = clip.format == "init" ? "" : args.model;
  const std::string vocab =
      text::find_vocab(args.vocab.empty() ? clip.vocab : args.vocab, model_path);
  auto tokenizer =
      std::make_shared<const text::ClipTokenizer>(text::ClipTokenizer::from_file(vocab));
  return ModelBundle{std::move(clip), std::move(tokenizer), vocab};
}

}  // namespace vlprompt::pipeline
