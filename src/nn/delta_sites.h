// The places where a frozen transformer lets a delta in (README, "Methods are deltas on one
// prompted CLIP"): three token-level sites (input tokens, layer tokens, key/value prefix) and the
// module-level ones (every linear projection of a block, every norm, the output of each sublayer
// before its residual add). CLIP's towers and the LLaMA decoder call the same hooks and know
// nothing else about deltas; a tower with no delta passes nullptr and runs exactly the frozen
// model.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vlprompt::nn {

// Extra keys and values attended to at one layer, already in the layer's projected space:
// each [B, P, width]. Every query sees every prefix position (no causal mask on them).
struct KVPrefix {
  at::Tensor key;
  at::Tensor value;
};

// How many leading positions of a batch's rows a causal tower may compute once per group of rows
// (shared-prefix encoding): up to `length` positions, rows of one group hold the same tokens
// wherever their token ids there are the same, and every site acts on those positions alike
// for every row of the group. `groups` [B] int64 numbers the rows' groups 0..G-1 (undefined: all
// rows are one group). The tower still checks the token ids and stops at the first end-of-text.
struct SharedPrefix {
  static constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();
  int64_t length = 0;
  at::Tensor groups;
};

// The linear projections of a block. CLIP's q, k and v are the three row blocks of its fused
// attn.in_proj; its mlp.c_fc is kUp and mlp.c_proj kDown (it has no gate).
enum class LinearSite { kQ, kK, kV, kOut, kGate, kUp, kDown };
inline constexpr int kLinearSites = 7;
// Norms: before attention (ln_1 / input_layernorm), before the MLP (ln_2 /
// post_attention_layernorm), the tower's last (ln_final, ln_post / model.norm, asked with layer
// -1) and ViT's ln_pre (layer -1).
enum class NormSite { kAttention, kMlp, kFinal, kInput };
enum class Sublayer { kAttention, kMlp };

// A low-rank update of a projection (LoRA): y += scaling * B A dropout(x).
struct LowRankUpdate {
  at::Tensor a;  // [r, in]
  at::Tensor b;  // [out, r]
  double scaling = 1.0;
  double dropout = 0.0;
  bool training = false;
  // [n] int64 rows of the batch (dim 0) the update applies to; undefined: every row. Serving
  // batches rows of different deltas and adds each delta's update to its own rows only.
  at::Tensor rows;
};

// What deltas do to one linear projection y = x W^T + b. Every part is optional (undefined):
//   y = ((x * input_scale) W'^T + b' + bias_offset + sum_i lowrank_i(x)) * output_scale
// with W', b' the replacements when given (partial and full fine-tuning), else the frozen ones.
struct LinearDelta {
  at::Tensor weight;        // [out, in] replacement
  at::Tensor bias;          // [out] replacement
  at::Tensor bias_offset;   // [out] (BitFit)
  at::Tensor input_scale;   // [in] (IA3 on a feed-forward projection)
  at::Tensor output_scale;  // [out] (IA3 on keys and values)
  std::vector<LowRankUpdate> low_rank;
};

// What deltas do to one norm y = weight * normed(x) + bias: replacements and additive offsets
// (BitFit's bias offsets; LN tuning trains weight and bias). RMSNorm has no bias: an offset adds.
struct NormDelta {
  at::Tensor weight;         // replacement
  at::Tensor bias;           // replacement
  at::Tensor weight_offset;  // added to the (frozen or replaced) weight
  at::Tensor bias_offset;    // added to the output
};

// Names of the sites as users target them (PEFT's target_modules). LLaMA: q_proj k_proj v_proj
// o_proj gate_proj up_proj down_proj; CLIP: q_proj k_proj v_proj (in_proj's rows) out_proj c_fc
// c_proj.
enum class SiteNaming { kClip, kLlama };
std::string linear_site_name(LinearSite site, SiteNaming naming);
// The site a name denotes under `naming`, or nullopt (CLIP also takes in_proj.q/.k/.v, LLaMA
// nothing else).
std::optional<LinearSite> linear_site_from_name(const std::string& name, SiteNaming naming);
// The sites a backbone has: 7 on LLaMA, 6 on CLIP (no gate).
std::vector<LinearSite> linear_sites(SiteNaming naming);

class DeltaSites {
 public:
  virtual ~DeltaSites() = default;

  // Site 1, input tokens: the token sequence before layer 0, [B, L, D] -> [B, L', D].
  // Text tower: called on token embeddings *before* the positional embedding is added, with the
  // token ids [B, L] (replace placeholder positions, or insert). Image tower: called after the
  // class token and positional embedding, before ln_pre, with an undefined `token_ids`.
  virtual at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) {
    return tokens;
  }

  // Positions input_tokens() inserts before the end-of-text token, so the text tower reads its
  // feature at argmax(ids) + inserted_tokens(). Zero for deltas that only replace positions.
  virtual int64_t inserted_tokens() const { return 0; }

  // What the sites keep alike across rows (see SharedPrefix), asked after input_tokens(). The
  // default promises nothing, which always runs the plain pass. A delta that fills layer tokens
  // must keep 0 (the shared pass does not call layer_tokens()); a key/value prefix is asked once
  // for the G group prefixes and once for the B rows, so it must be alike within a group.
  virtual SharedPrefix shared_prefix() const { return {}; }

  // Site 2, layer tokens: called before layer `layer` (0-based) on x [B, L, D]; may replace a
  // span (VPT-deep, deep text prompts). Must keep the length unless it is called at layer 0.
  virtual at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) { return x; }

  // Site 3, key/value prefix at layer `layer` for a batch of `batch` sequences (Prefix Tuning).
  virtual std::optional<KVPrefix> kv_prefix(int64_t layer, int64_t batch) { return std::nullopt; }

  // Site 8, the image tower's readout: the positions [first, first + count) whose final-norm
  // outputs are averaged into the image feature instead of the class token's (L2P reads the mean
  // of its prompt positions). nullopt keeps the class token.
  virtual std::optional<std::pair<int64_t, int64_t>> readout_span() const { return std::nullopt; }

  // Whether any module-level site below can be filled. Backbones ask once per pass: false keeps
  // their fused inference paths (CLIP's folded QuickGELU, in-place attention); true routes every
  // projection through apply_linear (src/nn/delta_linear.h).
  virtual bool has_module_sites() const { return false; }

  // Site 4, a linear projection of block `layer`.
  virtual std::optional<LinearDelta> linear(int64_t layer, LinearSite site) { return std::nullopt; }

  // Site 5, a norm of block `layer` (layer -1 for kFinal and kInput).
  virtual std::optional<NormDelta> norm(int64_t layer, NormSite site) { return std::nullopt; }

  // Site 6, a sublayer's output before its residual add ([B, L, width] -> the same shape):
  // adapters.
  virtual at::Tensor sublayer_output(int64_t layer, Sublayer sublayer, const at::Tensor& output) {
    return output;
  }

  // Site 7, a tensor of the tower outside its blocks, by the backbone's own name (CLIP:
  // token_embedding.weight, positional_embedding, text_projection, visual.conv1.weight,
  // visual.class_embedding, visual.positional_embedding, visual.proj; LLaMA:
  // model.embed_tokens.weight, lm_head.weight): its trained replacement (full fine-tuning), or
  // undefined to keep the frozen one.
  virtual at::Tensor tower_tensor(const std::string& name) { return at::Tensor(); }
};

// `sites`' replacement of the tower tensor `name`, or `frozen`.
inline at::Tensor tower_tensor_or(DeltaSites* sites, const std::string& name,
                                  const at::Tensor& frozen) {
  if (!sites) return frozen;
  at::Tensor t = sites->tower_tensor(name);
  return t.defined() ? t : frozen;
}

// Forwards only the module-level sites of `inner`: what later steps of cached generation see
// (the token-level sites already acted on the cached positions, the module-level ones must act on
// every new token too).
class ModuleSitesOnly : public DeltaSites {
 public:
  explicit ModuleSitesOnly(DeltaSites* inner) : inner_(inner) {}
  bool has_module_sites() const override { return inner_ && inner_->has_module_sites(); }
  std::optional<LinearDelta> linear(int64_t layer, LinearSite site) override {
    return inner_ ? inner_->linear(layer, site) : std::nullopt;
  }
  std::optional<NormDelta> norm(int64_t layer, NormSite site) override {
    return inner_ ? inner_->norm(layer, site) : std::nullopt;
  }
  at::Tensor sublayer_output(int64_t layer, Sublayer sublayer, const at::Tensor& output) override {
    return inner_ ? inner_->sublayer_output(layer, sublayer, output) : output;
  }
  at::Tensor tower_tensor(const std::string& name) override {
    return inner_ ? inner_->tower_tensor(name) : at::Tensor();
  }

 private:
  DeltaSites* inner_;
};

}  // namespace vlprompt::nn
