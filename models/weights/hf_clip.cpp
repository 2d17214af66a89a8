// Hugging Face CLIP folders (transformers' CLIPModel): config.json + model.safetensors. HF keeps
// q/k/v projections apart where OpenAI's nn.MultiheadAttention packs them (q, k, v order), and
// stores the two projections as Linear weights, the transpose of OpenAI's matrices.
#include <filesystem>
#include <set>

#include "models/weights/canonical_layout.h"
#include "models/weights/formats.h"
#include "models/weights/hf_config.h"
#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::models::weights::detail {
namespace {

namespace fs = std::filesystem;

// How one canonical tensor is made of HF tensors.
struct HfSource {
  enum class Kind { kCopy, kTranspose, kConcatQkv };
  Kind kind = Kind::kCopy;
  std::vector<std::string> names;  // one, or q, k, v
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

HfSource copy_of(const std::string& name) { return {HfSource::Kind::kCopy, {name}}; }

// "attn.in_proj_weight" etc. inside one residual block -> HF names under `layer` ("...layers.N.").
HfSource block_source(const std::string& layer, const std::string& rest) {
  static const std::vector<std::pair<std::string, std::string>> kRenames = {
      {"attn.out_proj.", "self_attn.out_proj."},
      {"ln_1.", "layer_norm1."},
      {"ln_2.", "layer_norm2."},
      {"mlp.c_fc.", "mlp.fc1."},
      {"mlp.c_proj.", "mlp.fc2."}};
  if (rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias") {
    const std::string field = rest == "attn.in_proj_weight" ? ".weight" : ".bias";
    HfSource s{HfSource::Kind::kConcatQkv, {}};
    for (const char* p : {"q_proj", "k_proj", "v_proj"})
      s.names.push_back(layer + "self_attn." + p + field);
    return s;
  }
  for (const auto& [ours, theirs] : kRenames)
    if (starts_with(rest, ours)) return copy_of(layer + theirs + rest.substr(ours.size()));
  throw Error("tensor '" + rest + "' of a residual block has no Hugging Face counterpart");
}

HfSource hf_source(const std::string& canonical) {
  static const std::map<std::string, HfSource> kTopLevel = {
      {"token_embedding.weight", copy_of("text_model.embeddings.token_embedding.weight")},
      {"positional_embedding", copy_of("text_model.embeddings.position_embedding.weight")},
      {"ln_final.weight", copy_of("text_model.final_layer_norm.weight")},
      {"ln_final.bias", copy_of("text_model.final_layer_norm.bias")},
      {"text_projection", {HfSource::Kind::kTranspose, {"text_projection.weight"}}},
      {"logit_scale", copy_of("logit_scale")},
      {"visual.class_embedding", copy_of("vision_model.embeddings.class_embedding")},
      {"visual.conv1.weight", copy_of("vision_model.embeddings.patch_embedding.weight")},
      {"visual.positional_embedding", copy_of("vision_model.embeddings.position_embedding.weight")},
      {"visual.ln_pre.weight", copy_of("vision_model.pre_layrnorm.weight")},  // sic: HF's name
      {"visual.ln_pre.bias", copy_of("vision_model.pre_layrnorm.bias")},
      {"visual.ln_post.weight", copy_of("vision_model.post_layernorm.weight")},
      {"visual.ln_post.bias", copy_of("vision_model.post_layernorm.bias")},
      {"visual.proj", {HfSource::Kind::kTranspose, {"visual_projection.weight"}}}};
  auto it = kTopLevel.find(canonical);
  if (it != kTopLevel.end()) return it->second;
  for (const auto& [ours, theirs] :
       {std::pair<std::string, std::string>{"visual.transformer.resblocks.",
                                            "vision_model.encoder.layers."},
        {"transformer.resblocks.", "text_model.encoder.layers."}}) {
    if (!starts_with(canonical, ours)) continue;
    const size_t dot = canonical.find('.', ours.size());
    if (dot == std::string::npos) break;
    return block_source(theirs + canonical.substr(ours.size(), dot - ours.size() + 1),
                        canonical.substr(dot + 1));
  }
  throw Error("tensor '" + canonical + "' has no Hugging Face CLIP counterpart");
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

std::string vocab_beside(const fs::path& dir) {
  const fs::path vocab = dir / "vocab.json";
  return fs::exists(vocab) ? vocab.string() : "";
}

}  // namespace

LoadedWeights read_hf_clip(const std::string& dir) {
  const fs::path folder(dir);
  const std::string config_path = (folder / "config.json").string();
  const std::string tensors_path = (folder / "model.safetensors").string();
  LoadedWeights out;
  out.format = Format::kHuggingFace;
  out.path = dir;
  out.vocab = vocab_beside(folder);
  const ClipConfig config = hf_config_from_json(core::read_file(config_path), config_path);
  check_config(config, config_path);
  if (!fs::exists(tensors_path)) {
    const bool has_bin = fs::exists(folder / "pytorch_model.bin");
    throw FileError(tensors_path, has_bin ? "missing; the folder has only pytorch_model.bin, a "
                                            "pickle LibTorch cannot read (re-save the model with "
                                            "safe_serialization=True)"
                                          : "missing (a Hugging Face CLIP folder needs "
                                            "config.json and model.safetensors)");
  }
  core::TensorFile file = core::read_safetensors(tensors_path);

  std::set<std::string> used;
  for (const auto& [name, shape] : canonical_shapes(config)) {
    const HfSource src = hf_source(name);
    std::vector<at::Tensor> parts;
    for (const std::string& hf : src.names) {
      auto it = file.tensors.find(hf);
      if (it == file.tensors.end())
        throw FileError(tensors_path, "missing tensor '" + hf + "' (needed for '" + name +
                                          "' by the architecture in config.json)");
      parts.push_back(to_canonical_tensor(it->second));
      used.insert(hf);
    }
    at::Tensor t;
    try {
      if (src.kind == HfSource::Kind::kCopy) t = parts[0];
      if (src.kind == HfSource::Kind::kTranspose) t = parts[0].t().contiguous();
      if (src.kind == HfSource::Kind::kConcatQkv) t = at::cat(parts, 0).contiguous();
    } catch (const c10::Error&) {
      t = at::Tensor();
    }
    if (!t.defined() || t.sizes() != at::IntArrayRef(shape)) {
      std::string got;
      for (const at::Tensor& p : parts) got += (got.empty() ? "" : " + ") + shape_string(p.sizes());
      throw FileError(tensors_path, "tensor " + joined(src.names) + " has shape " + got +
                                        ", which does not give '" + name + "' the shape " +
                                        shape_string(shape) + " that config.json implies");
    }
    out.tensors[name] = t;
  }
  for (const auto& [hf, t] : file.tensors) {
    if (used.count(hf) || (hf.size() >= 12 && hf.compare(hf.size() - 12, 12, "position_ids") == 0))
      continue;
    throw FileError(tensors_path, "unexpected tensor '" + hf +
                                      "' (not part of the CLIP architecture in config.json)");
  }
  out.config = config;
  return out;
}

void write_hf_clip(const std::string& dir, const core::TensorMap& tensors,
                   const ClipConfig& config) {
  if (config.vision.type != "vit")
    throw Error(dir +
                ": Hugging Face has no ModifiedResNet CLIP (CLIPModel's image tower is a "
                "ViT); write this model as openai-pt or vlprompt instead");
  core::TensorMap hf;
  for (const auto& [name, tensor] : tensors) {
    const at::Tensor t = to_canonical_tensor(tensor);
    const HfSource src = hf_source(name);
    if (src.kind == HfSource::Kind::kCopy) hf[src.names[0]] = t;
    if (src.kind == HfSource::Kind::kTranspose) hf[src.names[0]] = t.t().contiguous();
    if (src.kind == HfSource::Kind::kConcatQkv) {
      const std::vector<at::Tensor> qkv = t.chunk(3, 0);
      for (size_t i = 0; i < 3; ++i) hf[src.names[i]] = qkv[i].contiguous();
    }
  }
  const fs::path folder(dir);
  fs::create_directories(folder);
  core::write_safetensors((folder / "model.safetensors").string(), hf, {{"format", "pt"}});
  // config.json last: a folder with a config.json is a complete one.
  core::atomic_write((folder / "config.json").string(), hf_config_to_json(config));
}

}  // namespace vlprompt::models::weights::detail
