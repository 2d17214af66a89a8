// vlprompt's own weight file: a safetensors file with canonical (OpenAI) names whose
// __metadata__ states the architecture, so loading needs no shape guessing. A safetensors file
// without that metadata (an open_clip state dict, which uses the same names) is read too, with
// the architecture inferred from shapes.
#include <filesystem>

#include "models/weights/canonical_layout.h"
#include "models/weights/config_json.h"
#include "models/weights/formats.h"
#include "src/core/error.h"
#include "src/core/hash.h"

namespace vlprompt::models::weights::detail {
namespace {

constexpr const char* kFormatVersion = "1";

}  // namespace

LoadedWeights read_vlprompt(const std::string& path) {
  core::TensorFile file = core::read_safetensors(path);
  LoadedWeights out;
  out.format = Format::kVlprompt;
  out.path = path;
  for (auto& [name, t] : file.tensors) out.tensors[name] = to_canonical_tensor(t);

  auto version = file.metadata.find("format_version");
  if (version != file.metadata.end() && version->second != kFormatVersion)
    throw FileError(path, "__metadata__ format_version is '" + version->second +
                              "', this vlprompt reads version " + kFormatVersion);
  out.provenance = provenance_from_metadata(file.metadata, path);
  auto arch = file.metadata.find("architecture");
  if (arch != file.metadata.end()) {
    out.config = config_from_json(arch->second, path);
    check_tensors(out.tensors, *out.config, path);
  } else {
    check_tensors(out.tensors, infer_config(out.tensors, path), path);
  }
  return out;
}

void write_vlprompt(const std::string& path, const core::TensorMap& tensors,
                    const ClipConfig& config, const std::string& source,
                    const Provenance& provenance) {
  core::TensorMap canonical;
  for (const auto& [name, t] : tensors) canonical[name] = to_canonical_tensor(t);
  core::Metadata meta;
  meta["format"] = "vlprompt-clip-weights";
  meta["format_version"] = kFormatVersion;
  meta["architecture"] = config_to_json(config);
  meta["fingerprint"] = core::fingerprint(canonical);
  if (!source.empty()) meta["source"] = source;
  if (provenance.pretrained) meta["pretrained"] = *provenance.pretrained ? "true" : "false";
  if (!provenance.how_made.empty()) meta["provenance"] = provenance.how_made;
  core::write_safetensors(path, canonical, meta);
}

}  // namespace vlprompt::models::weights::detail

namespace vlprompt::models::weights {

Provenance provenance_from_metadata(const core::Metadata& metadata, const std::string& path) {
  Provenance out;
  if (auto it = metadata.find("pretrained"); it != metadata.end()) {
    if (it->second != "true" && it->second != "false")
      throw FileError(
          path, "__metadata__ pretrained is '" + it->second + "'; expected \"true\" or \"false\"");
    out.pretrained = it->second == "true";
  }
  if (auto it = metadata.find("provenance"); it != metadata.end()) out.how_made = it->second;
  return out;
}

}  // namespace vlprompt::models::weights
