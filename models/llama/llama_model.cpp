#include "models/llama/llama_model.h"

#include <limits>
#include <string>

#include "src/core/error.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::models::llama {

LlamaBackboneImpl::LlamaBackboneImpl(const LlamaConfig& config) {
  embed_tokens =
      register_module("embed_tokens", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layer_list.push_back(LlamaDecoderLayer(config));
    layers->push_back(layer_list.back());
  }
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& config) : config_(config) {
  model = register_module("model", LlamaBackbone(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head",
        torch::nn::Linear(
            torch::nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
}

at::Tensor LlamaModelImpl::head_weight(nn::DeltaSites* sites) const {
  return lm_head
             ? nn::tower_tensor_or(sites, "lm_head.weight", lm_head->weight)
             : nn::tower_tensor_or(sites, "model.embed_tokens.weight", model->embed_tokens->weight);
}

void LlamaModelImpl::prefixes(nn::DeltaSites* sites, int64_t batch, std::vector<at::Tensor>& keys,
                              std::vector<at::Tensor>& values, int64_t* length) {
  const int64_t layers = config_.num_hidden_layers;
  keys.assign(layers, at::Tensor());
  values.assign(layers, at::Tensor());
  *length = 0;
  if (!sites) return;
  const int64_t kv_heads = config_.num_key_value_heads, head_dim = config_.head_dim();
  int64_t with_prefix = 0;
  for (int64_t l = 0; l < layers; ++l) {
    const std::optional<nn::KVPrefix> prefix = sites->kv_prefix(l, batch);
    if (!prefix) continue;
    const int64_t p = prefix->key.defined() ? prefix->key.size(1) : -1;
    for (const at::Tensor* t : {&prefix->key, &prefix->value}) {
      if (!t->defined() || t->dim() != 3 || t->size(0) != batch || t->size(1) != p ||
          t->size(2) != config_.kv_width())
        throw Error("kv_prefix at layer " + std::to_string(l) + ": expected key and value [" +
                    std::to_string(batch) + ", P, " + std::to_string(config_.kv_width()) +
                    "] (num_key_value_heads x head_dim), got " +
                    (t->defined() ? c10::str(t->sizes()) : std::string("undefined")));
    }
    if (with_prefix > 0 && p != *length)
      throw Error("kv_prefix at layer " + std::to_string(l) + " has length " + std::to_string(p) +
                  ", layer 0's has " + std::to_string(*length) + ": all layers must agree");
    *length = p;
    ++with_prefix;
    keys[l] = prefix->key.view({batch, p, kv_heads, head_dim}).transpose(1, 2);
    values[l] = prefix->value.view({batch, p, kv_heads, head_dim}).transpose(1, 2);
  }
  // Positions count the prefix (HF's past length), so every layer must see the same past.
  if (with_prefix != 0 && with_prefix != layers)
    throw Error("kv_prefix given at " + std::to_string(with_prefix) + " of " +
                std::to_string(layers) + " layers: a LLaMA prefix must cover every layer");
}

at::Tensor LlamaModelImpl::run_layers(at::Tensor x, nn::DeltaSites* sites,
                                      std::vector<at::Tensor>& keys,
                                      std::vector<at::Tensor>& values, int64_t start) {
  Rotary rotary;
  nn::DeltaSites* module_sites = sites && sites->has_module_sites() ? sites : nullptr;
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    x = nn::apply_layer_tokens(sites, l, x);
    // Layer 0's layer_tokens may change the length, so the tables follow it.
    if (l == 0) rotary = rotary_tables(config_.head_dim(), config_.rope_theta, start, x.size(1));
    x = model->layer_list[l]->forward(x, rotary, keys[l], values[l], module_sites, l);
  }
  return model->norm->forward(x, nn::norm_delta(module_sites, -1, nn::NormSite::kFinal));
}

at::Tensor LlamaModelImpl::logits(const at::Tensor& ids, nn::DeltaSites* sites,
                                  int64_t position_offset) {
  return at::linear(hidden_states(ids, sites, position_offset), head_weight(sites));
}

at::Tensor LlamaModelImpl::hidden_states(const at::Tensor& ids, nn::DeltaSites* sites,
                                         int64_t position_offset) {
  if (ids.dim() != 2)
    throw Error("llama logits: expected ids [B, L], got " + c10::str(ids.sizes()));
  at::Tensor x = at::embedding(
      nn::tower_tensor_or(sites, "model.embed_tokens.weight", model->embed_tokens->weight), ids);
  if (sites) x = sites->input_tokens(x, ids);
  std::vector<at::Tensor> keys, values;
  int64_t prefix = 0;
  prefixes(sites, ids.size(0), keys, values, &prefix);
  return run_layers(x, sites, keys, values, position_offset + prefix);
}

at::Tensor LlamaModelImpl::forward_step(const at::Tensor& new_ids, LlamaCache& cache,
                                        nn::DeltaSites* sites) {
  if (new_ids.dim() != 2)
    throw Error("llama forward_step: expected ids [B, L], got " + c10::str(new_ids.sizes()));
  const bool first = cache.empty();
  if (first) {
    int64_t prefix = 0;
    prefixes(sites, new_ids.size(0), cache.key, cache.value, &prefix);
  } else if (cache.key.size() != static_cast<size_t>(config_.num_hidden_layers)) {
    throw Error("llama forward_step: the cache holds " + std::to_string(cache.key.size()) +
                " layers, the model has " + std::to_string(config_.num_hidden_layers));
  }
  at::Tensor x = at::embedding(
      nn::tower_tensor_or(sites, "model.embed_tokens.weight", model->embed_tokens->weight),
      new_ids);
  if (first && sites) x = sites->input_tokens(x, new_ids);
  // The token-level sites acted on the cached positions; the module-level ones act on every new
  // token too (a LoRA would otherwise vanish from the second token on).
  nn::ModuleSitesOnly later(sites);
  // The head as logits() uses it: a delta that trains lm_head (full fine-tuning) generates with it.
  return at::linear(run_layers(x, first ? sites : &later, cache.key, cache.value, cache.length()),
                    head_weight(sites));
}

at::Tensor LlamaModelImpl::prefill(const at::Tensor& ids, LlamaCache& cache,
                                   nn::DeltaSites* sites) {
  if (ids.dim() != 2)
    throw Error("llama prefill: expected ids [B, L], got " + c10::str(ids.sizes()));
  int64_t prefix = 0;
  prefixes(sites, ids.size(0), cache.key, cache.value, &prefix);
  at::Tensor x = at::embedding(
      nn::tower_tensor_or(sites, "model.embed_tokens.weight", model->embed_tokens->weight), ids);
  if (sites) x = sites->input_tokens(x, ids);
  return run_layers(x, sites, cache.key, cache.value, prefix);
}

at::Tensor LlamaModelImpl::continuation_states(const LlamaCache& cache, const at::Tensor& rows,
                                               const at::Tensor& visible, const at::Tensor& new_ids,
                                               nn::DeltaSites* sites) {
  const int64_t layers = config_.num_hidden_layers;
  if (cache.key.size() != static_cast<size_t>(layers) || new_ids.dim() != 2 ||
      rows.numel() != new_ids.size(0) || visible.numel() != new_ids.size(0)) {
    throw Error("llama continuation: a cache of " + std::to_string(cache.key.size()) +
                " layers, rows " + c10::str(rows.sizes()) + ", visible " +
                c10::str(visible.sizes()) + " and ids " + c10::str(new_ids.sizes()) +
                " do not fit a " + std::to_string(layers) + "-layer model");
  }
  const int64_t past = cache.length(), m = new_ids.size(1);
  const auto options = at::TensorOptions(new_ids.device()).dtype(at::kLong);
  // Row n sees past positions < visible[n], then its own tokens causally.
  const at::Tensor hidden_past = at::arange(past, options).unsqueeze(0).ge(visible.unsqueeze(1));
  const at::Tensor own = at::ones({m, m}, options.dtype(at::kBool)).triu(1);
  const at::Tensor blocked = at::cat({hidden_past.unsqueeze(1).expand({-1, m, past}),
                                      own.unsqueeze(0).expand({new_ids.size(0), m, m})},
                                     2);
  nn::ModuleSitesOnly later(sites);
  nn::DeltaSites* module_sites = later.has_module_sites() ? &later : nullptr;
  at::Tensor x = at::embedding(
      nn::tower_tensor_or(sites, "model.embed_tokens.weight", model->embed_tokens->weight),
      new_ids);
  const at::Tensor mask = at::zeros(blocked.sizes(), x.options())
                              .masked_fill_(blocked, -std::numeric_limits<float>::infinity());
  const Rotary rotary = rotary_tables_at(config_.head_dim(), config_.rope_theta,
                                         visible.unsqueeze(1) + at::arange(m, options));
  for (int64_t l = 0; l < layers; ++l) {
    at::Tensor key = cache.key[l].index_select(0, rows);
    at::Tensor value = cache.value[l].index_select(0, rows);
    x = model->layer_list[l]->forward(x, rotary, key, value, module_sites, l, mask);
  }
  return model->norm->forward(x, nn::norm_delta(module_sites, -1, nn::NormSite::kFinal));
}

at::Tensor LlamaModelImpl::decode_step(const at::Tensor& new_ids, LlamaCache& cache,
                                       const at::Tensor& visible, const at::Tensor& positions,
                                       nn::DeltaSites* sites) {
  const int64_t layers = config_.num_hidden_layers;
  const int64_t rows = new_ids.size(0);
  if (new_ids.dim() != 2 || new_ids.size(1) != 1 ||
      cache.key.size() != static_cast<size_t>(layers) || visible.dim() != 2 ||
      visible.size(0) != rows || visible.size(1) != cache.length() || positions.numel() != rows) {
    throw Error("llama decode_step: ids " + c10::str(new_ids.sizes()) + " (expected [N, 1]), " +
                "visible " + c10::str(visible.sizes()) + " and positions " +
                c10::str(positions.sizes()) + " do not fit a cache of " +
                std::to_string(cache.key.size()) + " layers and " + std::to_string(cache.length()) +
                " columns");
  }
  nn::ModuleSitesOnly later(sites);
  nn::DeltaSites* module_sites = later.has_module_sites() ? &later : nullptr;
  at::Tensor x = at::embedding(
      nn::tower_tensor_or(sites, "model.embed_tokens.weight", model->embed_tokens->weight),
      new_ids);
  // Row n's query sees its visible columns and itself (the new column).
  const at::Tensor blocked =
      at::cat({visible.logical_not(), at::zeros({rows, 1}, visible.options())}, 1).unsqueeze(1);
  const at::Tensor mask = at::zeros(blocked.sizes(), x.options())
                              .masked_fill_(blocked, -std::numeric_limits<float>::infinity());
  const Rotary rotary = rotary_tables_at(config_.head_dim(), config_.rope_theta,
                                         positions.to(at::kLong).view({rows, 1}));
  for (int64_t l = 0; l < layers; ++l)
    x = model->layer_list[l]->forward(x, rotary, cache.key[l], cache.value[l], module_sites, l,
                                      mask);
  x = model->norm->forward(x, nn::norm_delta(module_sites, -1, nn::NormSite::kFinal));
  return at::linear(x.squeeze(1), head_weight(sites));
}

}  // namespace vlprompt::models::llama
