// Format detection and dispatch for read_weights / write_weights.
#include <filesystem>
#include <fstream>

#include "models/weights/canonical_layout.h"
#include "models/weights/formats.h"
#include "models/weights/weights.h"
#include "src/core/error.h"
#include "src/core/safetensors.h"

namespace vlprompt::models::weights {
namespace {

namespace fs = std::filesystem;

// OpenAI's tokenizer file, when it sits beside a .pt or .safetensors checkpoint.
std::string vocab_beside(const fs::path& file) {
  const fs::path bpe = file.parent_path() / "bpe_simple_vocab_16e6.txt.gz";
  return fs::exists(bpe) ? bpe.string() : "";
}

// safetensors starts with an 8-byte header length followed by the JSON header's '{'.
bool looks_like_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[9] = {};
  in.read(buf, 9);
  return in.gcount() == 9 && buf[8] == '{';
}

}  // namespace

std::string format_name(Format f) {
  switch (f) {
    case Format::kOpenAIPt:
      return "openai-pt";
    case Format::kHuggingFace:
      return "hf";
    case Format::kVlprompt:
      return "vlprompt";
  }
  return "unknown";
}

Format parse_format(const std::string& name) {
  for (Format f : {Format::kOpenAIPt, Format::kHuggingFace, Format::kVlprompt})
    if (format_name(f) == name) return f;
  throw Error("unknown weights format '" + name + "' (expected openai-pt, hf or vlprompt)");
}

Format format_for_destination(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".pt") return Format::kOpenAIPt;
  if (ext == ".safetensors") return Format::kVlprompt;
  return Format::kHuggingFace;
}

namespace {

LoadedWeights read_any_weights(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p))
    throw FileError(path,
                    "no such file or folder (expected an OpenAI .pt archive, a Hugging "
                    "Face CLIP folder or a .safetensors file)");
  if (fs::is_directory(p)) {
    if (!fs::exists(p / "config.json"))
      throw FileError(path,
                      "folder has no config.json (expected a Hugging Face CLIP folder with "
                      "config.json and model.safetensors)");
    return detail::read_hf_clip(path);
  }
  if (p.extension() == ".safetensors" || looks_like_safetensors(path)) {
    LoadedWeights out = detail::read_vlprompt(path);
    out.vocab = vocab_beside(p);
    return out;
  }
  LoadedWeights out;
  out.format = Format::kOpenAIPt;
  out.path = path;
  out.tensors = detail::read_openai_pt(path);
  check_tensors(out.tensors, infer_config(out.tensors, path), path);
  out.vocab = vocab_beside(p);
  return out;
}

}  // namespace

LoadedWeights read_weights(const std::string& path) {
  LoadedWeights out = read_any_weights(path);
  core::check_finite(out.tensors, path);
  return out;
}

void write_weights(const std::string& path, Format format, const core::TensorMap& tensors,
                   const ClipConfig& config, const std::string& source,
                   const Provenance& provenance) {
  check_tensors(tensors, config, path);
  switch (format) {
    case Format::kOpenAIPt:
      detail::write_openai_pt(path, tensors);
      return;
    case Format::kHuggingFace:
      detail::write_hf_clip(path, tensors, config);
      return;
    case Format::kVlprompt:
      detail::write_vlprompt(path, tensors, config, source, provenance);
      return;
  }
}

}  // namespace vlprompt::models::weights
