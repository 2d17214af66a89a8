// DAPL's prompts, pseudo-labels and loss: token ids against the reference code's own prompt text
// (tokenized independently by tests/fixtures/dapl_prompt_ids.py), pseudo-labels against a
// softmax written out here, and a short training on the digits pair whose loss must fall.
#include "prompts/dapl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "datasets/loader.h"
#include "prompts/prompted_clip.h"
#include "src/engine/paired_data.h"
#include "src/engine/trainer.h"
#include "src/image/clip_preprocess.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::dapl_test {

using prompts::Dapl;
using prompts::DaplOptions;
using testing::clip_tokenizer;
using testing::tiny_clip;

// ids up to EOT, as dapl_prompt_ids.py printed them for n_ctx 2, n_dmx 2, classes
// [seven, ice_cream], domains [opencv, Real_World] (the reference's text in the comments).
const std::vector<std::vector<int64_t>> kReferenceIds{
    // X X X X seven , a opencv image..
    {49406, 343, 343, 343, 343, 5757, 267, 320, 3647, 13947, 2867, 852, 49407},
    // X X X X ice cream , a opencv image..
    {49406, 343, 343, 343, 343, 733, 3867, 267, 320, 3647, 13947, 2867, 852, 49407},
    // X X X X seven , a Real_World image..
    {49406, 343, 343, 343, 343, 5757, 267, 320, 1532, 318, 1002, 2867, 852, 49407},
    // X X X X ice cream , a Real_World image..
    {49406, 343, 343, 343, 343, 733, 3867, 267, 320, 1532, 318, 1002, 2867, 852, 49407}};
const std::vector<std::vector<int64_t>> kPseudoIds{
    {49406, 320, 1125, 539, 320, 5757, 269, 49407},        // a photo of a seven.
    {49406, 320, 1125, 539, 320, 733, 3867, 269, 49407}};  // a photo of a ice cream.

Dapl two_by_two(models::Clip clip, bool csc = false) {
  return Dapl(DaplOptions().n_ctx(2).n_dmx(2).csc(csc).seed(3).domains("opencv,Real_World"), clip,
              clip_tokenizer(), std::vector<std::string>{"seven", "ice_cream"});
}

void expect_rows(const at::Tensor& ids, const std::vector<std::vector<int64_t>>& want) {
  ASSERT_EQ(ids.size(0), static_cast<int64_t>(want.size()));
  for (size_t r = 0; r < want.size(); ++r) {
    const int64_t n = static_cast<int64_t>(want[r].size());
    EXPECT_EQ(std::vector<int64_t>(ids[r].data_ptr<int64_t>(), ids[r].data_ptr<int64_t>() + n),
              want[r])
        << "row " << r;
    EXPECT_EQ(ids[r].slice(0, n).abs().sum().item<int64_t>(), 0) << "padding of row " << r;
  }
}

TEST(DaplPrompt, TokenIdsAreTheReferenceTextsDomainMajor) {
  Dapl dapl = two_by_two(tiny_clip());
  expect_rows(dapl->class_prompt_ids().cpu(), kReferenceIds);
  expect_rows(dapl->named_buffers()["pseudo_ids"].cpu(), kPseudoIds);
  EXPECT_EQ(dapl->domains(), (std::vector<std::string>{"opencv", "Real_World"}));
  EXPECT_EQ(dapl->default_domain(), "Real_World");
  // Only the learned tensors go to the delta file.
  const auto tensors = dapl->named_tensors();
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors.at("dapl.ctx").sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(tensors.at("dapl.dmx").sizes(), (std::vector<int64_t>{2, 2, 64}));
}

TEST(DaplPrompt, RowsCarryTheSharedContextThenTheirDomainsVectors) {
  for (const bool csc : {false, true}) {
    Dapl dapl = two_by_two(tiny_clip(), csc);
    const at::Tensor tokens = at::zeros({4, 14, 64});
    const delta::SiteContext all;
    const at::Tensor out =
        dapl->sites(delta::Tower::kText, all)->input_tokens(tokens, dapl->class_prompt_ids());
    ASSERT_EQ(out.sizes(), tokens.sizes());
    for (int64_t d = 0; d < 2; ++d) {
      for (int64_t c = 0; c < 2; ++c) {
        const at::Tensor row = out[d * 2 + c];
        const at::Tensor ctx = csc ? dapl->ctx[c] : dapl->ctx;
        EXPECT_TRUE(at::equal(row.slice(0, 1, 3), ctx)) << "csc " << csc << " row " << d * 2 + c;
        EXPECT_TRUE(at::equal(row.slice(0, 3, 5), dapl->dmx[d]));
        EXPECT_EQ(row[0].abs().sum().item<float>(), 0.f);  // SOS and the tail untouched
        EXPECT_EQ(row.slice(0, 5).abs().sum().item<float>(), 0.f);
      }
    }
  }
}

TEST(DaplPseudoLabels, EqualASoftmaxAtTemperatureThresholdedAtTau) {
  // Zero-shot logits of 4 images over 3 classes, written out.
  const std::vector<std::vector<float>> logits{
      {2.0f, 0.5f, 0.1f}, {1.0f, 1.1f, 0.9f}, {-3.0f, 0.0f, 4.0f}, {0.2f, 0.3f, 0.25f}};
  for (const double t : {1.0, 2.0}) {
    const double tau = 0.5;
    std::vector<int64_t> want_labels;
    std::vector<bool> want_keep;
    for (const auto& row : logits) {
      double z = 0, best = -1;
      int64_t arg = 0;
      for (float v : row) z += std::exp(v / t);
      for (size_t k = 0; k < row.size(); ++k) {
        const double p = std::exp(row[k] / t) / z;
        if (p > best) best = p, arg = static_cast<int64_t>(k);
      }
      want_labels.push_back(arg);
      want_keep.push_back(best >= tau);
    }
    at::Tensor flat = at::empty({4, 3});
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 3; ++k) flat[i][k] = logits[i][k];
    const prompts::PseudoLabels p = prompts::dapl_pseudo_labels(flat, t, tau);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(p.labels[i].item<int64_t>(), want_labels[i]) << "t " << t << " image " << i;
      EXPECT_EQ(p.keep[i].item<bool>(), want_keep[i]) << "t " << t << " image " << i;
    }
    // Through the delta: its zero-shot prompts' frozen features and CLIP's logits, both given.
    Dapl dapl(DaplOptions().n_ctx(1).n_dmx(1).t(t).tau(tau).domains("a,b"), tiny_clip(),
              clip_tokenizer(), std::vector<std::string>{"cat", "dog", "bird"});
    delta::UnlabelledContext context;
    context.input_features = flat;
    context.frozen_class_features = [](const at::Tensor& ids) {
      EXPECT_EQ(ids.size(0), 3);
      return at::eye(3);
    };
    context.logits = [](const at::Tensor& image, const at::Tensor& text) {
      return at::matmul(image, text.t());
    };
    const at::Tensor labels = dapl->pseudo_labels(context);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(labels[i].item<int64_t>(), want_keep[i] ? want_labels[i] : -1) << "image " << i;
    }
  }
}

TEST(DaplLoss, TargetTermIsTheMaskedMeanCrossEntropyOverTheTargetPrompts) {
  // 3 classes, domains [src, tgt]; text rows 0..2 are the source's prompts, 3..5 the target's.
  const at::Tensor image =
      at::tensor({1.0f, 0.0f, 0.0f, 0.2f, 0.3f, 0.1f, 0.0f, 0.0f, 2.0f}).view({3, 3});
  const at::Tensor zero_shot_text = at::eye(3) * 3.0;
  const at::Tensor text = at::tensor({9.f, 9.f, 9.f, 9.f, 9.f, 9.f, 9.f, 9.f, 9.f,  // source
                                      0.5f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 2.f})
                              .view({6, 3});
  const double t = 1.0, tau = 0.6, u = 0.7;
  Dapl dapl(DaplOptions().n_ctx(1).n_dmx(1).t(t).tau(tau).u(u).domains("src,tgt"), tiny_clip(),
            clip_tokenizer(), std::vector<std::string>{"cat", "dog", "bird"});
  delta::UnlabelledContext context;
  context.input_features = image;
  context.class_features = text;
  context.frozen_class_features = [&](const at::Tensor&) { return zero_shot_text; };
  context.logits = [](const at::Tensor& i, const at::Tensor& x) { return at::matmul(i, x.t()); };
  // Written out: pseudo-label and keep from the zero-shot logits, CE on the target logits.
  double sum = 0, kept = 0;
  for (int n = 0; n < 3; ++n) {
    double z = 0, best = -1, zt = 0;
    int arg = 0;
    for (int k = 0; k < 3; ++k) z += std::exp(3.0 * image[n][k].item<double>() / t);
    for (int k = 0; k < 3; ++k) {
      const double p = std::exp(3.0 * image[n][k].item<double>() / t) / z;
      if (p > best) best = p, arg = k;
    }
    if (best < tau) continue;
    double target_logit[3];
    for (int k = 0; k < 3; ++k) {
      target_logit[k] = 0;
      for (int e = 0; e < 3; ++e) {
        target_logit[k] += image[n][e].item<double>() * text[3 + k][e].item<double>();
      }
      zt += std::exp(target_logit[k]);
    }
    sum += std::log(zt) - target_logit[arg];
    kept += 1;
  }
  ASSERT_EQ(kept, 2);  // image 1 is too uncertain at tau 0.6
  const at::Tensor loss = dapl->unlabelled_loss(context);
  EXPECT_NEAR(loss.item<double>(), u * sum / kept, 1e-5);
  EXPECT_NEAR(dapl->epoch_metrics().at("pseudo_share"), 2.0 / 3.0, 1e-12);
  EXPECT_TRUE(dapl->epoch_metrics().empty());  // the count starts again
  // Nothing kept: 0, not the reference's 0 / 0.
  Dapl strict(DaplOptions().n_ctx(1).n_dmx(1).tau(0.999).domains("src,tgt"), tiny_clip(),
              clip_tokenizer(), std::vector<std::string>{"cat", "dog", "bird"});
  EXPECT_EQ(strict->unlabelled_loss(context).item<double>(), 0.0);
}

// Frozen tiny-CLIP features of a split's center views.
at::Tensor features_of(models::Clip& clip, const datasets::DatasetSplit& split, size_t limit) {
  std::vector<at::Tensor> pixels;
  for (size_t i = 0; i < split.items.size() && i < limit; ++i) {
    pixels.push_back(image::normalize(image::resize_center_crop(split.items[i].pixels, 64)));
  }
  at::NoGradGuard no_grad;
  return clip->encode_image(at::stack(pixels));
}

// A short DAPL training on digits-opencv (3 shots per digit) -> 64 digits-sklearn images, the
// target's rows carrying `target_labels` (which training must ignore).
struct DigitsRun {
  engine::TrainResult result;
  core::TensorMap state;
};
DigitsRun train_digits(const std::string& name,
                       const std::function<at::Tensor(const at::Tensor&)>& target_labels) {
  const std::string root = testing::shared_path("data/digits");
  datasets::DatasetSplit source = datasets::load_split("digits-opencv", root, "train");
  datasets::DatasetSplit target = datasets::load_split("digits-sklearn", root, "train");
  std::vector<datasets::ImageRecord> shots;
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 10; ++c) {
    int taken = 0;
    for (const auto& r : source.items) {
      if (r.label == c && taken < 3) shots.push_back(r), labels.push_back(c), ++taken;
    }
  }
  source.items = shots;
  std::vector<int64_t> truth;
  for (size_t i = 0; i < 64; ++i) truth.push_back(target.items[i * 7].label);
  std::vector<datasets::ImageRecord> spread;
  for (size_t i = 0; i < 64; ++i) spread.push_back(target.items[i * 7]);  // every digit
  target.items = spread;
  models::Clip clip = tiny_clip(5);
  const at::Tensor source_features = features_of(clip, source, 30);
  const at::Tensor target_features = features_of(clip, target, 64);

  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  stack->add("dapl",
             Dapl(DaplOptions().n_ctx(4).n_dmx(4).tau(0.11).seed(1).domains("opencv,sklearn"), clip,
                  clip_tokenizer(), source.classnames));
  prompts::PromptedClipMethod method(clip, clip_tokenizer(), stack, source.classnames);
  engine::PairedTrainData paired(
      std::make_unique<engine::TensorData>(source_features, at::tensor(labels, at::kLong), true),
      std::make_unique<engine::TensorData>(target_features,
                                           target_labels(at::tensor(truth, at::kLong)), true),
      16, 0, 1, 1);
  const std::string run = testing::scratch_dir("dapl_" + name);
  std::filesystem::remove_all(run);
  engine::OptimizerOptions sgd;
  sgd.lr(0.05);
  engine::Trainer trainer(engine::TrainerOptions(run)
                              .max_epoch(8)
                              .batch_size(10)
                              .optimizer(sgd)
                              .schedule(engine::ScheduleOptions().name("constant"))
                              .progress(engine::ProgressMode::kOff));
  DigitsRun out;
  out.result = trainer.fit(method, paired);
  out.state = method.state();
  return out;
}

TEST(DaplLoss, FallsOnTheDigitsPair) {
  VLP_REQUIRE_SHARED("data/digits/opencv_digits_20x20.png");
  const DigitsRun run =
      train_digits("loss", [](const at::Tensor& t) { return at::full_like(t, -1); });
  const auto& h = run.result.history;
  ASSERT_EQ(h.size(), 8u);
  EXPECT_LT(h.back().loss, 0.9 * h.front().loss);
  // Some target views were pseudo-labelled, so the target term took part.
  ASSERT_TRUE(h.front().extra.count("pseudo_share"));
  EXPECT_GT(h.front().extra.at("pseudo_share"), 0.0);
}

TEST(DaplLoss, TargetLabelsTrueScrambledOrAbsentTrainTheSameDelta) {
  VLP_REQUIRE_SHARED("data/digits/opencv_digits_20x20.png");
  const DigitsRun absent =
      train_digits("absent", [](const at::Tensor& t) { return at::full_like(t, -1); });
  const DigitsRun truth = train_digits("truth", [](const at::Tensor& t) { return t; });
  const DigitsRun scrambled =
      train_digits("scrambled", [](const at::Tensor& t) { return (t * 3 + 1) % 10; });
  for (const auto* other : {&truth, &scrambled}) {
    for (const auto& [name, tensor] : absent.state) {
      EXPECT_TRUE(at::equal(tensor, other->state.at(name))) << name;
    }
    EXPECT_EQ(other->result.history.back().loss, absent.result.history.back().loss);
  }
}

}  // namespace vlprompt::dapl_test
