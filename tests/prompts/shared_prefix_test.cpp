// Shared-prefix text encoding (nn::SharedPrefix, Transformer::forward_shared_prefix): the rows'
// common leading positions run once per group, and features and gradients equal the plain pass
// (every row truncated at its end-of-text, and all 77 tokens) for each delta that declares a
// prefix; the layouts that share nothing (class-specific context, front) fall back to it.
#include "src/nn/shared_prefix.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "prompts/cocoop.h"
#include "prompts/coop.h"
#include "prompts/dapl.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/delta/delta_stack.h"
#include "src/nn/row_packing.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using models::TextPositions;
using testing::clip_tokenizer;
using testing::tiny_clip;

const std::vector<std::string> kNames = {"dog", "sea_lion", "golden retriever", "x ray", "cat"};

struct Pass {
  at::Tensor features;
  std::vector<at::Tensor> grads;  // of the delta's parameters, in order
};

// Features of `ids` through the delta's text sites, and the gradients of a fixed random linear
// function of them (every feature entry weighs in, not only their sum).
Pass run(models::Clip& clip, delta::Delta& d, const at::Tensor& ids,
         const delta::SiteContext& context, TextPositions positions) {
  for (auto& p : d.parameters()) p.mutable_grad() = at::Tensor();
  Pass out;
  out.features = clip->encode_text(ids, d.sites(delta::Tower::kText, context), positions);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor weights = at::empty(out.features.sizes()).normal_(0, 1, generator);
  (out.features * weights).sum().backward();
  for (auto& p : d.parameters()) {
    if (p.requires_grad()) out.grads.push_back(p.grad().clone());
  }
  return out;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// The shared pass against truncation and all 77 tokens; returns the planned prefix length.
int64_t expect_exact(models::Clip& clip, delta::Delta& d, const at::Tensor& ids,
                     const delta::SiteContext& context = {}) {
  const Pass shared = run(clip, d, ids, context, TextPositions::kSharedPrefix);
  for (TextPositions plain : {TextPositions::kTruncated, TextPositions::kFull}) {
    SCOPED_TRACE(plain == TextPositions::kFull ? "77 tokens" : "truncated");
    const Pass reference = run(clip, d, ids, context, plain);
    EXPECT_LE(max_diff(shared.features, reference.features), 1e-5);
    EXPECT_GT(reference.features.abs().max().item<double>(), 1e-2);
    EXPECT_EQ(shared.grads.size(), reference.grads.size());
    EXPECT_FALSE(shared.grads.empty());
    for (size_t i = 0; i < shared.grads.size() && i < reference.grads.size(); ++i) {
      // Within 1e-5 of the gradient's own scale: these sum over every row (up to ~100 here),
      // where float32 rounds at ~1e-5 absolute whichever pass runs.
      const double scale = reference.grads[i].abs().max().item<double>();
      EXPECT_LE(max_diff(shared.grads[i], reference.grads[i]), 1e-5 * std::max(1.0, scale))
          << "gradient " << i;
      EXPECT_GT(scale, 1e-6) << "gradient " << i;
    }
  }
  nn::DeltaSites* sites = d.sites(delta::Tower::kText, context);
  return nn::plan_shared_prefix(ids, ids.argmax(-1), sites->shared_prefix()).length;
}

class SharedPrefixTest : public ::testing::Test {
 protected:
  models::Clip clip_ = tiny_clip(2);

  CoOp coop(CoOpOptions options) {
    return CoOp(options.seed(4).init_std(0.5), clip_, clip_tokenizer(), kNames);
  }
};

TEST_F(SharedPrefixTest, UnifiedCoOpSharesStartAndContextAndIsExact) {
  CoOp c = coop(CoOpOptions().n_ctx(16));
  EXPECT_EQ(expect_exact(clip_, *c, c->token_ids()), 17) << "[SOS][ctx x 16]";
}

TEST_F(SharedPrefixTest, MiddleSharesTheFirstHalfOfTheContext) {
  CoOp c = coop(CoOpOptions().n_ctx(8).class_token_position("middle"));
  EXPECT_EQ(expect_exact(clip_, *c, c->token_ids()), 1 + 4);
}

TEST_F(SharedPrefixTest, ClassSpecificContextAndFrontFallBackToThePlainPass) {
  CoOp csc = coop(CoOpOptions().n_ctx(8).csc(true));
  EXPECT_EQ(expect_exact(clip_, *csc, csc->token_ids()), 0);
  CoOp front = coop(CoOpOptions().n_ctx(8).class_token_position("front"));
  EXPECT_EQ(expect_exact(clip_, *front, front->token_ids()), 0);
}

TEST_F(SharedPrefixTest, ASubsetOfClassRowsRepeatedStillShares) {
  CoOp c = coop(CoOpOptions().n_ctx(4));
  delta::SiteContext context;
  context.prompt_rows = at::tensor(std::vector<int64_t>{3, 0, 3, 1}, at::kLong);
  const at::Tensor ids = c->token_ids().index_select(0, context.prompt_rows);
  EXPECT_EQ(expect_exact(clip_, *c, ids, context), 5);
}

TEST_F(SharedPrefixTest, CoCoOpRowsShareTheirImagesPrefix) {
  CoCoOp c(CoCoOpOptions().seed(3), clip_, clip_tokenizer(), kNames);
  const int64_t images = 3, classes = static_cast<int64_t>(kNames.size());
  at::manual_seed(7);
  delta::SiteContext context;
  context.prompt_rows = at::arange(classes, at::kLong).repeat({images});
  context.image_rows = at::arange(images, at::kLong).repeat_interleave(classes);
  context.image_features = at::randn({images, clip_->config().embed_dim});
  const at::Tensor ids = c->class_prompt_ids().index_select(0, context.prompt_rows);
  EXPECT_EQ(expect_exact(clip_, *c, ids, context), 1 + 4) << "[SOS][ctx + bias x 4] per image";
}

TEST_F(SharedPrefixTest, DaplRowsShareTheirDomainsPrefix) {
  Dapl unified(DaplOptions().n_ctx(2).n_dmx(3).seed(3).domains("opencv,Real_World"), clip_,
               clip_tokenizer(), kNames);
  EXPECT_EQ(expect_exact(clip_, *unified, unified->class_prompt_ids()), 1 + 2 + 3);
  Dapl csc(DaplOptions().n_ctx(2).n_dmx(3).csc(true).seed(3).domains("opencv,Real_World"), clip_,
           clip_tokenizer(), kNames);
  EXPECT_EQ(expect_exact(clip_, *csc, csc->class_prompt_ids()), 0);
}

std::shared_ptr<delta::Delta> module_delta(const std::string& method, const models::Clip& clip,
                                           std::map<std::string, std::string> keys) {
  MethodContext context;
  context.clip = clip;
  context.tokenizer = clip_tokenizer();
  context.classnames = kNames;
  context.seed = 3;
  return make_delta(method, core::config_from_strings(keys, "test"), context);
}

TEST_F(SharedPrefixTest, ModuleDeltasStackedWithCoOpShareAndDropoutStopsIt) {
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  CoOp c = coop(CoOpOptions().n_ctx(4));
  stack->add("lora", module_delta("lora", clip_, {{"lora.towers", "text"}}));
  stack->add("coop", c);
  stack->add("adapter", module_delta("adapter", clip_, {{"adapter.towers", "text"}}));
  {
    // LoRA's B and the adapters' up-projections start at zero: move them so every term counts.
    at::NoGradGuard no_grad;
    for (auto& p : stack->parameters()) p.add_(at::randn(p.sizes()) * 0.05);
  }
  EXPECT_EQ(expect_exact(clip_, *stack, c->token_ids()), 5);
  auto dropping = module_delta("lora", clip_, {{"lora.towers", "text"}, {"lora.dropout", "0.1"}});
  const delta::SiteContext none;
  dropping->train();
  EXPECT_EQ(dropping->sites(delta::Tower::kText, none)->shared_prefix().length, 0)
      << "dropout draws per token while training";
  dropping->eval();
  EXPECT_EQ(dropping->sites(delta::Tower::kText, none)->shared_prefix().length,
            nn::SharedPrefix::kUnlimited);
}

TEST_F(SharedPrefixTest, HandWrittenPromptsShareTheirTemplateWithoutADelta) {
  const at::Tensor ids = clip_tokenizer()->tokenize(
      {"a photo of a dog.", "a photo of a sea lion.", "a photo of a golden retriever."});
  EXPECT_EQ(
      nn::plan_shared_prefix(ids, ids.argmax(-1), {nn::SharedPrefix::kUnlimited, at::Tensor()})
          .length,
      5)
      << "[SOS] a photo of a";
  at::NoGradGuard no_grad;
  EXPECT_LE(max_diff(clip_->encode_text(ids),
                     clip_->encode_text(ids, nullptr, TextPositions::kTruncated)),
            1e-5);
}

// A key/value prefix alike for every row, declaring no limit: the shared pass hands it to the
// group prefixes and to the rows.
class SameKeyValuePrefix : public nn::DeltaSites {
 public:
  SameKeyValuePrefix(int64_t layers, int64_t width) {
    at::manual_seed(9);
    for (int64_t l = 0; l < layers; ++l) {
      keys_.push_back(at::randn({1, 2, width}, at::requires_grad()));
      values_.push_back(at::randn({1, 2, width}, at::requires_grad()));
    }
  }
  std::optional<nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    return nn::KVPrefix{keys_[layer].expand({batch, 2, keys_[layer].size(2)}),
                        values_[layer].expand({batch, 2, values_[layer].size(2)})};
  }
  nn::SharedPrefix shared_prefix() const override { return {nn::SharedPrefix::kUnlimited, {}}; }

 private:
  std::vector<at::Tensor> keys_, values_;
};

TEST_F(SharedPrefixTest, AKeyValuePrefixReachesPrefixAndRows) {
  SameKeyValuePrefix sites(clip_->config().text.layers, clip_->config().text.width);
  const at::Tensor ids =
      clip_tokenizer()->tokenize({"a photo of a dog.", "a photo of a sea lion.", "a photo of x."});
  at::NoGradGuard no_grad;
  const at::Tensor shared = clip_->encode_text(ids, &sites);
  const at::Tensor plain = clip_->encode_text(ids, &sites, TextPositions::kTruncated);
  EXPECT_LE(max_diff(shared, plain), 1e-5);
  EXPECT_GT(max_diff(plain, clip_->encode_text(ids)), 1e-3) << "the prefix changes the features";
}

TEST(SharedPrefixPlan, BadGroupsAreErrorsAndLabelsAreRenumbered) {
  const at::Tensor ids =
      at::tensor(std::vector<int64_t>{1, 2, 3, 9, 1, 2, 4, 9, 1, 2, 3, 9}, at::kLong).view({3, 4});
  const at::Tensor ends = at::full({3}, 3, at::kLong);
  try {
    nn::plan_shared_prefix(ids, ends, {nn::SharedPrefix::kUnlimited, at::zeros({2}, at::kLong)});
    FAIL() << "two group labels for three rows";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("for a batch of 3 rows"), std::string::npos) << e.what();
  }
  // Labels 7 and 40: rows 0 and 2 together (3 positions alike), row 1 alone.
  const nn::SharedPrefixPlan plan = nn::plan_shared_prefix(
      ids, ends,
      {nn::SharedPrefix::kUnlimited, at::tensor(std::vector<int64_t>{7, 40, 7}, at::kLong)});
  EXPECT_EQ(plan.length, 3);
  EXPECT_TRUE(at::equal(plan.groups, at::tensor(std::vector<int64_t>{0, 1, 0}, at::kLong)));
  EXPECT_TRUE(at::equal(plan.representatives, at::tensor(std::vector<int64_t>{0, 1}, at::kLong)));
  // One group: the rows differ at position 2.
  EXPECT_EQ(nn::plan_shared_prefix(ids, ends, {nn::SharedPrefix::kUnlimited, {}}).length, 2);
  // The prefix stops before the earliest end.
  EXPECT_EQ(nn::plan_shared_prefix(ids, at::tensor(std::vector<int64_t>{3, 1, 3}, at::kLong),
                                   {nn::SharedPrefix::kUnlimited, {}})
                .length,
            0);
}

TEST(RowPacking, PacksTheRealPositionsRowAfterRowAndBadLengthsAreErrors) {
  // Rows of lengths 2, 3, 1 padded to 3: the packed sequence is their real positions in order.
  const at::Tensor padded = at::arange(9, at::kFloat).view({3, 3, 1});
  const nn::RowPacking packing(at::tensor(std::vector<int64_t>{2, 3, 1}, at::kLong), 3);
  EXPECT_EQ(packing.tokens(), 6);
  EXPECT_TRUE(
      at::equal(packing.pack(padded).view({-1}), at::tensor(std::vector<float>{0, 1, 3, 4, 5, 6})));
  EXPECT_TRUE(at::equal(packing.last_positions(), at::tensor(std::vector<int64_t>{1, 4, 5})));
  EXPECT_TRUE(at::equal(packing.unpack(packing.pack(padded)).view({-1}),
                        at::tensor(std::vector<float>{0, 1, 0, 3, 4, 5, 6, 0, 0})));
  for (const std::vector<int64_t>& bad : {std::vector<int64_t>{0, 2}, {2, 4}}) {
    try {
      nn::RowPacking(at::tensor(bad, at::kLong), 3);
      FAIL() << "lengths " << bad[0] << ", " << bad[1];
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("outside 1..3"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace vlprompt::prompts
