// The three places where a frozen transformer lets a delta in (README, "Methods are deltas on one
// prompted CLIP").
// Backbones call these hooks and know nothing else about prompts; a tower with no delta passes
// nullptr and runs exactly the frozen model.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace vlprompt::nn {

// Extra keys and values attended to at one layer, already in the layer's projected space:
// each [B, P, width]. Every query sees every prefix position (no causal mask on them).
struct KVPrefix {
  at::Tensor key;
  at::Tensor value;
};

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

  // Site 2, layer tokens: called before layer `layer` (0-based) on x [B, L, D]; may replace a
  // span (VPT-deep, deep text prompts). Must keep the length unless it is called at layer 0.
  virtual at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) { return x; }

  // Site 3, key/value prefix at layer `layer` for a batch of `batch` sequences (Prefix Tuning).
  virtual std::optional<KVPrefix> kv_prefix(int64_t layer, int64_t batch) { return std::nullopt; }
};

}  // namespace vlprompt::nn
