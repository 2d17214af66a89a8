// `vlprompt convert SRC DST`: rewrites CLIP weights in another format (OpenAI TorchScript .pt,
// Hugging Face CLIP folder, vlprompt .safetensors). The tensors are the same; only names and
// layout change, so the printed fingerprint matches the one `load_clip` computes for either file.
#include <iostream>
#include <memory>

#include "models/weights/weights.h"
#include "src/core/hash.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

struct ConvertArgs {
  std::string source;
  std::string destination;
  std::string format;  // "" -> from the destination's extension
};

int run_convert(const ConvertArgs& args) {
  namespace w = models::weights;
  const w::LoadedWeights in = w::read_weights(args.source);
  const models::ClipConfig config =
      in.config ? *in.config : w::infer_config(in.tensors, args.source);
  const w::Format format = args.format.empty() ? w::format_for_destination(args.destination)
                                               : w::parse_format(args.format);
  w::write_weights(args.destination, format, in.tensors, config, args.source, in.provenance);
  std::cout << "wrote " << args.destination << ": " << in.tensors.size() << " tensors, format "
            << w::format_name(format) << " (read as " << w::format_name(in.format) << ", "
            << config.vision.type << " image tower), fingerprint " << core::fingerprint(in.tensors)
            << "\n";
  return 0;
}

Runner setup_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  app.add_option("SRC", args->source,
                 "OpenAI .pt archive, Hugging Face CLIP folder, or .safetensors file")
      ->required();
  app.add_option("DST", args->destination,
                 "output: .pt (openai-pt), .safetensors (vlprompt), otherwise a folder (hf)")
      ->required();
  app.add_option("--format", args->format, "output format; default from DST's extension")
      ->check(CLI::IsMember({"openai-pt", "hf", "vlprompt"}));
  app.footer(
      "Example:\n"
      "  vlprompt convert ViT-B-16.pt ViT-B-16.safetensors\n"
      "  vlprompt convert ViT-B-16.pt clip-vit-base-patch16 --format hf");
  return [args] { return run_convert(*args); };
}

}  // namespace
}  // namespace vlprompt::cli

VLPROMPT_COMMAND(convert,
                 "Convert CLIP weights between OpenAI .pt, Hugging Face and vlprompt formats",
                 ::vlprompt::cli::setup_convert);
