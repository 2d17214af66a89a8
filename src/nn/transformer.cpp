#include "src/nn/transformer.h"

#include <string>

#include "src/core/error.h"
#include "src/nn/autograd_records.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::nn {

at::Tensor quick_gelu(const at::Tensor& x) { return x * at::sigmoid(x * 1.702); }

MlpImpl::MlpImpl(int64_t width) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * width, width));
}

at::Tensor MlpImpl::forward(const at::Tensor& x, DeltaSites* sites, int64_t layer) {
  // QuickGELU as one elementwise op: x * sigmoid(1.702 x) = silu(1.702 x) / 1.702, with the 1.702
  // folded into the first GEMM's alpha (and its small bias) and the 1 / 1.702 into the second
  // GEMM's alpha. Inference runs it in place; with a graph it is one recorded op whose backward
  // is one pass (silu_backward), where the literal formula records three and replays five,
  // which is what a prompt's backward through a frozen tower spends its elementwise time on.
  constexpr double k = 1.702;
  const bool graph = autograd_records({x, c_fc->weight, c_fc->bias, c_proj->weight, c_proj->bias});
  const int64_t width = x.size(-1);
  auto sizes = x.sizes().vec();
  const at::Tensor x2 = x.reshape({-1, width});
  // A projection with a delta runs through apply_linear, its scale applied after; the other keeps
  // the folded GEMM, so a delta on one projection leaves the other's rounding as it was.
  const auto up = linear_delta(sites, layer, LinearSite::kUp);
  const auto down = linear_delta(sites, layer, LinearSite::kDown);
  at::Tensor h = up ? apply_linear(x2, c_fc->weight, c_fc->bias, up) * k
                    : at::addmm(c_fc->bias * k, x2, c_fc->weight.t(), /*beta=*/1, /*alpha=*/k);
  h = graph || up ? at::silu(h) : at::silu_(h);
  at::Tensor out =
      down ? apply_linear(h * (1.0 / k), c_proj->weight, c_proj->bias, down)
           : at::addmm(c_proj->bias, h, c_proj->weight.t(), /*beta=*/1, /*alpha=*/1.0 / k);
  sizes.back() = out.size(-1);
  return out.view(sizes);
}

namespace {
torch::nn::LayerNorm layer_norm(int64_t width) {
  // OpenAI's LayerNorm: eps 1e-5, computed in fp32.
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5));
}
}  // namespace

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int64_t width, int64_t heads) {
  ln_1 = register_module("ln_1", layer_norm(width));
  attn = register_module("attn", SelfAttention(SelfAttentionOptions(width, heads)));
  ln_2 = register_module("ln_2", layer_norm(width));
  mlp = register_module("mlp", Mlp(width));
}

namespace {
at::Tensor norm_with_site(torch::nn::LayerNorm& ln, DeltaSites* sites, int64_t layer, NormSite site,
                          const at::Tensor& in) {
  const auto delta = norm_delta(sites, layer, site);
  return delta ? apply_layer_norm(in, ln->weight, ln->bias, 1e-5, delta) : ln->forward(in);
}
}  // namespace

at::Tensor ResidualAttentionBlockImpl::forward(const at::Tensor& x,
                                               const std::optional<KVPrefix>& prefix, bool causal,
                                               DeltaSites* sites, int64_t layer,
                                               KVPrefix* keys_values_out,
                                               const RowPacking* packing) {
  // The residual adds go in place into the fresh sublayer outputs: the GEMMs (and the module
  // sites' final add or scale) that made them keep no reference to their outputs for backward,
  // so autograd is unaffected, and two [B, L, width] allocations per block are saved.
  if (!sites) {
    at::Tensor h =
        attn->forward(ln_1->forward(x), prefix, causal, nullptr, layer, keys_values_out, packing)
            .add_(x);
    return mlp->forward(ln_2->forward(h)).add_(h);
  }
  at::Tensor a = attn->forward(norm_with_site(ln_1, sites, layer, NormSite::kAttention, x), prefix,
                               causal, sites, layer, keys_values_out, packing);
  at::Tensor h = sites->sublayer_output(layer, Sublayer::kAttention, a) + x;
  at::Tensor m = mlp->forward(norm_with_site(ln_2, sites, layer, NormSite::kMlp, h), sites, layer);
  return sites->sublayer_output(layer, Sublayer::kMlp, m) + h;
}

KVPrefix ResidualAttentionBlockImpl::keys_values(const at::Tensor& x, DeltaSites* sites,
                                                 int64_t layer) {
  return attn->keys_values(norm_with_site(ln_1, sites, layer, NormSite::kAttention, x), sites,
                           layer);
}

TransformerImpl::TransformerImpl(const TransformerOptions& options) : options_(options) {
  if (options.width() <= 0 || options.layers() < 0 || options.heads() <= 0 ||
      options.width() % options.heads() != 0) {
    throw Error("transformer: width " + std::to_string(options.width()) + ", layers " +
                std::to_string(options.layers()) + ", heads " + std::to_string(options.heads()) +
                " (width must be a positive multiple of heads)");
  }
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < options.layers(); ++l) {
    resblocks->push_back(ResidualAttentionBlock(options.width(), options.heads()));
  }
}

at::Tensor TransformerImpl::forward(const at::Tensor& input, DeltaSites* sites) {
  if (input.dim() != 3 || input.size(2) != options_.width()) {
    throw Error("transformer: expected input [B, L, " + std::to_string(options_.width()) +
                "], got " + c10::str(input.sizes()));
  }
  at::Tensor x = input;
  const int64_t batch = x.size(0);
  DeltaSites* module_sites = sites && sites->has_module_sites() ? sites : nullptr;
  for (int64_t l = 0; l < options_.layers(); ++l) {
    std::optional<KVPrefix> prefix;
    if (sites) {
      x = apply_layer_tokens(sites, l, x);
      prefix = sites->kv_prefix(l, batch);
    }
    x = resblocks[l]->as<ResidualAttentionBlockImpl>()->forward(x, prefix, options_.causal(),
                                                                module_sites, l);
  }
  return x;
}

at::Tensor TransformerImpl::forward_shared_prefix(const at::Tensor& prefix, const at::Tensor& rest,
                                                  const at::Tensor& lengths,
                                                  const at::Tensor& groups, DeltaSites* sites) {
  const int64_t width = options_.width();
  if (!options_.causal()) {
    throw Error("transformer: a shared prefix needs a causal tower (later tokens would change it)");
  }
  if (prefix.dim() != 3 || rest.dim() != 3 || prefix.size(2) != width || rest.size(2) != width ||
      (!groups.defined() && prefix.size(0) != 1) ||
      (groups.defined() && groups.numel() != rest.size(0)) || lengths.numel() != rest.size(0)) {
    throw Error("transformer: shared prefix " + c10::str(prefix.sizes()) + " and rows " +
                c10::str(rest.sizes()) + " with groups " +
                (groups.defined() ? c10::str(groups.sizes()) : std::string("(one)")) +
                " do not fit a width-" + std::to_string(width) + " tower");
  }
  const int64_t num_groups = prefix.size(0), batch = rest.size(0);
  DeltaSites* module_sites = sites && sites->has_module_sites() ? sites : nullptr;
  // Each group's keys and values, one per row: a free expand for one group, else a gather.
  auto per_row = [&](const at::Tensor& t) {
    return groups.defined() ? t.index_select(0, groups) : t.expand({batch, t.size(1), t.size(2)});
  };
  const RowPacking packing(lengths, rest.size(1));
  at::Tensor p = prefix, x = packing.pack(rest);
  for (int64_t l = 0; l < options_.layers(); ++l) {
    auto* block = resblocks[l]->as<ResidualAttentionBlockImpl>();
    std::optional<KVPrefix> site_prefix_p, site_prefix_x;
    if (sites) {
      site_prefix_p = sites->kv_prefix(l, num_groups);
      site_prefix_x = sites->kv_prefix(l, batch);
    }
    KVPrefix shared;
    if (l + 1 < options_.layers()) {
      p = block->forward(p, site_prefix_p, options_.causal(), module_sites, l, &shared);
    } else {
      shared = block->keys_values(p, module_sites, l);  // no later layer reads the prefix
    }
    KVPrefix seen{per_row(shared.key), per_row(shared.value)};
    if (site_prefix_x) {
      seen = {at::cat({site_prefix_x->key.to(seen.key.dtype()), seen.key}, 1),
              at::cat({site_prefix_x->value.to(seen.value.dtype()), seen.value}, 1)};
    }
    x = block->forward(x, seen, options_.causal(), module_sites, l, nullptr, &packing);
  }
  return x[0].index_select(0, packing.last_positions());
}

}  // namespace vlprompt::nn
