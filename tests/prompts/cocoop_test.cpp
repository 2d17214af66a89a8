// CoCoOp: the batched (image x class) text pass equals the official algorithm's per-image loop
// (its forward builds each image's C prompts and encodes them, 77 tokens each), and the context
// and meta-net learn.
#include "prompts/cocoop.h"

#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include "prompts/prompted_clip.h"
#include "src/delta/delta_stack.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;
using testing::tiny_clip;

const std::vector<std::string> kNames = {"cat", "sea lion", "airliner"};

// Returns the embeddings it was given: a way to run the text tower on prompts built by hand.
class FixedTokens : public nn::DeltaSites {
 public:
  explicit FixedTokens(at::Tensor tokens) : tokens_(std::move(tokens)) {}
  at::Tensor input_tokens(const at::Tensor&, const at::Tensor&) override { return tokens_; }

 private:
  at::Tensor tokens_;
};

class CoCoOpTest : public ::testing::Test {
 protected:
  models::Clip clip_ = tiny_clip();

  PromptedClipMethod make(CoCoOp cocoop, int64_t rows_per_pass = 2048) {
    delta::DeltaStack stack{delta::DeltaStackOptions{}};
    stack->add("cocoop", cocoop);
    return PromptedClipMethod(clip_, clip_tokenizer(), stack, kNames,
                              PromptedClipOptions().text_rows_per_pass(rows_per_pass));
  }

  // The official forward, one image at a time: prompts "a photo of a <name>." tokenized here,
  // their ctx positions (1..n_ctx) replaced by ctx + meta_net(f_i / |f_i|), all 77 tokens encoded
  // (or truncated), logit_scale * cos.
  at::Tensor per_image_loop(CoCoOp& cocoop, const at::Tensor& features, bool full_length) {
    std::vector<std::string> prompts;
    for (const auto& n : kNames) prompts.push_back("a photo of a " + n + ".");
    const at::Tensor ids = clip_tokenizer()->tokenize(prompts);
    const at::Tensor embedded = clip_->embed_tokens(ids);
    const int64_t n_ctx = cocoop->ctx.size(0);
    std::vector<at::Tensor> rows;
    for (int64_t i = 0; i < features.size(0); ++i) {
      const at::Tensor f = features[i] / features[i].norm();
      const auto& m = cocoop->meta_net;
      const at::Tensor hidden = at::relu(at::matmul(m->linear1->weight, f) + m->linear1->bias);
      const at::Tensor bias = at::matmul(m->linear2->weight, hidden) + m->linear2->bias;
      const at::Tensor ctx = cocoop->ctx + bias;
      const at::Tensor prompt =
          at::cat({embedded.slice(1, 0, 1), ctx.unsqueeze(0).expand({3, n_ctx, ctx.size(1)}),
                   embedded.slice(1, 1 + n_ctx)},
                  1);
      FixedTokens sites(prompt);
      const at::Tensor text = clip_->encode_text(
          ids, &sites,
          full_length ? models::TextPositions::kFull : models::TextPositions::kTruncated);
      rows.push_back(clip_->logits(features.slice(0, i, i + 1), text)[0]);
    }
    return at::stack(rows);
  }
};

TEST_F(CoCoOpTest, BatchedPassEqualsThePerImageLoopTruncatedAnd77Tokens) {
  CoCoOp cocoop(CoCoOpOptions().seed(3), clip_, clip_tokenizer(), kNames);
  ASSERT_EQ(cocoop->ctx.size(0), 4) << "n_ctx follows ctx_init 'a photo of a'";
  at::manual_seed(0);
  const at::Tensor features = at::randn({5, 64});
  const engine::Batch batch{features, at::zeros({5}, at::kLong), true};
  at::NoGradGuard no_grad;
  const at::Tensor reference77 = per_image_loop(cocoop, features, /*full_length=*/true);
  const at::Tensor reference = per_image_loop(cocoop, features, /*full_length=*/false);
  for (int64_t rows : {2048, 3, 7}) {  // one pass; one image per pass; two images per pass
    SCOPED_TRACE(rows);
    PromptedClipMethod method = make(cocoop, rows);
    const at::Tensor batched = method.forward(batch);
    ASSERT_EQ(batched.sizes(), (at::IntArrayRef{5, 3}));
    EXPECT_LE((batched - reference77).abs().max().item<double>(), 1e-5);
    EXPECT_LE((batched - reference).abs().max().item<double>(), 1e-5);
  }
  // Different images, different prompts: the meta-net is not a no-op.
  EXPECT_GT((reference[0] - reference[1]).abs().max().item<double>(), 1e-4);
}

TEST_F(CoCoOpTest, ContextAndMetaNetLearnAndAChunkedStepMatchesOnePass) {
  at::manual_seed(1);
  const engine::Batch batch{at::randn({6, 64}), at::tensor(std::vector<int64_t>{0, 1, 2, 0, 1, 2}),
                            true};
  CoCoOp a(CoCoOpOptions().seed(4), clip_, clip_tokenizer(), kNames);
  CoCoOp b(CoCoOpOptions().seed(4), clip_, clip_tokenizer(), kNames);
  PromptedClipMethod whole = make(a), chunked = make(b, /*rows_per_pass=*/6);
  ASSERT_EQ(whole.trainable_parameters().size(), 5u) << "ctx + two linear layers";
  torch::optim::SGD sa(whole.trainable_parameters(), torch::optim::SGDOptions(0.5));
  torch::optim::SGD sb(chunked.trainable_parameters(), torch::optim::SGDOptions(0.5));
  whole.set_training(true);
  chunked.set_training(true);
  double first = 0, last = 0;
  for (int step = 0; step < 6; ++step) {
    sa.zero_grad();
    sb.zero_grad();
    const double la = whole.train_step(batch, "test").loss.item<double>();
    const double lb = chunked.train_step(batch, "test").loss.item<double>();
    EXPECT_NEAR(la, lb, 1e-5) << step;
    sa.step();
    sb.step();
    if (step == 0) first = la;
    last = la;
  }
  EXPECT_LT(last, first - 0.05);
  EXPECT_TRUE(at::allclose(a->ctx, b->ctx, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(a->meta_net->linear1->weight, b->meta_net->linear1->weight, 1e-5, 1e-6));
  const core::TensorMap state = whole.state();
  for (const char* name :
       {"cocoop.ctx", "cocoop.meta_net.linear1.weight", "cocoop.meta_net.linear1.bias",
        "cocoop.meta_net.linear2.weight", "cocoop.meta_net.linear2.bias"}) {
    EXPECT_TRUE(state.count(name)) << name;
  }
  EXPECT_EQ(state.at("cocoop.meta_net.linear1.weight").sizes(), (at::IntArrayRef{4, 64}));
}

TEST_F(CoCoOpTest, TransfersToOtherClassesAndNeedsAnImage) {
  CoCoOp cocoop(CoCoOpOptions().seed(3), clip_, clip_tokenizer(), kNames);
  PromptedClipMethod method = make(cocoop);
  method.set_classnames({"rose", "tulip"});
  at::NoGradGuard no_grad;
  EXPECT_EQ(method.forward({at::randn({2, 64}), at::zeros({2}, at::kLong), true}).sizes(),
            (at::IntArrayRef{2, 2}));
  const std::string msg = testing::error_of([&] { method.class_text_features(); });
  EXPECT_NE(msg.find("depend on the image"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vlprompt::prompts
