#include "prompts/coop.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;
using testing::tiny_clip;

const std::vector<std::string> kPets = {"dog", "sea_lion", "golden retriever", "x ray"};

class CoOpTest : public ::testing::Test {
 protected:
  models::Clip clip_ = tiny_clip();

  CoOp make(CoOpOptions options, const std::vector<std::string>& names = kPets) {
    return CoOp(options, clip_, clip_tokenizer(), names);
  }
};

TEST_F(CoOpTest, ContextShapesAndSeededInit) {
  CoOp unified = make(CoOpOptions().n_ctx(16).seed(3));
  ASSERT_EQ(unified->ctx.sizes(), (at::IntArrayRef{16, 64}));
  EXPECT_TRUE(unified->ctx.requires_grad());
  EXPECT_NEAR(unified->ctx.std().item<double>(), 0.02, 0.003);
  EXPECT_NEAR(unified->ctx.mean().item<double>(), 0.0, 0.003);
  EXPECT_TRUE(at::equal(unified->ctx, make(CoOpOptions().n_ctx(16).seed(3))->ctx));
  EXPECT_FALSE(at::equal(unified->ctx, make(CoOpOptions().n_ctx(16).seed(4))->ctx));
  CoOp csc = make(CoOpOptions().n_ctx(8).csc(true));
  EXPECT_EQ(csc->ctx.sizes(), (at::IntArrayRef{4, 8, 64}));
  // Only ctx is a parameter; the backbone is not a submodule.
  EXPECT_EQ(unified->parameters().size(), 1u);
  EXPECT_EQ(unified->named_tensors().size(), 1u);
  EXPECT_TRUE(unified->named_tensors().count("coop.ctx"));
}

TEST_F(CoOpTest, ContextInitUsesTheWordEmbeddings) {
  CoOp coop = make(CoOpOptions().ctx_init("a_photo_of_a").csc(true));
  EXPECT_EQ(coop->options().n_ctx(), 4);
  EXPECT_EQ(coop->hyperparameters().at("n_ctx"), "4");
  ASSERT_EQ(coop->ctx.sizes(), (at::IntArrayRef{4, 4, 64}));
  const auto ids = clip_tokenizer()->encode("a photo of a");
  const at::Tensor words = clip_->embed_tokens(at::tensor(ids, at::kLong).view({1, 4}))[0];
  for (int64_t c = 0; c < 4; ++c) EXPECT_TRUE(at::equal(coop->ctx[c], words));
  // With the initial context the prompt is the hand-written one: same features as plain CLIP.
  at::NoGradGuard no_grad;
  const at::Tensor plain = clip_->encode_text(
      clip_tokenizer()->tokenize({"a photo of a dog.", "a photo of a sea lion."}));
  EXPECT_LE((coop->text_features().slice(0, 0, 2) - plain).abs().max().item<double>(), 1e-5);
}

// The reference builds each prompt by concatenating token embeddings around ctx (per class for
// middle/front); the index_put site must give the same input tokens.
at::Tensor reference_prompts(const at::Tensor& end_embeddings, const at::Tensor& ctx,
                             const std::vector<int64_t>& name_lens, int64_t n_ctx,
                             const std::string& position) {
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < end_embeddings.size(0); ++i) {
    const at::Tensor prefix = end_embeddings[i].slice(0, 0, 1);
    const at::Tensor suffix = end_embeddings[i].slice(0, 1 + n_ctx);
    const at::Tensor cls = suffix.slice(0, 0, name_lens[i]);
    const at::Tensor rest = suffix.slice(0, name_lens[i]);
    const at::Tensor c = ctx.dim() == 3 ? ctx[i] : ctx;
    const int64_t h = n_ctx / 2;
    if (position == "end") {
      rows.push_back(at::cat({prefix, c, suffix}));
    } else if (position == "front") {
      rows.push_back(at::cat({prefix, cls, c, rest}));
    } else {
      rows.push_back(at::cat({prefix, c.slice(0, 0, h), cls, c.slice(0, h), rest}));
    }
  }
  return at::stack(rows);
}

TEST_F(CoOpTest, SiteMatchesTheReferenceConcatenation) {
  for (bool csc : {false, true}) {
    for (const std::string position : {"end", "middle", "front"}) {
      SCOPED_TRACE(position + (csc ? " csc" : ""));
      CoOp coop = make(CoOpOptions().n_ctx(5).csc(csc).class_token_position(position));
      // The official code's prompts, tokenized here and not taken from CoOp: "X X X X X name."
      std::vector<int64_t> name_lens;
      std::vector<std::string> official;
      for (std::string n : kPets) {
        std::replace(n.begin(), n.end(), '_', ' ');
        name_lens.push_back(clip_tokenizer()->encode(n).size());
        official.push_back("X X X X X " + n + ".");
      }
      const at::Tensor official_ids = clip_tokenizer()->tokenize(official);
      at::NoGradGuard no_grad;
      const at::Tensor expected =
          reference_prompts(clip_->embed_tokens(official_ids), coop->ctx, name_lens, 5, position);
      const at::Tensor ids = coop->token_ids();
      const at::Tensor got =
          coop->sites(delta::Tower::kText, {})->input_tokens(clip_->embed_tokens(ids), ids);
      EXPECT_TRUE(at::equal(got, expected));
      // Any rows, repeated or in another order (one prompt set per image), get their class's.
      delta::SiteContext rows;
      rows.prompt_rows = at::tensor(std::vector<int64_t>{2, 0, 2, 1});
      const at::Tensor picked = ids.index_select(0, rows.prompt_rows);
      EXPECT_TRUE(at::equal(
          coop->sites(delta::Tower::kText, rows)->input_tokens(clip_->embed_tokens(picked), picked),
          expected.index_select(0, rows.prompt_rows)));
      // Same end-of-text position as the reference's tokenized prompts.
      EXPECT_TRUE(at::equal(ids.argmax(-1), official_ids.argmax(-1)));
    }
  }
}

TEST_F(CoOpTest, TruncatedFeaturesEqualFullLength) {
  for (const std::string position : {"end", "middle", "front"}) {
    CoOp coop = make(CoOpOptions().n_ctx(6).class_token_position(position));
    at::NoGradGuard no_grad;
    const at::Tensor fast = coop->text_features();
    const at::Tensor full = coop->text_features(models::TextPositions::kFull);
    ASSERT_EQ(fast.sizes(), (at::IntArrayRef{4, 64}));
    EXPECT_LE((fast - full).abs().max().item<double>(), 1e-5) << position;
  }
}

TEST_F(CoOpTest, GradientReachesOnlyTheContext) {
  for (bool csc : {false, true}) {
    CoOp coop = make(CoOpOptions().n_ctx(4).csc(csc).class_token_position("middle"));
    coop->text_features().pow(2).sum().backward();
    ASSERT_TRUE(coop->ctx.grad().defined());
    EXPECT_GT(coop->ctx.grad().abs().min().item<double>(), 0.0);
    for (const auto& p : clip_->named_parameters()) {
      EXPECT_FALSE(p.value().requires_grad()) << p.key();
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
    }
  }
}

TEST_F(CoOpTest, ClassSpecificContextRefusesAnotherClassList) {
  CoOp coop = make(CoOpOptions().n_ctx(4).csc(true));
  try {
    coop->set_classnames({"cat", "dog"});
    FAIL() << "other class count accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("trained on 4 classes [dog, sea_lion, golden retriever, x ray]"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("cannot be applied to 2 classes [cat, dog]"), std::string::npos) << msg;
  }
  // Same count, other names: refused too.
  EXPECT_THROW(coop->set_classnames({"a", "b", "c", "d"}), Error);
  EXPECT_NO_THROW(coop->set_classnames(kPets));
}

TEST_F(CoOpTest, UnifiedContextTransfersToAnotherDataset) {
  CoOp coop = make(CoOpOptions().n_ctx(4).class_token_position("front").seed(7));
  const at::Tensor ctx_before = coop->ctx.detach().clone();
  const std::vector<std::string> flowers = {"rose", "sunflower", "pink primrose"};
  coop->set_classnames(flowers);
  EXPECT_EQ(coop->classnames(), flowers);
  EXPECT_TRUE(at::equal(coop->ctx, ctx_before));
  CoOp fresh = make(CoOpOptions().n_ctx(4).class_token_position("front").seed(7), flowers);
  EXPECT_TRUE(at::equal(coop->token_ids(), fresh->token_ids()));
  EXPECT_TRUE(at::equal(coop->ctx_cols(), fresh->ctx_cols()));
  at::NoGradGuard no_grad;
  const at::Tensor a = coop->text_features();
  ASSERT_EQ(a.sizes(), (at::IntArrayRef{3, 64}));
  EXPECT_TRUE(at::allclose(a, fresh->text_features()));
}

TEST_F(CoOpTest, HyperparametersRoundTripThroughTheOneConfigReader) {
  CoOp coop = make(CoOpOptions().n_ctx(7).csc(true).class_token_position("middle").seed(9));
  // A delta file's strings and a run's YAML section go through the same reader.
  const CoOpOptions o = read_coop_options(
      core::config_from_strings(coop->hyperparameters(), "delta.safetensors"), "", /*run_seed=*/1);
  EXPECT_EQ(o.n_ctx(), 7);
  EXPECT_TRUE(o.csc());
  EXPECT_EQ(o.class_token_position(), "middle");
  EXPECT_DOUBLE_EQ(o.init_std(), 0.02);
  EXPECT_EQ(o.seed(), 9u);
  EXPECT_EQ(read_coop_options(core::config_from_strings({}, "x"), "", 4).seed(), 4u)
      << "without a seed key the run seed seeds the context";
  const auto error = [](std::map<std::string, std::string> keys) {
    return testing::error_of(
        [&] { read_coop_options(core::config_from_strings(keys, "run.yaml"), "", 1); });
  };
  EXPECT_EQ(error({{"n_ctx", "sixteen"}}),
            "run.yaml: key 'n_ctx' has 'sixteen'; expected an integer");
  EXPECT_EQ(error({{"nctx", "4"}}), "run.yaml: unknown key 'nctx' (did you mean 'n_ctx'?)");
  EXPECT_EQ(error({{"class_token_position", "back"}}),
            "run.yaml: key 'class_token_position' = 'back' must be one of end, middle, front "
            "(did you mean 'end'?)");
  EXPECT_THROW(make(CoOpOptions().n_ctx(0)), Error);
}

}  // namespace
}  // namespace vlprompt::prompts
