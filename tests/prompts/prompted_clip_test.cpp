#include "prompts/prompted_clip.h"

#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include "prompts/coop.h"
#include "prompts/registry.h"
#include "src/core/error.h"
#include "src/delta/delta_file.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;
using testing::tiny_clip;

// CoOp as the one-member stack `vlprompt train --method coop` builds.
class CoOpMethodTest : public ::testing::Test {
 protected:
  models::Clip clip_ = tiny_clip();

  PromptedClipMethod make(const std::vector<std::string>& names,
                          CoOpOptions options = CoOpOptions()) {
    delta::DeltaStack stack{delta::DeltaStackOptions{}};
    stack->add("coop", CoOp(options, clip_, clip_tokenizer(), names));
    return PromptedClipMethod(clip_, clip_tokenizer(), stack, names);
  }
  static CoOp coop_of(PromptedClipMethod& method) {
    return CoOp(std::dynamic_pointer_cast<CoOpImpl>(method.stack()->member("coop")));
  }
};

TEST_F(CoOpMethodTest, PermutingTheClassesPermutesTheLogits) {
  const at::Tensor features = at::randn({6, 64}, at::TensorOptions().dtype(at::kFloat));
  engine::Batch batch{features, at::zeros({6}, at::kLong), /*inputs_are_features=*/true};
  for (const std::string position : {"end", "middle", "front"}) {
    const auto options = CoOpOptions().n_ctx(4).class_token_position(position);
    PromptedClipMethod a = make({"cat", "dog", "sea lion", "airliner"}, options);
    PromptedClipMethod b = make({"airliner", "cat", "sea lion", "dog"}, options);
    at::NoGradGuard no_grad;
    const at::Tensor la = a.forward(batch);
    const at::Tensor lb = b.forward(batch);
    ASSERT_EQ(la.sizes(), (at::IntArrayRef{6, 4}));
    const at::Tensor perm = at::tensor(std::vector<int64_t>{3, 0, 2, 1});
    EXPECT_LE((lb - la.index_select(1, perm)).abs().max().item<double>(), 1e-4) << position;
  }
}

TEST_F(CoOpMethodTest, ImagesGoThroughTheFrozenTower) {
  PromptedClipMethod method = make({"cat", "dog", "bird"}, CoOpOptions().n_ctx(2));
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  const at::Tensor logits = method.forward({pixels, at::tensor({0, 2}), false});
  ASSERT_EQ(logits.sizes(), (at::IntArrayRef{2, 3}));
  EXPECT_TRUE(logits.requires_grad());
  at::NoGradGuard no_grad;
  const at::Tensor features = clip_->encode_image(pixels);
  EXPECT_TRUE(at::allclose(method.forward({features, at::tensor({0, 2}), true}), logits));
}

TEST_F(CoOpMethodTest, SgdStepsLowerTheLossAndTouchOnlyTheContext) {
  PromptedClipMethod method = make({"cat", "dog", "bird", "fish", "frog"}, CoOpOptions().n_ctx(4));
  ASSERT_EQ(method.trainable_parameters().size(), 1u);
  EXPECT_TRUE(method.trainable_parameters()[0].is_same(coop_of(method)->ctx));
  const core::TensorMap backbone_before = clip_->weights();
  at::manual_seed(0);
  engine::Batch batch{at::randn({10, 64}), at::arange(10, at::kLong).remainder(5), true};
  torch::optim::SGD sgd(method.trainable_parameters(), torch::optim::SGDOptions(0.5).momentum(0.9));
  const double first = method.loss(method.forward(batch), batch).item<double>();
  double last = first;
  for (int step = 0; step < 8; ++step) {
    sgd.zero_grad();
    at::Tensor loss = method.loss(method.forward(batch), batch);
    loss.backward();
    sgd.step();
    last = loss.item<double>();
  }
  last = method.loss(method.forward(batch), batch).item<double>();
  EXPECT_LT(last, first - 0.05) << "first " << first << " last " << last;
  for (const auto& [name, t] : clip_->weights()) {
    EXPECT_TRUE(at::equal(t, backbone_before.at(name))) << name;
  }
}

TEST_F(CoOpMethodTest, EvaluationCachesTextFeaturesUntilTrainingResumes) {
  PromptedClipMethod method = make({"cat", "dog"}, CoOpOptions().n_ctx(2));
  engine::Batch batch{at::randn({3, 64}), at::zeros({3}, at::kLong), true};
  method.set_training(false);
  at::Tensor before;
  {
    at::NoGradGuard no_grad;
    before = method.forward(batch);
    // Changed behind the method's back: the cache still holds. (A constant shift would not do:
    // every block's LayerNorm removes it.)
    coop_of(method)->ctx.add_(at::randn_like(coop_of(method)->ctx));
    EXPECT_TRUE(at::equal(method.forward(batch), before));
  }
  method.set_training(true);
  at::NoGradGuard no_grad;
  EXPECT_FALSE(at::allclose(method.forward(batch), before));
}

TEST_F(CoOpMethodTest, StateAndDeltaFileHoldOnlyTheContext) {
  PromptedClipMethod method =
      make({"cat", "dog", "bird"}, CoOpOptions().n_ctx(3).csc(true).seed(5));
  const core::TensorMap state = method.state();
  ASSERT_EQ(state.size(), 1u);
  ASSERT_TRUE(state.count("coop.ctx"));

  const std::string path = testing::scratch_dir("coop") + "/coop.safetensors";
  delta::DeltaFileInfo info = delta_info(method, clip_, "/x/bpe_simple_vocab_16e6.txt.gz",
                                         {"cat", "dog", "bird"}, "a photo of a {}.");
  EXPECT_EQ(info.method, "coop");
  EXPECT_EQ(info.tokenizer, "bpe_simple_vocab_16e6.txt.gz");
  delta::write_delta(path, *coop_of(method), info);
  core::Metadata metadata;
  const auto header = core::read_safetensors_header(path, &metadata);
  ASSERT_EQ(header.size(), 1u);
  EXPECT_EQ(header.begin()->first, "coop.ctx");
  EXPECT_EQ(header.begin()->second.shape, (std::vector<int64_t>{3, 3, 64}));
  for (const auto& [name, t] : clip_->weights()) EXPECT_FALSE(header.count(name)) << name;
  EXPECT_EQ(metadata.at("backbone"), "tiny");
  EXPECT_EQ(metadata.at("backbone_fingerprint"), clip_->fingerprint());
  EXPECT_EQ(metadata.at("classnames"), R"(["cat","dog","bird"])");

  // Rebuilt through the registry from the metadata alone.
  LoadedDelta loaded = load_delta(path, clip_, clip_tokenizer());
  EXPECT_EQ(loaded.delta->method(), "coop");
  EXPECT_TRUE(at::equal(loaded.delta->named_tensors().at("coop.ctx"), coop_of(method)->ctx));

  PromptedClipMethod other = make({"cat", "dog", "bird"}, CoOpOptions().n_ctx(3).csc(true).seed(6));
  other.load_state(state);
  EXPECT_TRUE(at::equal(coop_of(other)->ctx, coop_of(method)->ctx));
  EXPECT_THROW(make({"cat"}, CoOpOptions().n_ctx(3)).load_state(state), Error);

  models::Clip another = tiny_clip(/*seed=*/1);
  try {
    load_delta(path, another, clip_tokenizer());
    FAIL() << "delta loaded onto other weights";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(clip_->fingerprint()), std::string::npos) << msg;
    EXPECT_NE(msg.find(another->fingerprint()), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace vlprompt::prompts
