// The serving loop end to end on the shipped tiny pretrained LM: requests for different deltas
// (and none), greedy and sampled, submitted at once and batched together, each get exactly the
// tokens of models::llama::generate run alone with that delta and those sampling parameters.
#include "serve/lm_engine.h"

#include <gtest/gtest.h>

#include <regex>

#include "models/llama/llama_generate.h"
#include "pipeline/lm_bundle.h"
#include "tests/lm/lm_test_support.h"

namespace vlprompt::serve {
namespace {

using lm_test_support::config;
using lm_test_support::context;

double metric(const std::string& text, const std::string& line_start) {
  const size_t at = text.find(line_start);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + line_start.size()));
}

TEST(LmEngine, BatchedRequestsEqualEachRequestServedAlone) {
  pipeline::LmBundle lm = pipeline::load_lm_bundle("tiny-pretrained-lm");
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>> kinds{
      {"prompt_tuning", {{"prompt_tuning.n_virtual", "4"}, {"prompt_tuning.init", "random"}}},
      {"prefix_tuning", {{"prefix_tuning.n_virtual", "3"}}},
      {"lora", {}},
      {"ia3", {}},
      {"adapter", {}}};
  std::vector<std::shared_ptr<const ServedDelta>> served{nullptr};  // base first
  for (size_t k = 0; k < kinds.size(); ++k) {
    auto d = std::make_shared<ServedDelta>();
    d->name = kinds[k].first;
    d->lm_delta =
        prompts::make_lm_delta(kinds[k].first, config(kinds[k].second), context(lm.model, 3));
    {
      at::NoGradGuard no_grad;
      at::manual_seed(k + 11);
      for (auto& p : d->lm_delta->parameters()) p.add_(at::randn(p.sizes()) * 0.3);
    }
    d->lm_delta->eval();
    d->lm_sites = d->lm_delta->sites(delta::Tower::kText, d->lm_context);
    served.push_back(d);
  }
  const std::vector<std::string> prompts{"Never trust a computer", "The best way to",
                                         "A fortune:", "Why is", "You will soon meet"};
  Metrics metrics;
  std::vector<std::shared_ptr<Completion>> jobs;
  {
    LmEngine engine(lm, LmEngineOptions{8, 50, 64, true}, &metrics);
    for (int64_t i = 0; i < 18; ++i) {
      SamplingParams p;
      p.max_tokens = 4 + i % 7;
      p.temperature = i % 3 == 0 ? 0.0 : 0.9;
      p.top_p = i % 2 ? 0.9 : 1.0;
      p.seed = 100 + static_cast<uint64_t>(i);
      jobs.push_back(std::make_shared<Completion>(
          served[i % served.size()], lm.tokenizer->encode(prompts[i % prompts.size()]), p));
      ASSERT_TRUE(engine.submit(jobs.back()));
    }
    engine.drain();  // finishes every accepted request
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    const CompletionState s = job->wait(0, std::chrono::steady_clock::now());
    ASSERT_TRUE(s.finished) << "request " << i;
    ASSERT_TRUE(s.error.empty()) << s.error;
    const SamplingParams& p = job->params();
    const auto options = models::llama::GenerateOptions()
                             .max_new_tokens(p.max_tokens)
                             .temperature(p.temperature)
                             .top_p(p.top_p)
                             .seed(p.seed)
                             .stop_token(lm.tokenizer->eos_id())
                             .vocab_limit(lm.tokenizer->vocab_size());
    const auto alone = models::llama::generate(
        lm.model, job->prompt(), job->delta() ? job->delta()->lm_sites : nullptr, options);
    std::vector<int64_t> batched;
    for (const TokenRecord& t : s.tokens) batched.push_back(t.id);
    EXPECT_EQ(batched, alone) << "request " << i << " ("
                              << (job->delta() ? job->delta()->name : "base") << ")";
    EXPECT_EQ(s.finish_reason,
              static_cast<int64_t>(alone.size()) == p.max_tokens ? "length" : "stop");
  }
  // The batches really held several deltas: not every decoding step had one.
  const std::string text = metrics.render();
  const double one = metric(text, "vlprompt_batch_deltas_bucket{le=\"1\",kind=\"lm_decode\"} ");
  const double all = metric(text, "vlprompt_batch_deltas_count{kind=\"lm_decode\"} ");
  ASSERT_GT(all, 0) << text;
  EXPECT_LT(one, all) << text;
}

TEST(LmEngine, RefusesPastItsQueueAndAfterDraining) {
  pipeline::LmBundle lm = pipeline::load_lm_bundle("tiny-pretrained-lm");
  LmEngine engine(lm, LmEngineOptions{1, 0, 2, true}, nullptr);
  SamplingParams p;
  p.max_tokens = 40;
  p.temperature = 0;
  int accepted = 0, refused = 0;
  std::vector<std::shared_ptr<Completion>> jobs;
  for (int i = 0; i < 12; ++i) {
    jobs.push_back(std::make_shared<Completion>(nullptr, lm.tokenizer->encode("Hello"), p));
    (engine.submit(jobs.back()) ? accepted : refused)++;
  }
  EXPECT_GT(refused, 0);
  EXPECT_LE(accepted, 4);  // at most max_queue waiting plus what had started
  engine.drain();
  EXPECT_FALSE(engine.submit(std::make_shared<Completion>(nullptr, lm.tokenizer->encode("x"), p)));
}

}  // namespace
}  // namespace vlprompt::serve
