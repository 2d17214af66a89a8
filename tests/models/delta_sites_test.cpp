// Deltas reach the frozen CLIP towers only through nn::DeltaSites. Trivial deltas at each site
// must change the features, train only themselves (gradients flow *through* the frozen towers),
// and keep the text tower's truncation (run only to the last end-of-text) exact.
#include <gtest/gtest.h>

#include <vector>

#include "models/clip/load_clip.h"
#include "src/core/error.h"

namespace vlprompt::models {
namespace {

constexpr int64_t kSot = 49406, kEot = 49407, kX = 343;  // "X" is CoOp's placeholder word

// Rows of different lengths: SOT, words, ".", EOT, zero padding to 77.
at::Tensor token_ids() {
  const std::vector<std::vector<int64_t>> rows = {
      {kSot, kX, kX, kX, kX, 320, 1125, 539, 320, 2368, 269, kEot},
      {kSot, kX, kX, kX, kX, 2368, 269, kEot},
      {kSot, kX, kX, kX, kX, 320, 2103, 1125, 539, 518, 1615, 269, kEot}};
  at::Tensor ids = at::zeros({3, 77}, at::kLong);
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) ids[i][j] = rows[i][j];
  }
  return ids;
}

// A learnable tensor added to every image token before ln_pre (a shallow visual prompt).
class AddToImageTokens : public nn::DeltaSites {
 public:
  explicit AddToImageTokens(int64_t tokens, int64_t width)
      : delta(at::randn({1, tokens, width}).mul_(0.5).requires_grad_(true)) {}
  at::Tensor input_tokens(const at::Tensor& x, const at::Tensor& ids) override {
    EXPECT_FALSE(ids.defined());
    return x + delta;
  }
  at::Tensor delta;
};

// CoOp: the 4 placeholder positions after SOT replaced by learned context vectors.
class ReplaceContext : public nn::DeltaSites {
 public:
  explicit ReplaceContext(int64_t width)
      : context(at::randn({4, width}).mul_(0.1).requires_grad_(true)) {}
  at::Tensor input_tokens(const at::Tensor& x, const at::Tensor& ids) override {
    const int64_t b = x.size(0);
    return at::cat({x.narrow(1, 0, 1), context.unsqueeze(0).expand({b, -1, -1}),
                    x.narrow(1, 5, x.size(1) - 5)},
                   1);
  }
  at::Tensor context;
};

// Tokens inserted right after SOT (the sequence grows; EOT moves right by their number).
class InsertAfterStart : public nn::DeltaSites {
 public:
  explicit InsertAfterStart(at::Tensor tokens) : inserted(std::move(tokens)) {}
  at::Tensor input_tokens(const at::Tensor& x, const at::Tensor& ids) override {
    const int64_t b = x.size(0);
    return at::cat({x.narrow(1, 0, 1), inserted.unsqueeze(0).expand({b, -1, -1}),
                    x.narrow(1, 1, x.size(1) - 1)},
                   1);
  }
  int64_t inserted_tokens() const override { return inserted.size(0); }
  at::Tensor inserted;
};

// Deep prompts: positions 1..2 replaced before layer 1.
class ReplaceSpanAtLayer1 : public nn::DeltaSites {
 public:
  explicit ReplaceSpanAtLayer1(int64_t width) : span(at::randn({2, width}).requires_grad_(true)) {}
  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override {
    if (layer != 1) return x;
    const int64_t b = x.size(0);
    return at::cat(
        {x.narrow(1, 0, 1), span.unsqueeze(0).expand({b, -1, -1}), x.narrow(1, 3, x.size(1) - 3)},
        1);
  }
  at::Tensor span;
};

// Prefix tuning: 3 learned keys and values at every layer.
class PrefixEveryLayer : public nn::DeltaSites {
 public:
  PrefixEveryLayer(int64_t layers, int64_t width)
      : keys(at::randn({layers, 3, width}).requires_grad_(true)),
        values(at::randn({layers, 3, width}).requires_grad_(true)) {}
  std::optional<nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    return nn::KVPrefix{keys[layer].unsqueeze(0).expand({batch, -1, -1}),
                        values[layer].unsqueeze(0).expand({batch, -1, -1})};
  }
  at::Tensor keys, values;
};

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

void expect_only_delta_trains(Clip& clip, const at::Tensor& loss,
                              const std::vector<at::Tensor>& deltas) {
  loss.backward();
  for (const auto& p : clip->named_parameters()) {
    EXPECT_FALSE(p.value().grad().defined()) << p.key();
  }
  for (const auto& d : deltas) {
    ASSERT_TRUE(d.grad().defined());
    EXPECT_GT(d.grad().abs().sum().item<double>(), 0.0);
  }
}

class TinyClip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vit_ = new Clip(init_clip(load_config("tiny"), 11));
    rn_ = new Clip(init_clip(load_config("tiny-rn"), 11));
  }
  static void TearDownTestSuite() {
    delete vit_;
    delete rn_;
  }
  static Clip* vit_;
  static Clip* rn_;
};
Clip* TinyClip::vit_ = nullptr;
Clip* TinyClip::rn_ = nullptr;

TEST_F(TinyClip, ImageInputTokensDelta) {
  Clip& clip = *vit_;
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  AddToImageTokens delta(17, 64);
  const at::Tensor plain = clip->encode_image(pixels);
  const at::Tensor prompted = clip->encode_image(pixels, &delta);
  EXPECT_GT(max_diff(prompted, plain), 1e-3);
  expect_only_delta_trains(clip, prompted.pow(2).sum(), {delta.delta});
}

TEST_F(TinyClip, ImageSitesOnAResNetAreRefusedNamingTheBackbone) {
  Clip& clip = *rn_;
  const at::Tensor pixels = at::randn({1, 3, 64, 64});
  AddToImageTokens delta(17, 64);
  try {
    clip->encode_image(pixels, &delta);
    FAIL() << "a visual prompt on a ModifiedResNet was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("ModifiedResNet"), std::string::npos) << msg;
    EXPECT_NE(msg.find(clip->config().name), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(clip->encode_image(pixels));
}

TEST_F(TinyClip, ImageLayerTokensDelta) {
  Clip& clip = *vit_;
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  ReplaceSpanAtLayer1 delta(64);
  const at::Tensor prompted = clip->encode_image(pixels, &delta);
  EXPECT_GT(max_diff(prompted, clip->encode_image(pixels)), 1e-3);
  expect_only_delta_trains(clip, prompted.sum(), {delta.span});
}

TEST_F(TinyClip, TextContextDeltaTrainsThroughFrozenTower) {
  Clip& clip = *vit_;
  ReplaceContext delta(64);
  const at::Tensor ids = token_ids();
  const at::Tensor prompted = clip->encode_text(ids, &delta);
  EXPECT_GT(max_diff(prompted, clip->encode_text(ids)), 1e-3);
  // A CLIP-style loss: logits against fixed image features.
  const at::Tensor logits = clip->logits(at::randn({2, 64}), prompted);
  expect_only_delta_trains(clip, at::cross_entropy_loss(logits, at::tensor({0, 2}, at::kLong)),
                           {delta.context});
}

TEST_F(TinyClip, TextLayerTokensAndPrefixDeltas) {
  Clip& clip = *vit_;
  const at::Tensor ids = token_ids();
  const at::Tensor plain = clip->encode_text(ids);
  ReplaceSpanAtLayer1 deep(64);
  const at::Tensor a = clip->encode_text(ids, &deep);
  EXPECT_GT(max_diff(a, plain), 1e-3);
  expect_only_delta_trains(clip, a.sum(), {deep.span});
  PrefixEveryLayer prefix(2, 64);
  const at::Tensor b = clip->encode_text(ids, &prefix);
  EXPECT_GT(max_diff(b, plain), 1e-3);
  expect_only_delta_trains(clip, b.sum(), {prefix.keys, prefix.values});
}

TEST_F(TinyClip, TruncatedTextEqualsFullLength) {
  at::NoGradGuard no_grad;
  const at::Tensor ids = token_ids();
  for (Clip* clip : {vit_, rn_}) {
    ReplaceContext replace(64);
    InsertAfterStart insert(at::randn({5, 64}) * 0.1);
    ReplaceSpanAtLayer1 deep(64);
    PrefixEveryLayer prefix(2, 64);
    for (nn::DeltaSites* sites :
         std::vector<nn::DeltaSites*>{nullptr, &replace, &insert, &deep, &prefix}) {
      const at::Tensor truncated = (*clip)->encode_text(ids, sites);
      const at::Tensor full = (*clip)->encode_text(ids, sites, models::TextPositions::kFull);
      EXPECT_LE(max_diff(truncated, full), 1e-5) << (*clip)->config().name;
    }
  }
}

TEST_F(TinyClip, InsertedTokensReadFeatureAtShiftedEndOfText) {
  // Inserting the embeddings of real words equals writing those words into the ids.
  at::NoGradGuard no_grad;
  Clip& clip = *vit_;
  const at::Tensor ids = token_ids();
  const at::Tensor words = at::tensor({320, 1125, 539}, at::kLong);  // "a photo of"
  InsertAfterStart insert(clip->embed_tokens(words));
  at::Tensor written = at::zeros_like(ids);
  written.narrow(1, 0, 1).copy_(ids.narrow(1, 0, 1));
  written.narrow(1, 1, 3).copy_(words.unsqueeze(0).expand({3, 3}));
  written.narrow(1, 4, 73).copy_(ids.narrow(1, 1, 73));
  EXPECT_LE(max_diff(clip->encode_text(ids, &insert), clip->encode_text(written)), 1e-5);
}

TEST_F(TinyClip, EndOfTextPastTheContextIsAnError) {
  at::NoGradGuard no_grad;
  at::Tensor ids = at::zeros({1, 77}, at::kLong);
  ids[0][0] = kSot, ids[0][75] = kEot;
  InsertAfterStart insert(at::zeros({3, 64}));
  try {
    (*vit_)->encode_text(ids, &insert);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("end-of-text token at position 78"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlprompt::models
