// The CLIP serving loop: requests for different image-side deltas (VPT shallow and deep, two
// prompt lengths), a text-side one (CoOp) and zero-shot base, waiting together, are answered from
// shared image passes (prompts gathered per row) with the logits each delta gives alone.
#include "serve/clip_engine.h"

#include <gtest/gtest.h>

#include "prompts/coop.h"
#include "prompts/prompted_clip.h"
#include "prompts/vpt.h"
#include "prompts/zeroshot_classifier.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::serve {
namespace {

using vlprompt::testing::clip_tokenizer;
using vlprompt::testing::tiny_clip;

std::shared_ptr<ServedDelta> served(const std::string& name, models::Clip& clip,
                                    const std::string& member, std::shared_ptr<delta::Delta> d,
                                    const std::vector<std::string>& classes) {
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  stack->add(member, d);
  auto method =
      std::make_shared<prompts::PromptedClipMethod>(clip, clip_tokenizer(), stack, classes);
  method->set_training(false);
  auto out = std::make_shared<ServedDelta>();
  out->name = name;
  out->model = DeltaModel::kClip;
  out->info.classnames = classes;
  out->image_side = method->data_needs().images_in_loop;
  out->clip_method = method;
  return out;
}

TEST(ClipEngine, MixedDeltasShareImagePassesAndEqualTheirOwnForward) {
  models::Clip clip = tiny_clip();
  const std::vector<std::string> classes{"cat", "dog", "bird"};
  std::vector<std::shared_ptr<ServedDelta>> deltas;
  auto vpt = [&](int64_t n, bool deep, uint64_t seed) {
    auto v = prompts::Vpt(prompts::VptOptions().n_ctx(n).deep(deep).seed(seed), clip);
    at::NoGradGuard no_grad;
    v->prompts.normal_(0, 1);  // far from the initialisation, so each delta matters
    return std::static_pointer_cast<delta::Delta>(v.ptr());
  };
  deltas.push_back(served("shallow4", clip, "vpt", vpt(4, false, 1), classes));
  deltas.push_back(served("deep4", clip, "vpt", vpt(4, true, 2), classes));
  deltas.push_back(served("shallow4b", clip, "vpt", vpt(4, false, 3), classes));
  deltas.push_back(served("shallow6", clip, "vpt", vpt(6, false, 4), classes));
  deltas.push_back(served(
      "coop", clip, "coop",
      prompts::CoOp(prompts::CoOpOptions().n_ctx(4).seed(5), clip, clip_tokenizer(), classes).ptr(),
      classes));
  for (const auto& d : deltas) ASSERT_EQ(d->image_side, d->name != "coop") << d->name;
  pipeline::ModelBundle bundle;
  bundle.clip.model = clip;
  bundle.tokenizer = clip_tokenizer();
  Metrics metrics;
  std::vector<std::shared_ptr<ClipJob>> jobs;
  at::manual_seed(9);
  {
    ClipEngineOptions options;
    options.max_wait_ms = 200;  // every request below waits for the same pass
    ClipEngine engine(bundle, options, &metrics);
    for (int64_t i = 0; i < 12; ++i) {
      auto job = std::make_shared<ClipJob>();
      job->pixels = at::randn({1 + i % 3, 3, 64, 64});
      if (i % 6 == 5) {
        job->classes = classes;  // base, zero-shot
      } else {
        job->delta = deltas[i % 6];
      }
      jobs.push_back(job);
      ASSERT_TRUE(engine.submit(job));
    }
    engine.drain();
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    ASSERT_TRUE(job->error.empty()) << job->error;
    at::Tensor alone;
    if (job->delta) {
      engine::Batch batch;
      batch.inputs = job->pixels;
      batch.labels = at::zeros({job->pixels.size(0)}, at::kLong);
      alone = job->delta->clip_method->forward(batch);
    } else {
      alone = clip->logits(
          clip->encode_image(job->pixels),
          prompts::zeroshot_weights(clip, *clip_tokenizer(), classes, {"a photo of a {}."}));
    }
    EXPECT_LE((job->result - alone).abs().max().item<double>(), 1e-4)
        << "request " << i << " (" << (job->delta ? job->delta->name : "base") << ")";
  }
  // Three image passes: CoOp's and base's rows together, then the image-side deltas by prompt
  // length (three 4-token deltas, shallow and deep, gathered per row; the 6-token one).
  const std::string text = metrics.render();
  EXPECT_NE(text.find("vlprompt_batch_rows_count{kind=\"clip_image_pass\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vlprompt_batch_deltas_bucket{le=\"1\",kind=\"clip\"} 0"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace vlprompt::serve
