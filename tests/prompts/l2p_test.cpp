// L2P's prompt pool against the L2P code (tests/fixtures/l2p, made by generate.py from
// JH-LEE-KR/l2p-pytorch's own Prompt module on fixed tensors) and against a direct computation;
// the delta on a tiny CLIP: masked classes get no gradient, evaluation chooses per image.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "prompts/l2p_pool.h"
#include "prompts/registry.h"
#include "src/core/config.h"
#include "src/core/file_io.h"
#include "src/core/npy.h"
#include "src/engine/task_mask.h"
#include "tests/prompts/tiny_clip.h"
#include "tests/test_support.h"

namespace vlprompt::testing {
namespace l2p_test {

using prompts::l2p::gather_prompts;
using prompts::l2p::select_prompts;

struct Case {
  std::string dir;
  nlohmann::json meta;
  at::Tensor operator[](const std::string& name) const {
    return core::read_npy(dir + "/" + name + ".npy");
  }
};

Case fixture(const std::string& name) {
  Case c{source_path("tests/fixtures/l2p/" + name)};
  c.meta = nlohmann::json::parse(core::read_file(c.dir + "/meta.json"));
  return c;
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_LE((a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>(), tol) << what;
}

class L2pOfficial : public ::testing::TestWithParam<std::string> {};

TEST_P(L2pOfficial, PoolLossAndGradientsMatchTheL2pCode) {
  const Case c = fixture(GetParam());
  const int64_t top_k = c.meta.at("top_k"), length = c.meta.at("length");
  const bool batchwise = c.meta.at("batchwise_prompt");
  const at::Tensor prompt = c["prompt"].clone().requires_grad_(true);
  const at::Tensor key = c["prompt_key"].clone().requires_grad_(true);
  const auto s = select_prompts(c["cls_features"], key, top_k, batchwise);
  expect_close(s.similarity, c["similarity"], 1e-6, "similarity");
  EXPECT_TRUE(at::equal(s.ids, c["prompt_idx"])) << s.ids << "\nvs\n" << c["prompt_idx"];
  expect_close(s.reduce_sim, c["reduce_sim"].reshape({}), 1e-6, "reduce_sim");
  const at::Tensor prompted = at::cat({gather_prompts(prompt, s.ids), c["x_embed"]}, 1);
  expect_close(prompted, c["prompted_embedding"], 0, "prompted embedding");

  // The official ViT's order [class token, prompts, patches], its 'prompt' readout, the linear
  // head, engine.py's train mask and loss.
  const int64_t batch = prompted.size(0), width = prompted.size(2);
  const at::Tensor x =
      at::cat({c["cls"].view({1, 1, width}).expand({batch, 1, width}), prompted}, 1);
  const at::Tensor readout = x.slice(1, 1, 1 + top_k * length).mean(1);
  expect_close(readout, c["readout"], 1e-6, "readout");
  const at::Tensor w = c["head_weight"].clone().requires_grad_(true);
  const at::Tensor b = c["head_bias"].clone().requires_grad_(true);
  const at::Tensor logits = engine::mask_logits(at::addmm(b, readout, w.t()), {2, 3});
  const at::Tensor expected_logits = c["logits"];
  EXPECT_TRUE(at::equal(logits.isinf(), expected_logits.isinf()));
  const at::Tensor finite = expected_logits.isfinite();
  expect_close(logits.masked_select(finite), expected_logits.masked_select(finite), 1e-5, "logits");
  const at::Tensor loss = at::cross_entropy_loss(logits, c["labels"]) - 0.1 * s.reduce_sim;
  expect_close(loss, c["loss"].reshape({}), 1e-5, "loss");
  loss.backward();
  expect_close(prompt.grad(), c["grad_prompt"], 1e-6, "grad prompt");
  expect_close(key.grad(), c["grad_prompt_key"], 1e-6, "grad prompt_key");
  expect_close(w.grad(), c["grad_head_weight"], 1e-6, "grad head weight");
  expect_close(b.grad(), c["grad_head_bias"], 1e-6, "grad head bias");
}

INSTANTIATE_TEST_SUITE_P(Cases, L2pOfficial,
                         ::testing::Values("k5_batchwise", "k5_instancewise",
                                           "pool20_len10_k4_batchwise"));

// Top-k by cosine per row, and the batch's vote (most rows, then the lower id), by loops.
TEST(L2pPool, SelectionIsTopKByCosineAndTheBatchMajority) {
  at::manual_seed(7);
  const int64_t batch = 9, pool = 12, dim = 6, k = 3;
  const at::Tensor query = at::randn({batch, dim}, at::kDouble);
  const at::Tensor keys = at::randn({pool, dim}, at::kDouble);
  const auto cosine = [&](int64_t i, int64_t p) {
    double dot = 0, nq = 0, nk = 0;
    for (int64_t d = 0; d < dim; ++d) {
      const double a = query[i][d].item<double>(), b = keys[p][d].item<double>();
      dot += a * b, nq += a * a, nk += b * b;
    }
    return dot / std::sqrt(nq * nk);
  };
  const auto own = select_prompts(query, keys, k, false);
  std::vector<int64_t> votes(pool, 0);
  for (int64_t i = 0; i < batch; ++i) {
    std::vector<int64_t> order(pool);
    for (int64_t p = 0; p < pool; ++p) order[p] = p;
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return cosine(i, a) > cosine(i, b); });
    for (int64_t j = 0; j < k; ++j) {
      EXPECT_EQ(own.ids[i][j].item<int64_t>(), order[j]) << "row " << i << " rank " << j;
      ++votes[order[j]];
    }
  }
  std::vector<int64_t> majority(pool);
  for (int64_t p = 0; p < pool; ++p) majority[p] = p;
  std::stable_sort(majority.begin(), majority.end(),
                   [&](int64_t a, int64_t b) { return votes[a] > votes[b]; });
  const auto shared = select_prompts(query, keys, k, true);
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t j = 0; j < k; ++j) EXPECT_EQ(shared.ids[i][j].item<int64_t>(), majority[j]);
  }
  EXPECT_THROW(select_prompts(query, keys, pool + 1, false), Error);
}

prompts::MethodContext four_classes() {
  prompts::MethodContext c;
  c.clip = tiny_clip(5);
  c.tokenizer = clip_tokenizer();
  c.classnames = {"cat", "dog", "bird", "fish"};
  c.seed = 2;
  return c;
}

TEST(L2pDelta, MaskedClassesGetNoGradientAndUnchosenPromptsStayPut) {
  auto method = prompts::make_method(
      "l2p", core::config_from_strings({{"l2p.pool_size", "6"}, {"l2p.top_k", "2"}}, "test"),
      four_classes());
  engine::TaskMaskedMethod masked(*method);
  masked.set_masks({0, 1}, {0, 1, 2, 3});
  masked.set_training(true);
  at::manual_seed(3);
  engine::Batch batch;
  batch.inputs = at::randn({5, 3, 64, 64});
  batch.labels = at::tensor(std::vector<int64_t>{0, 1, 1, 0, 1}, at::kLong);
  for (auto& p : masked.trainable_parameters()) p.mutable_grad() = at::Tensor();
  const engine::StepOutput out = masked.train_step(batch, "test");
  EXPECT_TRUE(out.logits.select(1, 2).isinf().all().item<bool>());
  const core::TensorMap state = method->state();
  const at::Tensor head_grad = state.at("l2p.head.weight").grad();
  ASSERT_TRUE(head_grad.defined());
  EXPECT_EQ(head_grad.slice(0, 2).abs().max().item<double>(), 0.0);
  EXPECT_GT(head_grad.slice(0, 0, 2).abs().max().item<double>(), 0.0);
  // Batch-wise: two prompts for every image; the four others get no gradient at all.
  const at::Tensor prompt_grad = state.at("l2p.prompt").grad().abs().sum({1, 2});
  EXPECT_EQ(prompt_grad.gt(0).sum().item<int64_t>(), 2) << prompt_grad;
  const at::Tensor key_grad = state.at("l2p.prompt_key").grad().abs().sum(1);
  EXPECT_EQ(key_grad.gt(0).sum().item<int64_t>(), 2) << key_grad;
}

TEST(L2pDelta, EvaluationChoosesPromptsPerImageNotByTheBatch) {
  auto method = prompts::make_method(
      "l2p", core::config_from_strings({{"l2p.pool_size", "8"}, {"l2p.top_k", "2"}}, "test"),
      four_classes());
  method->set_training(false);
  at::NoGradGuard no_grad;
  at::manual_seed(4);
  engine::Batch all;
  all.inputs = at::randn({6, 3, 64, 64});
  const at::Tensor together = method->forward(all);
  for (int64_t i = 0; i < 6; ++i) {
    engine::Batch one;
    one.inputs = all.inputs.slice(0, i, i + 1);
    expect_close(method->forward(one), together.slice(0, i, i + 1), 1e-5,
                 "image " + std::to_string(i));
  }
}

TEST(L2pDelta, RefusesAnotherImageDeltaBesideIt) {
  EXPECT_THROW(
      prompts::make_method("l2p+vpt", core::config_from_strings({}, "test"), four_classes()),
      Error);
}

}  // namespace l2p_test
}  // namespace vlprompt::testing
