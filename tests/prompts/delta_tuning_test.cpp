// The Delta Tuning methods (prompts/delta_tuning/) on the module-level sites of both backbones:
// zero-initialised deltas are the frozen model, a LoRA equals its merged weight, cached
// generation keeps the sites, the fast inference paths agree with the autograd path, and the
// trainable parameters are the closed forms.
#include <gtest/gtest.h>

#include "models/llama/llama_generate.h"
#include "prompts/registry.h"
#include "src/delta/delta_stack.h"
#include "src/nn/delta_linear.h"
#include "tests/lm/lm_test_support.h"
#include "tests/prompts/tiny_clip.h"
#include "tests/test_support.h"

namespace vlprompt::prompts {
namespace {

using lm_test_support::batch_ids;
using lm_test_support::max_diff;
using lm_test_support::tiny_llama;

const std::vector<std::string> kMethods = {"lora", "ia3", "adapter", "bitfit", "ln_tuning"};

std::shared_ptr<delta::Delta> clip_delta(const std::string& method, const models::Clip& clip,
                                         std::map<std::string, std::string> keys = {}) {
  MethodContext context;
  context.clip = clip;
  context.tokenizer = testing::clip_tokenizer();
  context.classnames = {"cat", "dog"};
  context.seed = 3;
  return make_delta(method, core::config_from_strings(keys, "test"), context);
}

std::shared_ptr<delta::Delta> llama_delta(const std::string& method,
                                          const models::llama::LlamaModel& model,
                                          std::map<std::string, std::string> keys = {}) {
  return make_lm_delta(method, core::config_from_strings(keys, "test"),
                       lm_test_support::context(model, 3));
}

int64_t count(const delta::Delta& d) {
  int64_t n = 0;
  for (const auto& [name, t] : d.named_tensors()) n += t.numel();
  return n;
}

// Every tensor of the delta set to small random values (deterministic), so no term is zero.
void randomise(delta::Delta& d, uint64_t seed) {
  at::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& [name, t] : d.named_tensors()) {
    t.add_(at::empty(t.sizes(), t.options()).normal_(0.0, 0.1, generator));
  }
}

struct ClipPass {
  at::Tensor image, text;
};

ClipPass encode(models::Clip& clip, delta::Delta* d) {
  at::manual_seed(11);
  const at::Tensor pixels = at::randn({2, 3, 64, 64});
  const at::Tensor ids = at::tensor({49406, 320, 1125, 539,   320, 2368, 269, 49407, 0, 0,
                                     49406, 320, 1929, 49407, 0,   0,    0,   0,     0, 0},
                                    at::kLong)
                             .view({2, 10});
  const delta::SiteContext none;
  return {clip->encode_image(pixels, d ? d->sites(delta::Tower::kImage, none) : nullptr),
          clip->encode_text(ids, d ? d->sites(delta::Tower::kText, none) : nullptr)};
}

TEST(ModuleDeltas, ZeroInitialisedDeltasAreTheFrozenClip) {
  models::Clip clip = testing::tiny_clip();
  at::NoGradGuard no_grad;
  const ClipPass frozen = encode(clip, nullptr);
  for (const auto& method : kMethods) {
    auto d = clip_delta(method, clip);
    ASSERT_TRUE(d->touches(delta::Tower::kImage) && d->touches(delta::Tower::kText)) << method;
    const ClipPass with = encode(clip, d.get());
    // Not bit-identical: a projection with a delta leaves the folded QuickGELU GEMM.
    EXPECT_LT(max_diff(with.image, frozen.image), 1e-5) << method;
    EXPECT_LT(max_diff(with.text, frozen.text), 1e-5) << method;
    randomise(*d, 5);
    const ClipPass moved = encode(clip, d.get());
    EXPECT_GT(max_diff(moved.image, frozen.image), 1e-3) << method << " never reached the image";
    EXPECT_GT(max_diff(moved.text, frozen.text), 1e-3) << method << " never reached the text";
  }
}

TEST(ModuleDeltas, ZeroInitialisedDeltasAreTheFrozenLlama) {
  auto model = tiny_llama();
  at::NoGradGuard no_grad;
  const at::Tensor frozen = model->logits(batch_ids());
  for (const auto& method : kMethods) {
    auto d = llama_delta(method, model);
    const delta::SiteContext none;
    EXPECT_EQ(max_diff(model->logits(batch_ids(), d->sites(delta::Tower::kText, none)), frozen),
              0.0)
        << method;
    randomise(*d, 5);
    EXPECT_GT(max_diff(model->logits(batch_ids(), d->sites(delta::Tower::kText, none)), frozen),
              1e-3)
        << method;
  }
}

TEST(ModuleDeltas, TrainableParametersAreTheClosedForms) {
  // tiny LLaMA: L 2, hidden 16, 4 heads of 4, 2 KV heads (kv width 8), FFN 32.
  const int64_t L = 2, w = 16, kv = 8, ff = 32;
  auto model = tiny_llama();
  EXPECT_EQ(count(*llama_delta("lora", model)), L * ((8 * w + w * 8) + (8 * w + kv * 8)));
  EXPECT_EQ(count(*llama_delta("lora", model,
                               {{"lora.r", "2"},
                                {"lora.target_modules", "all-linear"},
                                {"lora.layers_to_transform", "1"}})),
            2 * (w + w) + 2 * (w + kv) * 2 + 2 * (w + w) + 3 * 2 * (w + ff));
  EXPECT_EQ(count(*llama_delta("ia3", model)), L * (kv + kv + ff));
  EXPECT_EQ(count(*llama_delta("adapter", model)), L * 2 * (w * 1 + 1 + 1 * w + w));
  EXPECT_EQ(count(*llama_delta("adapter", model, {{"adapter.style", "pfeiffer"}})),
            L * (w * 1 + 1 + 1 * w + w));
  EXPECT_EQ(count(*llama_delta("bitfit", model)),
            L * (w + kv + kv + w + ff + ff + w) + (2 * L + 1) * w);
  EXPECT_EQ(count(*llama_delta("ln_tuning", model)), (2 * L + 1) * w);
  // tiny CLIP (models/configs/tiny.yaml): both towers' widths and depths from its config.
  models::Clip clip = testing::tiny_clip();
  const auto& c = clip->config();
  const int64_t tw = c.text.width, tl = c.text.layers, vw = c.vision.width, vl = c.vision.layers;
  EXPECT_EQ(count(*clip_delta("lora", clip)), tl * 2 * (2 * 8 * tw) + vl * 2 * (2 * 8 * vw));
  EXPECT_EQ(count(*clip_delta("lora", clip, {{"lora.towers", "image"}})), vl * 2 * (2 * 8 * vw));
  // BitFit on CLIP: q, k, v, out (w each), c_fc (4w), c_proj (w); ln_1, ln_2 per block; ln_final
  // (text), ln_pre and ln_post (image).
  EXPECT_EQ(count(*clip_delta("bitfit", clip)),
            tl * (9 * tw + 2 * tw) + tw + vl * (9 * vw + 2 * vw) + 2 * vw);
  EXPECT_EQ(count(*clip_delta("ln_tuning", clip)), (2 * tl + 1) * 2 * tw + (2 * vl + 2) * 2 * vw);
  EXPECT_EQ(count(*clip_delta("ia3", clip)), tl * (tw + tw + 4 * tw) + vl * (vw + vw + 4 * vw));
}

TEST(ModuleDeltas, PartialAndFinetuneStartAsTheFrozenModelAndCountItsTensors) {
  auto model = tiny_llama();
  int64_t all = 0, one_layer = 0;
  for (const auto& p : model->named_parameters()) {
    all += p.value().numel();
    if (p.key().rfind("model.layers.1.", 0) == 0) one_layer += p.value().numel();
  }
  const int64_t w = 16;
  EXPECT_EQ(count(*llama_delta("finetune", model)), all);
  EXPECT_EQ(count(*llama_delta("partial", model)), one_layer + w);  // + the final norm
  EXPECT_EQ(count(*llama_delta("partial", model, {{"partial.k", "5"}})),
            all - model->model->embed_tokens->weight.numel() - model->lm_head->weight.numel());
  at::NoGradGuard no_grad;
  const delta::SiteContext none;
  for (const char* method : {"partial", "finetune"}) {
    auto d = llama_delta(method, model);
    EXPECT_EQ(max_diff(model->logits(batch_ids(), d->sites(delta::Tower::kText, none)),
                       model->logits(batch_ids())),
              0.0)
        << method;
  }
  models::Clip clip = testing::tiny_clip();
  int64_t clip_all = 0;
  for (const auto& [name, t] : clip->weights()) clip_all += name == "logit_scale" ? 0 : t.numel();
  EXPECT_EQ(count(*clip_delta("finetune", clip)), clip_all);
  const ClipPass frozen = encode(clip, nullptr);
  for (const char* method : {"partial", "finetune"}) {
    auto d = clip_delta(method, clip);
    const ClipPass with = encode(clip, d.get());
    EXPECT_LT(max_diff(with.image, frozen.image), 1e-5) << method;
    EXPECT_LT(max_diff(with.text, frozen.text), 1e-5) << method;
    randomise(*d, 21);
    EXPECT_GT(max_diff(encode(clip, d.get()).image, frozen.image), 1e-3) << method;
  }
  // Finetune's tensors reach the text tower's embeddings too.
  auto text_only = clip_delta("finetune", clip, {{"finetune.towers", "text"}});
  randomise(*text_only, 23);
  EXPECT_GT(max_diff(encode(clip, text_only.get()).text, frozen.text), 1e-3);
}

TEST(ModuleDeltas, LoraEqualsItsMergedWeights) {
  // Independent of apply_linear: the merged model is built here from W + (alpha / r) B A.
  auto model = tiny_llama();
  auto lora = llama_delta("lora", model, {{"lora.alpha", "16"}, {"lora.r", "4"}});
  randomise(*lora, 9);
  at::NoGradGuard no_grad;
  const delta::SiteContext none;
  const at::Tensor with = model->logits(batch_ids(), lora->sites(delta::Tower::kText, none));
  auto merged = tiny_llama();
  const core::TensorMap t = lora->named_tensors();
  for (int64_t l = 0; l < 2; ++l) {
    auto& attn = merged->model->layer_list[l]->self_attn;
    for (const auto& [name, proj] : {std::pair{"q_proj", attn->q_proj}, {"v_proj", attn->v_proj}}) {
      const std::string key = "lora.text.layers." + std::to_string(l) + "." + name;
      proj->weight.add_(at::mm(t.at(key + ".lora_B"), t.at(key + ".lora_A")) * (16.0 / 4.0));
    }
  }
  EXPECT_LT(max_diff(merged->logits(batch_ids()), with), 1e-5);
}

TEST(ModuleDeltas, CachedGenerationKeepsTheModuleSitesAtEveryStep) {
  auto model = tiny_llama();
  for (const auto& method : {"lora", "ia3+adapter", "bitfit+prompt_tuning"}) {
    auto d = llama_delta(method, model, {{"prompt_tuning.n_virtual", "2"}});
    randomise(*d, 13);
    const delta::SiteContext none;
    nn::DeltaSites* sites = d->sites(delta::Tower::kText, none);
    at::NoGradGuard no_grad;
    const at::Tensor ids = batch_ids().slice(0, 0, 1);
    const at::Tensor full = model->logits(ids, sites);
    models::llama::LlamaCache cache;
    std::vector<at::Tensor> steps;
    steps.push_back(model->forward_step(ids.slice(1, 0, 2), cache, sites));
    for (int64_t i = 2; i < ids.size(1); ++i) {
      steps.push_back(model->forward_step(ids.slice(1, i, i + 1), cache, sites));
    }
    const at::Tensor stepped = at::cat(steps, 1);
    ASSERT_EQ(stepped.sizes(), full.sizes()) << method;
    EXPECT_LT(max_diff(stepped, full), 1e-4) << method;
  }
}

TEST(ModuleDeltas, FastInferencePathsAgreeWithTheAutogradPath) {
  models::Clip clip = testing::tiny_clip();
  for (const auto& method : {"lora", "ia3", "adapter", "bitfit"}) {
    auto d = clip_delta(method, clip, {{"lora.target_modules", "all-linear"}});
    randomise(*d, 17);
    ClipPass fast;
    {
      at::NoGradGuard no_grad;
      fast = encode(clip, d.get());
    }
    const ClipPass graph = encode(clip, d.get());  // the delta's tensors require grad
    ASSERT_TRUE(graph.image.requires_grad()) << method;
    EXPECT_LT(max_diff(graph.image, fast.image), 1e-5) << method;
    EXPECT_LT(max_diff(graph.text, fast.text), 1e-5) << method;
  }
}

TEST(ModuleDeltas, OneNameTrainsOnEitherModelKind) {
  EXPECT_TRUE(find_method("lora").is_any_model());
  EXPECT_FALSE(is_lm_method("lora"));
  EXPECT_TRUE(is_lm_method("lora", /*llama_model=*/true));
  EXPECT_TRUE(is_lm_method("lora+prompt_tuning"));
  EXPECT_FALSE(is_lm_method("lora+coop", /*llama_model=*/true));
  EXPECT_THROW(method_members("lora+coop+prompt_tuning"), Error);
}

TEST(ModuleDeltas, BadTargetsAreNamed) {
  auto model = tiny_llama();
  try {
    llama_delta("lora", model, {{"lora.target_modules", "q_proj,c_fc"}});
    FAIL() << "c_fc is not a LLaMA projection";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'c_fc'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gate_proj"), std::string::npos) << e.what();
  }
  EXPECT_THROW(llama_delta("lora", model, {{"lora.layers_to_transform", "2"}}), Error);
  models::Clip clip = testing::tiny_clip();
  EXPECT_THROW(clip_delta("lora", clip, {{"lora.target_modules", "gate_proj"}}), Error);
  // CLIP answers to LLaMA's names for the projections it has.
  EXPECT_EQ(count(*clip_delta("ia3", clip, {{"ia3.towers", "text"}})),
            clip->config().text.layers * 6 * clip->config().text.width);
}

TEST(ModuleDeltas, BadOptionsAreNamedWithTheKeyAndValue) {
  auto model = tiny_llama();
  models::Clip clip = testing::tiny_clip();
  const auto error = [](const std::function<void()>& f) { return testing::error_of(f); };
  std::string m = error([&] { llama_delta("lora", model, {{"lora.r", "0"}}); });
  EXPECT_NE(m.find("lora.r is 0, expected >= 1"), std::string::npos) << m;
  m = error([&] { llama_delta("lora", model, {{"lora.dropout", "1"}}); });
  EXPECT_NE(m.find("lora.dropout is 1, expected in [0, 1)"), std::string::npos) << m;
  m = error([&] {
    llama_delta("bitfit", model, {{"bitfit.linears", "false"}, {"bitfit.norms", "false"}});
  });
  EXPECT_NE(m.find("there is nothing to tune"), std::string::npos) << m;
  m = error([&] { llama_delta("adapter", model, {{"adapter.style", "lora"}}); });
  EXPECT_NE(m.find("adapter.style is 'lora', expected houlsby, pfeiffer or vpt"), std::string::npos)
      << m;
  m = error([&] { llama_delta("ia3", model, {{"ia3.feedforward_modules", "up_proj"}}); });
  EXPECT_NE(m.find("which target_modules does not"), std::string::npos) << m;
  m = error([&] { llama_delta("partial", model, {{"partial.k", "0"}}); });
  EXPECT_NE(m.find("partial.k is 0, expected >= 1"), std::string::npos) << m;
  m = error([&] { clip_delta("lora", clip, {{"lora.towers", "audio"}}); });
  EXPECT_NE(m.find("'audio' is not a tower"), std::string::npos) << m;
  m = error([&] { clip_delta("mlp_head", clip, {{"mlp_head.k", "0"}}); });
  EXPECT_NE(m.find("mlp_head.k is 0, expected >= 1"), std::string::npos) << m;
  m = error([&] { clip_delta("side", clip, {{"side.channels", "0"}}); });
  EXPECT_NE(m.find("side.channels is 0, expected >= 1"), std::string::npos) << m;
}

TEST(ModuleDeltas, AStackOfLoraAndCoopFillsBothKindsOfSite) {
  models::Clip clip = testing::tiny_clip();
  auto d = clip_delta("lora+coop", clip, {{"coop.n_ctx", "4"}});
  const core::TensorMap t = d->named_tensors();
  EXPECT_TRUE(t.count("coop.ctx"));
  EXPECT_TRUE(t.count("lora.text.layers.0.q_proj.lora_A"));
  EXPECT_TRUE(t.count("lora.image.layers.0.v_proj.lora_B"));
}

}  // namespace
}  // namespace vlprompt::prompts
