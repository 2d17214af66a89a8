#include "src/delta/delta_stack.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "tests/delta/toy_deltas.h"

namespace vlprompt::delta {
namespace {

using testing::ScaleDelta;
using testing::ShiftDelta;

// scale 2 then shift 1: (x * 2) + 1; the other order would give (x + 1) * 2.
DeltaStack scale_then_shift(bool sequential = false) {
  DeltaStack stack(DeltaStackOptions().sequential(sequential));
  stack->add("a", ScaleDelta(2.0));
  stack->add("b", ShiftDelta(1.0));
  return stack;
}

TEST(DeltaStack, InputAndLayerTokensChainInMemberOrder) {
  DeltaStack stack = scale_then_shift();
  nn::DeltaSites* sites = stack->sites(Tower::kText, {});
  ASSERT_NE(sites, nullptr);
  const at::Tensor x = at::full({1, 3, 4}, 5.0);
  // scale 2: [10 10 10 | 2], then shift 1: [11 11 11 3 | 1 1]
  const at::Tensor chained = sites->input_tokens(x, at::Tensor());
  ASSERT_EQ(chained.sizes(), (at::IntArrayRef{1, 6, 4}));
  EXPECT_EQ(chained.size(1) - x.size(1), sites->inserted_tokens());
  const std::vector<float> expected = {11, 11, 11, 3, 1, 1};
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(chained[0][i][0].item<float>(), expected[i]) << i;
  EXPECT_TRUE(at::allclose(sites->layer_tokens(3, x), at::full({1, 3, 4}, 11.0)));

  DeltaStack reversed;
  reversed->add("b", ShiftDelta(1.0));
  reversed->add("a", ScaleDelta(2.0));
  // shift 1: [6 6 6 | 1 1], then scale 2: [12 12 12 2 2 | 2]
  const at::Tensor other = reversed->sites(Tower::kText, {})->input_tokens(x, at::Tensor());
  ASSERT_EQ(other.sizes(), (at::IntArrayRef{1, 6, 4}));
  const std::vector<float> expected_reversed = {12, 12, 12, 2, 2, 2};
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_EQ(other[0][i][0].item<float>(), expected_reversed[i]) << i;
}

TEST(DeltaStack, InsertedTokensAddUpAndPrefixesConcatenateInOrder) {
  DeltaStack stack = scale_then_shift();
  nn::DeltaSites* sites = stack->sites(Tower::kText, {});
  EXPECT_EQ(sites->inserted_tokens(), 3);
  auto prefix = sites->kv_prefix(0, 5);
  ASSERT_TRUE(prefix.has_value());
  ASSERT_EQ(prefix->key.sizes(), (at::IntArrayRef{5, 3, 4}));
  ASSERT_EQ(prefix->value.sizes(), (at::IntArrayRef{5, 3, 4}));
  // Member a's single prefix position first, then member b's two.
  EXPECT_EQ(prefix->key[0][0][0].item<float>(), 1.0f);
  EXPECT_EQ(prefix->key[0][1][0].item<float>(), 2.0f);
  EXPECT_EQ(prefix->key[4][2][3].item<float>(), 2.0f);
  EXPECT_EQ(prefix->value[0][0][0].item<float>(), 10.0f);
  EXPECT_EQ(prefix->value[0][2][0].item<float>(), 20.0f);
}

TEST(DeltaStack, TowersOnlySeeMembersThatTouchThem) {
  DeltaStack text_only;
  text_only->add("a", ScaleDelta(2.0));
  EXPECT_EQ(text_only->sites(Tower::kImage, {}), nullptr);
  DeltaStack both = scale_then_shift();
  nn::DeltaSites* image = both->sites(Tower::kImage, {});
  ASSERT_NE(image, nullptr);
  // Only the shift member serves the image tower.
  EXPECT_EQ(image->inserted_tokens(), 2);
  EXPECT_EQ(image->kv_prefix(0, 1)->key.size(1), 2);
}

at::Tensor loss_through(DeltaStack& stack) {
  nn::DeltaSites* sites = stack->sites(Tower::kText, {});
  return sites->input_tokens(at::ones({2, 3, 4}), at::Tensor()).sum();
}

TEST(DeltaStack, SimultaneousMembersAllTrain) {
  DeltaStack stack = scale_then_shift(/*sequential=*/false);
  EXPECT_FALSE(stack->is_frozen("a"));
  EXPECT_EQ(stack->trainable_parameters().size(), 2u);
  loss_through(stack).backward();
  auto a = stack->member("a")->named_parameters()["scale"];
  auto b = stack->member("b")->named_parameters()["shift"];
  ASSERT_TRUE(a.grad().defined());
  ASSERT_TRUE(b.grad().defined());
  // sum([x * a, a] + b, b, b) over ones [2, 3, 4]: d/da = 24 (scaled tokens) + 8 (appended a);
  // d/db = 32 (every token after the scale) + 16 (appended b).
  EXPECT_FLOAT_EQ(a.grad().item<float>(), 32.0f);
  EXPECT_FLOAT_EQ(b.grad().item<float>(), 48.0f);
}

TEST(DeltaStack, SequentialStackFreezesEarlierMembers) {
  DeltaStack stack = scale_then_shift(/*sequential=*/true);
  EXPECT_TRUE(stack->is_frozen("a"));
  EXPECT_FALSE(stack->is_frozen("b"));
  auto trainable = stack->trainable_parameters();
  ASSERT_EQ(trainable.size(), 1u);
  auto a = stack->member("a")->named_parameters()["scale"];
  auto b = stack->member("b")->named_parameters()["shift"];
  EXPECT_TRUE(trainable[0].is_same(b));
  loss_through(stack).backward();
  EXPECT_FALSE(a.grad().defined());
  ASSERT_TRUE(b.grad().defined());
  // The frozen member still acts: [x * 2, 2] + 1, then b's two tokens of 1.
  EXPECT_TRUE(at::allclose(stack->sites(Tower::kText, {})->input_tokens(at::ones({1, 1, 4}), {}),
                           at::cat({at::full({1, 2, 4}, 3.0), at::full({1, 2, 4}, 1.0)}, 1)));

  stack->unfreeze("a");
  stack->freeze("b");
  EXPECT_TRUE(stack->trainable_parameters()[0].is_same(a));
  EXPECT_TRUE(a.requires_grad());
  EXPECT_FALSE(b.requires_grad());
}

TEST(DeltaStack, NamesTensorsByMemberAndListsHyperparameters) {
  DeltaStack stack = scale_then_shift(true);
  const core::TensorMap tensors = stack->named_tensors();
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_TRUE(tensors.count("a.scale"));
  EXPECT_TRUE(tensors.count("b.shift"));
  auto hp = stack->hyperparameters();
  EXPECT_EQ(hp.at("members"), "a,b");
  EXPECT_EQ(hp.at("sequential"), "true");
  EXPECT_EQ(hp.at("a.method"), "scale");
  EXPECT_EQ(hp.at("a.prefix"), "1");
  EXPECT_EQ(hp.at("b.method"), "shift");
  // A lone delta names its tensors after its method.
  ScaleDelta lone(3.0);
  EXPECT_TRUE(lone->named_tensors().count("scale.scale"));
}

TEST(DeltaStack, RejectsBadMemberNames) {
  DeltaStack stack = scale_then_shift();
  try {
    stack->add("a", ShiftDelta(0.0));
    FAIL() << "duplicate name accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already a member named 'a'"), std::string::npos);
  }
  EXPECT_THROW(stack->add("x.y", ShiftDelta(0.0)), Error);
  EXPECT_THROW(stack->add("", ShiftDelta(0.0)), Error);
  try {
    stack->freeze("c");
    FAIL() << "unknown member accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no member named 'c' (members: a, b)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlprompt::delta
