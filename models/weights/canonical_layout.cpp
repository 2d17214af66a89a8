#include "models/weights/canonical_layout.h"

#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::models::weights {
namespace {
using core::ends_with;

void add_layer_norm(ShapeMap& m, const std::string& prefix, int64_t width) {
  m[prefix + ".weight"] = {width};
  m[prefix + ".bias"] = {width};
}

void add_linear(ShapeMap& m, const std::string& prefix, int64_t in, int64_t out) {
  m[prefix + ".weight"] = {out, in};
  m[prefix + ".bias"] = {out};
}

// OpenAI's Transformer: residual blocks of nn.MultiheadAttention and a 4x-wide QuickGELU MLP.
void add_transformer(ShapeMap& m, const std::string& prefix, int64_t width, int64_t layers) {
  for (int64_t i = 0; i < layers; ++i) {
    const std::string b = prefix + "resblocks." + std::to_string(i) + ".";
    m[b + "attn.in_proj_weight"] = {3 * width, width};
    m[b + "attn.in_proj_bias"] = {3 * width};
    add_linear(m, b + "attn.out_proj", width, width);
    add_layer_norm(m, b + "ln_1", width);
    add_linear(m, b + "mlp.c_fc", width, 4 * width);
    add_linear(m, b + "mlp.c_proj", 4 * width, width);
    add_layer_norm(m, b + "ln_2", width);
  }
}

void add_batch_norm(ShapeMap& m, const std::string& prefix, int64_t channels) {
  for (const char* field : {".weight", ".bias", ".running_mean", ".running_var"})
    m[prefix + field] = {channels};
}

void add_conv(ShapeMap& m, const std::string& name, int64_t out, int64_t in, int64_t kernel) {
  m[name] = {out, in, kernel, kernel};
}

void add_vit(ShapeMap& m, const VisionConfig& v, int64_t embed_dim) {
  const int64_t w = v.width;
  const int64_t grid = v.patch_size > 0 ? v.image_resolution / v.patch_size : 0;
  add_conv(m, "visual.conv1.weight", w, 3, v.patch_size);
  m["visual.class_embedding"] = {w};
  m["visual.positional_embedding"] = {grid * grid + 1, w};
  add_layer_norm(m, "visual.ln_pre", w);
  add_transformer(m, "visual.transformer.", w, v.layers);
  add_layer_norm(m, "visual.ln_post", w);
  m["visual.proj"] = {w, embed_dim};
}

// OpenAI's ModifiedResNet: a 3-conv stem, four stages of Bottleneck blocks (expansion 4, the
// first block of each stage downsamples through an avg-pool + 1x1 conv "downsample.0/.1"), then
// attention pooling over the final (resolution / 32)^2 grid.
void add_modified_resnet(ShapeMap& m, const VisionConfig& v, int64_t embed_dim) {
  const int64_t w = v.width;
  add_conv(m, "visual.conv1.weight", w / 2, 3, 3);
  add_batch_norm(m, "visual.bn1", w / 2);
  add_conv(m, "visual.conv2.weight", w / 2, w / 2, 3);
  add_batch_norm(m, "visual.bn2", w / 2);
  add_conv(m, "visual.conv3.weight", w, w / 2, 3);
  add_batch_norm(m, "visual.bn3", w);
  int64_t inplanes = w;
  for (size_t stage = 0; stage < v.resnet_layers.size(); ++stage) {
    const int64_t planes = w << stage;
    const int64_t stride = stage == 0 ? 1 : 2;
    for (int64_t block = 0; block < v.resnet_layers[stage]; ++block) {
      const std::string b =
          "visual.layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      add_conv(m, b + "conv1.weight", planes, inplanes, 1);
      add_batch_norm(m, b + "bn1", planes);
      add_conv(m, b + "conv2.weight", planes, planes, 3);
      add_batch_norm(m, b + "bn2", planes);
      add_conv(m, b + "conv3.weight", planes * 4, planes, 1);
      add_batch_norm(m, b + "bn3", planes * 4);
      if (block == 0 && (stride > 1 || inplanes != planes * 4)) {
        add_conv(m, b + "downsample.0.weight", planes * 4, inplanes, 1);
        add_batch_norm(m, b + "downsample.1", planes * 4);
      }
      inplanes = planes * 4;
    }
  }
  const int64_t pool_dim = w * 32;
  const int64_t spatial = v.image_resolution / 32;
  m["visual.attnpool.positional_embedding"] = {spatial * spatial + 1, pool_dim};
  for (const char* proj : {"k_proj", "q_proj", "v_proj"})
    add_linear(m, std::string("visual.attnpool.") + proj, pool_dim, pool_dim);
  add_linear(m, "visual.attnpool.c_proj", pool_dim, embed_dim);
}

}  // namespace

ShapeMap canonical_shapes(const ClipConfig& config) {
  ShapeMap m;
  if (config.vision.type == "vit") {
    add_vit(m, config.vision, config.embed_dim);
  } else if (config.vision.type == "modified_resnet") {
    add_modified_resnet(m, config.vision, config.embed_dim);
  } else {
    throw Error("unknown vision type '" + config.vision.type +
                "' (expected vit or modified_resnet)");
  }
  const TextConfig& t = config.text;
  m["token_embedding.weight"] = {t.vocab_size, t.width};
  m["positional_embedding"] = {t.context_length, t.width};
  add_transformer(m, "transformer.", t.width, t.layers);
  add_layer_norm(m, "ln_final", t.width);
  m["text_projection"] = {t.width, config.embed_dim};
  m["logit_scale"] = {};
  return m;
}

bool is_optional_tensor(const std::string& name) { return ends_with(name, ".num_batches_tracked"); }

void check_config(const ClipConfig& c, const std::string& path) {
  auto fail = [&](const std::string& what) {
    throw FileError(path, "architecture is inconsistent: " + what);
  };
  const bool vit = c.vision.type == "vit";
  const int64_t attn_width = vit ? c.vision.width : c.vision.width * 32;
  if (c.vision.heads <= 0 || attn_width % c.vision.heads != 0)
    fail("vision heads " + std::to_string(c.vision.heads) + " do not divide the attention width " +
         std::to_string(attn_width));
  if (c.text.heads <= 0 || c.text.width % c.text.heads != 0)
    fail("text heads " + std::to_string(c.text.heads) + " do not divide the text width " +
         std::to_string(c.text.width));
  if (vit && (c.vision.patch_size <= 0 || c.vision.image_resolution % c.vision.patch_size != 0))
    fail("image resolution " + std::to_string(c.vision.image_resolution) +
         " is not a multiple of the patch size " + std::to_string(c.vision.patch_size));
  if (!vit && (c.vision.resnet_layers.size() != 4 || c.vision.image_resolution % 32 != 0))
    fail("a ModifiedResNet needs 4 stages and a resolution that is a multiple of 32");
}

void check_tensors(const core::TensorMap& tensors, const ClipConfig& config,
                   const std::string& path) {
  check_config(config, path);
  const ShapeMap expected = canonical_shapes(config);
  for (const auto& [name, shape] : expected) {
    auto it = tensors.find(name);
    if (it == tensors.end())
      throw FileError(path, "missing tensor '" + name + "' (expected shape " + shape_string(shape) +
                                " for this architecture)");
    if (it->second.sizes() != at::IntArrayRef(shape))
      throw FileError(path, "tensor '" + name + "' has shape " + shape_string(it->second.sizes()) +
                                ", expected " + shape_string(shape) + " for this architecture");
  }
  for (const auto& [name, tensor] : tensors) {
    if (expected.count(name)) continue;
    if (is_optional_tensor(name) && config.vision.type == "modified_resnet" &&
        expected.count(name.substr(0, name.rfind('.')) + ".running_mean"))
      continue;
    throw FileError(path, "unexpected tensor '" + name + "' (not part of a " + config.vision.type +
                              " CLIP of this architecture)");
  }
}

at::Tensor to_canonical_tensor(const at::Tensor& t) {
  at::Tensor out = t.detach().to(at::kCPU);
  if (at::isFloatingType(out.scalar_type())) out = out.to(at::kFloat);
  return out.contiguous();
}

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace vlprompt::models::weights
