// Prompt Tuning, Prefix Tuning and P-Tuning on a tiny frozen LLaMA: zero length is the plain
// model, each init does what it says, reparameterised deltas save collapsed and reload to the same
// logits while checkpoints keep the encoder, the registry's LM entries, and a few optimiser steps
// on a toy next-token loss lower it with gradients reaching only the delta.
#include <gtest/gtest.h>

#include "prompts/lm/lm_delta_file.h"
#include "prompts/lm/p_tuning.h"
#include "prompts/lm/prefix_tuning.h"
#include "prompts/lm/prompt_tuning.h"
#include "src/delta/delta_stack.h"
#include "tests/lm/lm_test_support.h"
#include "tests/test_support.h"

namespace lm_deltas_test {

using namespace lm_test_support;
using vlprompt::delta::Delta;
using vlprompt::delta::Tower;
namespace lm = vlprompt::prompts::lm;
namespace prompts = vlprompt::prompts;

std::shared_ptr<Delta> build(const std::string& method,
                             const std::map<std::string, std::string>& keys,
                             vlprompt::models::llama::LlamaModel model, uint64_t seed = 0) {
  return prompts::make_lm_delta(method, config(keys), context(std::move(model), seed));
}

// Logits of the text positions with `delta`'s sites (virtual positions dropped).
at::Tensor text_logits(vlprompt::models::llama::LlamaModel& model, Delta& delta,
                       const at::Tensor& ids) {
  vlprompt::nn::DeltaSites* sites = delta.sites(Tower::kText, {});
  const at::Tensor out = model->logits(ids, sites);
  return out.narrow(1, sites->inserted_tokens(), ids.size(1));
}

TEST(LmDeltas, ZeroLengthIsThePlainModelExactly) {
  auto model = tiny_llama();
  torch::NoGradGuard no_grad;
  const at::Tensor ids = batch_ids();
  const at::Tensor plain = model->logits(ids);
  for (const std::string method : {"prompt_tuning", "prefix_tuning", "p_tuning"}) {
    SCOPED_TRACE(method);
    std::map<std::string, std::string> keys{{method + ".n_virtual", "0"}};
    auto delta = build(method, keys, model);
    const at::Tensor with = model->logits(ids, delta->sites(Tower::kText, {}));
    ASSERT_EQ(with.sizes(), plain.sizes());
    EXPECT_TRUE(at::equal(with, plain));
    // A non-empty delta does change them (the test could fail).
    keys[method + ".n_virtual"] = "2";
    auto two = build(method, keys, model);
    EXPECT_GT(max_diff(text_logits(model, *two, ids), plain), 1e-3);
  }
}

TEST(LmDeltas, VocabInitRowsAreEmbeddingRows) {
  auto model = tiny_llama();
  const at::Tensor table = model->model->embed_tokens->weight;
  auto delta = std::dynamic_pointer_cast<lm::PromptTuningImpl>(
      build("prompt_tuning", {{"prompt_tuning.n_virtual", "6"}, {"prompt_tuning.init", "vocab"}},
            model, 3));
  ASSERT_TRUE(delta);
  for (int64_t i = 0; i < 6; ++i) {
    const at::Tensor row = delta->embeddings[i];
    const auto matches = (table - row).abs().sum(1).eq(0).sum().item<int64_t>();
    EXPECT_GE(matches, 1) << "row " << i << " is no embedding row";
  }
  auto same = std::dynamic_pointer_cast<lm::PromptTuningImpl>(
      build("prompt_tuning", {{"prompt_tuning.n_virtual", "6"}}, model, 3));
  auto other = std::dynamic_pointer_cast<lm::PromptTuningImpl>(
      build("prompt_tuning", {{"prompt_tuning.n_virtual", "6"}}, model, 4));
  EXPECT_TRUE(at::equal(same->embeddings, delta->embeddings)) << "seeded";
  EXPECT_FALSE(at::equal(other->embeddings, delta->embeddings));
}

TEST(LmDeltas, TextInitIsTheEncodedIdsEmbeddingsRepeatedAndCut) {
  auto model = tiny_llama();
  const at::Tensor table = model->model->embed_tokens->weight;
  // fake_encode("ab") = {3, 4}; BOS (1) first as PEFT's tokenizer call adds it: 1 3 4 1 3.
  auto five =
      std::dynamic_pointer_cast<lm::PromptTuningImpl>(build("prompt_tuning",
                                                            {{"prompt_tuning.n_virtual", "5"},
                                                             {"prompt_tuning.init", "text"},
                                                             {"prompt_tuning.init_text", "ab"}},
                                                            model));
  EXPECT_TRUE(at::equal(five->embeddings, table.index_select(0, at::tensor({1, 3, 4, 1, 3}))));
  auto two = std::dynamic_pointer_cast<lm::PromptTuningImpl>(
      build("prompt_tuning",
            {{"prompt_tuning.n_virtual", "2"},
             {"prompt_tuning.init", "text"},
             {"prompt_tuning.init_text", "ab"},
             {"prompt_tuning.init_text_bos", "false"}},
            model));
  EXPECT_TRUE(at::equal(two->embeddings, table.index_select(0, at::tensor({3, 4}))));
  EXPECT_NE(vlprompt::testing::error_of([&] {
              build("prompt_tuning", {{"prompt_tuning.init", "text"}}, model);
            }).find("init_text"),
            std::string::npos);
  EXPECT_NE(vlprompt::testing::error_of([&] {
              build("prompt_tuning", {{"prompt_tuning.init", "words"}}, model);
            }).find("'words'"),
            std::string::npos);
}

TEST(LmDeltas, LabelInitIsTheLabelWordsMeanEmbedding) {
  auto model = tiny_llama();
  const at::Tensor table = model->model->embed_tokens->weight;
  auto c = context(model);
  c.label_words = {"a", "cd"};  // {3}, {5, 6}
  auto delta = std::dynamic_pointer_cast<lm::PromptTuningImpl>(prompts::make_lm_delta(
      "prompt_tuning", config({{"prompt_tuning.n_virtual", "3"}, {"prompt_tuning.init", "labels"}}),
      c));
  EXPECT_TRUE(at::equal(delta->embeddings[0], table[3]));
  EXPECT_LT(max_diff(delta->embeddings[1], (table[5] + table[6]) / 2), 1e-7);
  EXPECT_EQ((table - delta->embeddings[2]).abs().sum(1).eq(0).sum().item<int64_t>() >= 1, true)
      << "rows past the labels are vocabulary samples";
  c.label_words.clear();
  EXPECT_NE(
      vlprompt::testing::error_of([&] {
        prompts::make_lm_delta("prompt_tuning", config({{"prompt_tuning.init", "labels"}}), c);
      }).find("label words"),
      std::string::npos);
}

TEST(LmDeltas, RandomInitIsSeededNormal) {
  auto model = tiny_llama();
  auto delta =
      std::dynamic_pointer_cast<lm::PromptTuningImpl>(build("prompt_tuning",
                                                            {{"prompt_tuning.n_virtual", "50"},
                                                             {"prompt_tuning.init", "random"},
                                                             {"prompt_tuning.init_std", "0.5"}},
                                                            model, 9));
  EXPECT_NEAR(delta->embeddings.std().item<double>(), 0.5, 0.05);
  EXPECT_NEAR(delta->embeddings.mean().item<double>(), 0.0, 0.05);
}

// Delta file = collapsed tensors; checkpoint = the encoder's parameters.
void expect_collapses(const std::string& method, const std::map<std::string, std::string>& keys,
                      const std::string& plain_keys_method_flag) {
  auto model = tiny_llama();
  const at::Tensor ids = batch_ids();
  auto trained = build(method, keys, model, 5);
  torch::NoGradGuard no_grad;
  const at::Tensor expected = text_logits(model, *trained, ids);
  for (const auto& [name, t] : trained->named_tensors()) {
    EXPECT_NE(name.find(".encoder."), std::string::npos) << name << ": trained through an encoder";
  }
  const auto exported = trained->export_tensors();
  for (const auto& [name, t] : exported) EXPECT_EQ(name.find("encoder"), std::string::npos) << name;
  const std::string path =
      vlprompt::testing::scratch_dir("lm_collapse") + "/" + method + ".safetensors";
  lm::write_lm_delta(path, *trained, lm::lm_delta_info(*trained, model, "tiny"));
  const auto loaded = lm::load_lm_delta(path, context(model));
  EXPECT_TRUE(at::equal(text_logits(model, *loaded.delta, ids), expected));
  EXPECT_EQ(loaded.delta->named_tensors().size(), exported.size()) << "collapsed on load";
  // The same file from a delta trained without the encoder has the same keys and shapes.
  if (!plain_keys_method_flag.empty()) {
    auto plain =
        build(method, {{plain_keys_method_flag, "false"}, {method + ".n_virtual", "3"}}, model);
    const auto plain_tensors = plain->export_tensors();
    ASSERT_EQ(plain_tensors.size(), exported.size());
    for (const auto& [name, t] : exported) EXPECT_EQ(plain_tensors.at(name).sizes(), t.sizes());
  }
  // Resume: the checkpoint's parameters into a fresh delta give the same prefixes exactly.
  auto resumed = build(method, keys, model, 6);
  resumed->load_named_tensors(trained->named_tensors(), "checkpoint");
  EXPECT_TRUE(at::equal(text_logits(model, *resumed, ids), expected));
}

TEST(LmDeltas, PrefixProjectionSavesCollapsedAndReloadsIdentically) {
  expect_collapses("prefix_tuning", {{"prefix_tuning.n_virtual", "3"}},
                   "prefix_tuning.prefix_projection");
}

TEST(LmDeltas, PTuningSavesCollapsedAndReloadsIdentically) {
  expect_collapses("p_tuning", {{"p_tuning.n_virtual", "3"}}, "");
  expect_collapses("p_tuning", {{"p_tuning.n_virtual", "3"}, {"p_tuning.encoder", "lstm"}}, "");
}

TEST(LmDeltas, StackExportsAndLoadsMembersCollapsed) {
  auto model = tiny_llama();
  const at::Tensor ids = batch_ids();
  const auto keys = std::map<std::string, std::string>{{"prompt_tuning.n_virtual", "2"},
                                                       {"prefix_tuning.n_virtual", "3"}};
  auto stack = build("prompt_tuning+prefix_tuning", keys, model);
  torch::NoGradGuard no_grad;
  const at::Tensor expected = text_logits(model, *stack, ids);
  const auto exported = stack->export_tensors();
  EXPECT_TRUE(exported.count("prefix_tuning.key.1"));
  EXPECT_TRUE(exported.count("prompt_tuning.embeddings"));
  auto again = build("prompt_tuning+prefix_tuning", keys, model, 1);
  again->load_named_tensors(exported, "file");
  EXPECT_TRUE(at::equal(text_logits(model, *again, ids), expected));
  EXPECT_NE(vlprompt::testing::error_of([&] {
              again->load_named_tensors({{"coop.ctx", at::zeros({1})}}, "bad.safetensors");
            }).find("'coop.ctx'"),
            std::string::npos);
}

TEST(LmDeltas, GenerationCacheEqualsTheFullForward) {
  auto model = tiny_llama();
  torch::NoGradGuard no_grad;
  const at::Tensor ids = batch_ids();
  for (const std::string method : {"prompt_tuning", "prefix_tuning", "p_tuning"}) {
    SCOPED_TRACE(method);
    auto delta = build(method, {{method + ".n_virtual", "3"}}, model);
    const at::Tensor full = text_logits(model, *delta, ids);
    vlprompt::models::llama::LlamaCache cache;
    auto* sites = delta->sites(Tower::kText, {});
    std::vector<at::Tensor> parts{model->forward_step(ids.narrow(1, 0, 2), cache, sites)
                                      .narrow(1, sites->inserted_tokens(), 2)};
    for (int64_t t = 2; t < ids.size(1); ++t)
      parts.push_back(model->forward_step(ids.narrow(1, t, 1), cache, sites));
    EXPECT_LT(max_diff(at::cat(parts, 1), full), 1e-5);
  }
}

TEST(LmDeltas, RegistryKnowsTheLmDeltas) {
  for (const std::string name : {"prompt_tuning", "prefix-tuning", "p_tuning"}) {
    EXPECT_TRUE(prompts::find_method(name).is_lm_delta()) << name;
    EXPECT_EQ(prompts::find_method(name).kind(), "lm-delta");
  }
  EXPECT_FALSE(prompts::find_method("coop").is_lm_delta());
  const std::string clip = vlprompt::testing::error_of(
      [&] { prompts::make_method("prompt_tuning", config({}), prompts::MethodContext{}); });
  EXPECT_NE(clip.find("LLaMA"), std::string::npos) << clip;
  const std::string mixed =
      vlprompt::testing::error_of([&] { prompts::method_members("coop+prompt_tuning"); });
  EXPECT_NE(mixed.find("cannot stack"), std::string::npos) << mixed;
  const std::string not_lm = vlprompt::testing::error_of(
      [&] { prompts::make_lm_delta("coop", config({}), context(tiny_llama())); });
  EXPECT_NE(not_lm.find("not a text-LM delta"), std::string::npos) << not_lm;
}

// A toy next-token loss the frozen model does not already fit: every next token is 7 (a topic
// the prompt must steer the LM to), over the batch's text positions.
at::Tensor toy_loss(vlprompt::models::llama::LlamaModel& model, Delta& delta,
                    const at::Tensor& ids) {
  const at::Tensor logits = text_logits(model, delta, ids);
  const at::Tensor flat = logits.reshape({-1, logits.size(2)});
  return at::cross_entropy_loss(flat, at::full({flat.size(0)}, 7, at::kLong));
}

class LmDeltaTraining : public ::testing::TestWithParam<std::map<std::string, std::string>> {};

TEST_P(LmDeltaTraining, LossFallsAndOnlyTheDeltaGetsGradients) {
  auto model = tiny_llama();
  const at::Tensor ids = batch_ids();
  const std::string method =
      GetParam().begin()->first.substr(0, GetParam().begin()->first.find('.'));
  auto delta = build(method, GetParam(), model, 2);
  torch::optim::Adam optim(delta->parameters(), torch::optim::AdamOptions(0.1));
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    optim.zero_grad();
    at::Tensor loss = toy_loss(model, *delta, ids);
    loss.backward();
    if (step == 0) {
      for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
      for (const auto& p : delta->parameters()) {
        ASSERT_TRUE(p.grad().defined());
        EXPECT_GT(p.grad().abs().sum().item<double>(), 0);
      }
      first = loss.item<double>();
    }
    last = loss.item<double>();
    optim.step();
  }
  EXPECT_LT(last, 0.9 * first) << method << ": " << first << " -> " << last;
  // And below the frozen model without a delta.
  torch::NoGradGuard no_grad;
  const at::Tensor plain = model->logits(ids).reshape({-1, 40});
  const double baseline =
      at::cross_entropy_loss(plain, at::full({plain.size(0)}, 7, at::kLong)).item<double>();
  EXPECT_LT(last, baseline) << method << ": " << last << " vs the plain model's " << baseline;
}

INSTANTIATE_TEST_SUITE_P(
    Lm, LmDeltaTraining,
    ::testing::Values(std::map<std::string, std::string>{{"prompt_tuning.n_virtual", "4"},
                                                         {"prompt_tuning.init", "random"}},
                      std::map<std::string, std::string>{{"prefix_tuning.n_virtual", "4"}},
                      std::map<std::string, std::string>{
                          {"prefix_tuning.n_virtual", "4"},
                          {"prefix_tuning.prefix_projection", "false"}},
                      std::map<std::string, std::string>{{"p_tuning.n_virtual", "4"}},
                      std::map<std::string, std::string>{{"p_tuning.n_virtual", "4"},
                                                         {"p_tuning.encoder", "lstm"}}));

}  // namespace lm_deltas_test
