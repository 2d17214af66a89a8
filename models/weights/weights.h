// Reading and writing CLIP checkpoints in their real formats. Everything is mapped to one
// canonical naming, OpenAI's state-dict names, as fp32 CPU tensors. No model code here.
#pragma once

#include <optional>
#include <string>

#include "models/clip_config.h"
#include "src/core/safetensors.h"

namespace vlprompt::models::weights {

enum class Format { kOpenAIPt, kHuggingFace, kVlprompt };
std::string format_name(Format f);             // "openai-pt", "hf", "vlprompt"
Format parse_format(const std::string& name);  // inverse; Error listing valid names

// The format a destination path implies: ".pt" -> OpenAI .pt, ".safetensors" -> vlprompt,
// anything else (a folder) -> Hugging Face.
Format format_for_destination(const std::string& path);

// What a weight file says of itself: whether it holds pretrained weights (unknown for formats
// that do not record it: OpenAI .pt, Hugging Face folders) and how it was made.
struct Provenance {
  std::optional<bool> pretrained;
  std::string how_made;  // e.g. "vlprompt init --config tiny --seed 0 (random initialisation)"
};

// The __metadata__ keys "pretrained" ("true"/"false") and "provenance" of a weight file; a
// "pretrained" of any other value is a FileError naming `path`.
Provenance provenance_from_metadata(const core::Metadata& metadata, const std::string& path);

struct LoadedWeights {
  // Canonical names, CPU, contiguous. Floating tensors are fp32 (fp16/bf16 upcast); BatchNorm's
  // integer `num_batches_tracked` counters (ModifiedResNet only) keep their int64 type.
  core::TensorMap tensors;
  std::optional<ClipConfig> config;  // when the file says its architecture (HF, vlprompt)
  Format format;
  std::string path;
  std::string vocab;      // tokenizer file found beside it (HF vocab.json, or a sibling
                          // bpe_simple_vocab_16e6.txt.gz), "" if none
  Provenance provenance;  // vlprompt files' __metadata__ "pretrained" and "provenance"
};

// Detects the format (directory with config.json -> HF; .safetensors -> vlprompt; zip archive ->
// OpenAI .pt) and reads it. The tensors are checked against the architecture (the file's own, or
// the one inferred from shapes). Malformed input throws FileError naming the file and the tensor.
LoadedWeights read_weights(const std::string& path);

// Writes `tensors` (canonical names) in `format` at `path` (a folder for HF), atomically, after
// checking them against `config`. `source` (e.g. the file converted from) and `provenance` are
// recorded where the format has room for them (vlprompt metadata).
void write_weights(const std::string& path, Format format, const core::TensorMap& tensors,
                   const ClipConfig& config, const std::string& source = "",
                   const Provenance& provenance = {});

// Architecture read off tensor shapes, as OpenAI's build_model does (heads = width / 64, at least
// 1). A missing required tensor throws FileError naming `source` and the tensor.
ClipConfig infer_config(const core::TensorMap& tensors, const std::string& source = "checkpoint");

}  // namespace vlprompt::models::weights
