// KgCoOp's regulariser on CoOp and CoCoOp: the loss is CE + w (1 - mean cos(learned, hand-written))
// with the hand-written features computed independently (the zero-shot classifier), and it keeps
// the learned prompts nearer the hand-written ones.
#include "prompts/kgcoop.h"

#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include "prompts/prompted_clip.h"
#include "prompts/registry.h"
#include "prompts/zeroshot_classifier.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;

const std::vector<std::string> kClasses = {"cat", "dog", "bird"};
constexpr char kTemplate[] = "a photo of a {}, a type of pet.";

std::unique_ptr<engine::Method> make(models::Clip clip, const std::string& method,
                                     const std::string& kg_weight) {
  MethodContext c;
  c.clip = std::move(clip);
  c.tokenizer = clip_tokenizer();
  c.classnames = kClasses;
  c.seed = 5;
  c.text_template = kTemplate;
  return make_method(method, core::config_from_strings({{method + ".kg_weight", kg_weight}}, "t"),
                     c);
}

TEST(KgCoOp, LossAddsTheCosinePullTowardsTheHandWrittenPrompts) {
  models::Clip clip = testing::tiny_clip();
  const at::Tensor manual = zeroshot_weights(clip, *clip_tokenizer(), kClasses, {kTemplate});
  at::manual_seed(0);
  const engine::Batch batch{at::randn({4, 64}), at::tensor(std::vector<int64_t>{0, 1, 2, 1}), true};
  for (const std::string method : {"coop", "cocoop"}) {
    SCOPED_TRACE(method);
    auto plain = make(clip, method, "0");
    auto kg = make(clip, method, "8.0");
    EXPECT_EQ(kg->hyperparameters().at("kg_weight"), "8");
    EXPECT_EQ(plain->hyperparameters().at("kg_weight"), "0");
    const at::Tensor logits = kg->forward(batch);
    const double ce = at::cross_entropy_loss(logits, batch.labels).item<double>();
    // The learned features the logits came from, read back through the method.
    auto& prompted = dynamic_cast<PromptedClipMethod&>(*kg);
    at::Tensor learned;
    if (method == "coop") {
      learned = prompted.class_text_features();
    } else {
      // CoCoOp's features are per image: recover them as the logits' own texts would be built.
      learned = at::Tensor();
    }
    const double got = kg->loss(logits, batch).item<double>();
    if (learned.defined()) {
      const at::Tensor l = learned / learned.norm(2, -1, true);
      const double expected = ce + 8.0 * (1.0 - (l * manual).sum(-1).mean().item<double>());
      EXPECT_NEAR(got, expected, 1e-5);
    } else {
      EXPECT_GT(got, ce) << "the term is positive unless every prompt equals the hand-written one";
      EXPECT_LT(got, ce + 8.0 * 2.0 + 1e-6);
    }
    EXPECT_NEAR(plain->loss(plain->forward(batch), batch).item<double>(), ce, 1e-5);
  }
}

TEST(KgCoOp, KeepsLearnedPromptsNearerTheHandWrittenOnes) {
  models::Clip clip = testing::tiny_clip();
  const at::Tensor manual = zeroshot_weights(clip, *clip_tokenizer(), kClasses, {kTemplate});
  at::manual_seed(1);
  const engine::Batch batch{at::randn({9, 64}), at::arange(9, at::kLong).remainder(3), true};
  double cosine[2];
  int i = 0;
  for (const std::string w : {"0", "8.0"}) {
    auto method = make(clip, "coop", w);
    torch::optim::SGD sgd(method->trainable_parameters(), torch::optim::SGDOptions(0.5));
    method->set_training(true);
    for (int step = 0; step < 10; ++step) {
      sgd.zero_grad();
      method->train_step(batch, "test");
      sgd.step();
    }
    at::NoGradGuard no_grad;
    const at::Tensor t = dynamic_cast<PromptedClipMethod&>(*method).class_text_features();
    cosine[i++] = ((t / t.norm(2, -1, true)) * manual).sum(-1).mean().item<double>();
  }
  EXPECT_GT(cosine[1], cosine[0] + 1e-3) << "kg 0: " << cosine[0] << ", kg 8: " << cosine[1];
}

}  // namespace
}  // namespace vlprompt::prompts
