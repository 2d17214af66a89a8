// The frozen transformer: OpenAI's parameter names and shapes, the attention math per head, the
// causal mask, and the two delta sites that live inside it (layer tokens, key/value prefix).
#include "src/nn/transformer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "src/core/error.h"

namespace vlprompt::nn {
namespace {

// Random weights (the constructor leaves some tensors zero), frozen like a loaded backbone.
Transformer make_transformer(int64_t width, int64_t layers, int64_t heads, bool causal,
                             uint64_t seed = 0) {
  Transformer t(TransformerOptions(width, layers, heads).causal(causal));
  at::manual_seed(seed);
  at::NoGradGuard no_grad;
  for (auto& p : t->parameters()) {
    p.copy_(at::randn_like(p) * 0.3);
    p.requires_grad_(false);
  }
  return t;
}

// One block written out head by head, straight from the definitions.
at::Tensor reference_block(ResidualAttentionBlockImpl& b, const at::Tensor& x, int64_t heads,
                           bool causal) {
  const int64_t width = x.size(2), length = x.size(1), hd = width / heads;
  auto ln = [](const at::Tensor& t, torch::nn::LayerNorm& m) {
    const at::Tensor mean = t.mean(-1, true);
    const at::Tensor var = (t - mean).pow(2).mean(-1, true);
    return (t - mean) / at::sqrt(var + 1e-5) * m->weight + m->bias;
  };
  const at::Tensor h = ln(x, b.ln_1);
  const at::Tensor w = b.attn->in_proj_weight, bias = b.attn->in_proj_bias;
  std::vector<at::Tensor> outs;
  for (int64_t i = 0; i < heads; ++i) {
    auto proj = [&](int64_t which) {
      const int64_t row = which * width + i * hd;
      return at::matmul(h, w.narrow(0, row, hd).t()) + bias.narrow(0, row, hd);
    };
    at::Tensor scores = at::matmul(proj(0), proj(1).transpose(1, 2)) / std::sqrt(double(hd));
    if (causal) {
      const at::Tensor future = at::ones({length, length}, at::kBool).triu(1);
      scores = scores.masked_fill(future, -INFINITY);
    }
    outs.push_back(at::matmul(at::softmax(scores, -1), proj(2)));
  }
  at::Tensor a =
      at::matmul(at::cat(outs, -1), b.attn->out_proj->weight.t()) + b.attn->out_proj->bias;
  at::Tensor y = x + a;
  at::Tensor m = at::matmul(ln(y, b.ln_2), b.mlp->c_fc->weight.t()) + b.mlp->c_fc->bias;
  m = m * at::sigmoid(1.702 * m);
  return y + at::matmul(m, b.mlp->c_proj->weight.t()) + b.mlp->c_proj->bias;
}

TEST(Transformer, ParameterNamesAndShapesAreOpenAIs) {
  Transformer t(TransformerOptions(32, 2, 4));
  const auto params = t->named_parameters();
  ASSERT_EQ(params.size(), 2u * 12u);
  EXPECT_EQ(params["resblocks.1.attn.in_proj_weight"].sizes(), at::IntArrayRef({96, 32}));
  EXPECT_EQ(params["resblocks.1.attn.in_proj_bias"].sizes(), at::IntArrayRef({96}));
  EXPECT_EQ(params["resblocks.0.attn.out_proj.weight"].sizes(), at::IntArrayRef({32, 32}));
  EXPECT_EQ(params["resblocks.0.attn.out_proj.bias"].sizes(), at::IntArrayRef({32}));
  EXPECT_EQ(params["resblocks.0.mlp.c_fc.weight"].sizes(), at::IntArrayRef({128, 32}));
  EXPECT_EQ(params["resblocks.0.mlp.c_proj.weight"].sizes(), at::IntArrayRef({32, 128}));
  for (const char* n :
       {"resblocks.0.ln_1.weight", "resblocks.0.ln_1.bias", "resblocks.0.ln_2.weight",
        "resblocks.0.ln_2.bias", "resblocks.0.mlp.c_fc.bias", "resblocks.0.mlp.c_proj.bias"}) {
    EXPECT_TRUE(params.contains(n)) << n;
  }
}

TEST(Transformer, RejectsWidthNotDivisibleByHeads) {
  EXPECT_THROW(Transformer(TransformerOptions(30, 1, 4)), Error);
}

TEST(Transformer, QuickGeluIsSigmoidOf1702) {
  const at::Tensor x = at::linspace(-4, 4, 17);
  EXPECT_TRUE(at::allclose(quick_gelu(x), x * at::sigmoid(1.702 * x), 0, 1e-7));
  EXPECT_NEAR(quick_gelu(at::full({1}, 1.0)).item<double>(), 1.0 / (1.0 + std::exp(-1.702)), 1e-6);
}

TEST(Transformer, BlockMatchesPerHeadReference) {
  for (bool causal : {false, true}) {
    Transformer t = make_transformer(24, 1, 3, causal);
    const at::Tensor x = at::randn({2, 5, 24});
    auto* block = t->resblocks[0]->as<ResidualAttentionBlockImpl>();
    const at::Tensor expected = reference_block(*block, x, 3, causal);
    EXPECT_LE((t->forward(x) - expected).abs().max().item<double>(), 1e-5) << causal;
  }
}

TEST(Transformer, CausalOutputIgnoresLaterTokens) {
  Transformer causal = make_transformer(16, 2, 2, true);
  Transformer full = make_transformer(16, 2, 2, false);
  const at::Tensor x = at::randn({1, 6, 16});
  at::Tensor changed = x.clone();
  changed.select(1, 4).add_(at::randn({1, 16}));  // not a constant: LayerNorm removes those
  const at::Tensor a = causal->forward(x), b = causal->forward(changed);
  EXPECT_LE((a.narrow(1, 0, 4) - b.narrow(1, 0, 4)).abs().max().item<double>(), 1e-6);
  EXPECT_GT((a.select(1, 4) - b.select(1, 4)).abs().max().item<double>(), 1e-3);
  const at::Tensor c = full->forward(x), d = full->forward(changed);
  EXPECT_GT((c.select(1, 0) - d.select(1, 0)).abs().max().item<double>(), 1e-3);
}

// A span replaced before layer 1 by a learnable tensor; a key/value prefix at layer 0.
class TestSites : public DeltaSites {
 public:
  at::Tensor span;        // [1, 2, width], replaces positions 1..2 before layer 1
  at::Tensor key, value;  // [1, P, width] at layer 0
  std::vector<int64_t> seen_layers;

  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override {
    seen_layers.push_back(layer);
    if (layer != 1 || !span.defined()) return x;
    const int64_t b = x.size(0);
    return at::cat({x.narrow(1, 0, 1), span.expand({b, -1, -1}), x.narrow(1, 3, x.size(1) - 3)}, 1);
  }
  std::optional<KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    if (layer != 0 || !key.defined()) return std::nullopt;
    return KVPrefix{key.expand({batch, -1, -1}), value.expand({batch, -1, -1})};
  }
};

void expect_grads_only_on(Transformer& t, const std::vector<at::Tensor>& deltas) {
  for (const auto& p : t->named_parameters()) {
    EXPECT_FALSE(p.value().grad().defined()) << p.key();
  }
  for (const auto& d : deltas) {
    ASSERT_TRUE(d.grad().defined());
    EXPECT_GT(d.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(Transformer, LayerTokensReplaceASpanAndTrainOnlyTheDelta) {
  Transformer t = make_transformer(16, 3, 2, false);
  const at::Tensor x = at::randn({2, 6, 16});
  TestSites sites;
  sites.span = (at::randn({1, 2, 16}) * 0.5).requires_grad_(true);
  const at::Tensor plain = t->forward(x);
  const at::Tensor out = t->forward(x, &sites);
  EXPECT_EQ(sites.seen_layers, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(out.sizes(), plain.sizes());
  EXPECT_GT((out - plain).abs().max().item<double>(), 1e-3);
  out.pow(2).sum().backward();
  expect_grads_only_on(t, {sites.span});
}

TEST(Transformer, LayerTokensMayNotChangeLengthAfterLayerZero) {
  class Grow : public DeltaSites {
    at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override {
      return layer == 1 ? at::cat({x, x}, 1) : x;
    }
  } grow;
  Transformer t = make_transformer(16, 2, 2, false);
  EXPECT_THROW(t->forward(at::randn({1, 3, 16}), &grow), Error);
}

TEST(Transformer, KVPrefixEqualsPrependedTokensUnderCausalMask) {
  // With one layer, attending to a prefix of projected keys/values is exactly prepending the
  // tokens they came from: under the causal mask every real token sees the whole prefix.
  Transformer t = make_transformer(16, 1, 2, true);
  auto* block = t->resblocks[0]->as<ResidualAttentionBlockImpl>();
  const at::Tensor prefix_tokens = at::randn({2, 3, 16});
  const at::Tensor x = at::randn({2, 5, 16});
  const at::Tensor kv = at::linear(block->ln_1->forward(prefix_tokens), block->attn->in_proj_weight,
                                   block->attn->in_proj_bias);
  TestSites sites;
  sites.key = kv.narrow(2, 16, 16).narrow(0, 0, 1);
  sites.value = kv.narrow(2, 32, 16).narrow(0, 0, 1);
  const at::Tensor prepended =
      t->forward(at::cat({prefix_tokens.narrow(0, 0, 1).expand({2, -1, -1}), x}, 1));
  const at::Tensor with_prefix = t->forward(x, &sites);
  EXPECT_LE((with_prefix - prepended.narrow(1, 3, 5)).abs().max().item<double>(), 1e-5);
}

TEST(Transformer, KVPrefixTrainsOnlyTheDelta) {
  Transformer t = make_transformer(16, 2, 2, true);
  const at::Tensor x = at::randn({2, 4, 16});
  TestSites sites;
  sites.key = at::randn({1, 3, 16}).requires_grad_(true);
  sites.value = at::randn({1, 3, 16}).requires_grad_(true);
  const at::Tensor plain = t->forward(x);
  const at::Tensor out = t->forward(x, &sites);
  // The first token sees the prefix too: the causal mask covers only the real tokens.
  EXPECT_GT((out.select(1, 0) - plain.select(1, 0)).abs().max().item<double>(), 1e-3);
  out.sum().backward();
  expect_grads_only_on(t, {sites.key, sites.value});
}

TEST(Transformer, KVPrefixOfWrongWidthIsAnError) {
  Transformer t = make_transformer(16, 1, 2, false);
  TestSites sites;
  sites.key = at::randn({1, 3, 8});
  sites.value = at::randn({1, 3, 8});
  try {
    t->forward(at::randn({1, 4, 16}), &sites);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kv_prefix key"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vlprompt::nn
