// Generation: with the key/value cache it must give exactly the tokens of rerunning the whole
// sequence each step, greedy and sampled (same seed), with and without delta sites; top-p
// filtering keeps the smallest most-likely set; EOS stops.
#include "models/llama/llama_generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "src/core/error.h"

namespace llama_generate_test {

using vlprompt::models::llama::GenerateOptions;
using vlprompt::models::llama::LlamaConfig;
using vlprompt::models::llama::LlamaModel;

LlamaModel model() {
  LlamaConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 40;
  torch::manual_seed(11);
  LlamaModel m(c);
  for (auto& p : m->parameters()) {
    p.set_requires_grad(false);
    p.mul_(3);  // sharper distributions: greedy paths that differ when anything is off
  }
  return m;
}

// A key/value prefix of 2 positions and 2 virtual input tokens, both fixed.
class Sites : public vlprompt::nn::DeltaSites {
 public:
  Sites() : prefix_(torch::randn({2, 2, 16})), soft_(torch::randn({2, 32})) {}
  at::Tensor input_tokens(const at::Tensor& t, const at::Tensor&) override {
    return at::cat({soft_.unsqueeze(0).expand({t.size(0), -1, -1}), t}, 1);
  }
  int64_t inserted_tokens() const override { return 2; }
  std::optional<vlprompt::nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    const at::Tensor p = prefix_[layer].unsqueeze(0).expand({batch, -1, -1});
    return vlprompt::nn::KVPrefix{p, p * 0.5};
  }

 private:
  at::Tensor prefix_, soft_;
};

TEST(LlamaGenerate, CacheGivesTheSameTokensAsFullReruns) {
  LlamaModel m = model();
  torch::manual_seed(12);
  Sites sites;
  const std::vector<int64_t> prompt{1, 7, 9, 3};
  for (vlprompt::nn::DeltaSites* s : {static_cast<vlprompt::nn::DeltaSites*>(nullptr),
                                      static_cast<vlprompt::nn::DeltaSites*>(&sites)}) {
    for (double temperature : {0.0, 0.8}) {
      auto o = GenerateOptions().max_new_tokens(12).temperature(temperature).top_p(0.9).seed(4);
      const auto cached = vlprompt::models::llama::generate(m, prompt, s, o);
      const auto full = vlprompt::models::llama::generate(m, prompt, s, o.use_cache(false));
      EXPECT_EQ(cached, full) << "temperature " << temperature << (s ? " with" : " without")
                              << " sites";
      EXPECT_EQ(cached.size(), 12u);
    }
  }
  // The sites change what is generated (otherwise the comparison above proves little).
  const auto o = GenerateOptions().max_new_tokens(12);
  EXPECT_NE(vlprompt::models::llama::generate(m, prompt, &sites, o),
            vlprompt::models::llama::generate(m, prompt, nullptr, o));
}

TEST(LlamaGenerate, GreedyFollowsTheArgmaxAndStopsAtTheStopToken) {
  LlamaModel m = model();
  const std::vector<int64_t> prompt{1, 5};
  const auto free =
      vlprompt::models::llama::generate(m, prompt, nullptr, GenerateOptions().max_new_tokens(6));
  at::NoGradGuard no_grad;
  const at::Tensor first = m->logits(at::tensor(prompt, at::kLong).view({1, -1}))[0][-1];
  EXPECT_EQ(free[0], first.argmax().item<int64_t>());
  const auto stopped = vlprompt::models::llama::generate(
      m, prompt, nullptr, GenerateOptions().max_new_tokens(6).stop_token(free[2]));
  const auto stop_at = std::find(free.begin(), free.end(), free[2]) - free.begin();
  EXPECT_EQ(stopped.size(), static_cast<size_t>(stop_at + 1));
}

TEST(LlamaGenerate, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.7 keeps the first two, 0.5 only the first.
  const at::Tensor logits = at::log(at::tensor({0.15, 0.5, 0.05, 0.3}));
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i)
    seen.insert(vlprompt::models::llama::pick_token(
        logits, GenerateOptions().temperature(1.0).top_p(0.7), g));
  EXPECT_EQ(seen, (std::set<int64_t>{1, 3}));
  seen.clear();
  for (int i = 0; i < 50; ++i)
    seen.insert(vlprompt::models::llama::pick_token(
        logits, GenerateOptions().temperature(1.0).top_p(0.5), g));
  EXPECT_EQ(seen, (std::set<int64_t>{1}));
  LlamaModel m = model();
  EXPECT_THROW(vlprompt::models::llama::generate(m, {1}, nullptr, GenerateOptions().top_p(0)),
               vlprompt::Error);
  EXPECT_THROW(vlprompt::models::llama::generate(m, {}, nullptr, GenerateOptions()),
               vlprompt::Error);
}

TEST(LlamaGenerate, IdsPastTheVocabLimitAreNeverPicked) {
  // The padded rows (ids 3 and 4) are the most likely: greedy and sampling must still stay below
  // the tokenizer's pieces.
  const at::Tensor logits = at::tensor({0.0, 1.0, 0.5, 9.0, 8.0});
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
  EXPECT_EQ(vlprompt::models::llama::pick_token(logits, GenerateOptions(), g), 3);
  EXPECT_EQ(vlprompt::models::llama::pick_token(logits, GenerateOptions().vocab_limit(3), g), 1);
  std::set<int64_t> seen;
  for (int i = 0; i < 100; ++i)
    seen.insert(vlprompt::models::llama::pick_token(
        logits, GenerateOptions().temperature(1.0).vocab_limit(3), g));
  EXPECT_EQ(seen, (std::set<int64_t>{0, 1, 2}));
}

}  // namespace llama_generate_test
