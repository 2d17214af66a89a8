// Continuous batching across deltas: every row of a batch that mixes deltas (virtual tokens,
// prefixes, an encoder, LoRA, IA3, adapters, BitFit, none), joining and leaving at different
// steps, gets the logits and greedy tokens of the same sequence decoded alone with its own delta.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "models/llama/llama_generate.h"
#include "serve/decode_batch.h"
#include "serve/lm_engine.h"
#include "src/delta/mixed_token_sites.h"
#include "tests/lm/lm_test_support.h"

namespace vlprompt::serve {
namespace {

using lm_test_support::config;
using lm_test_support::context;
using lm_test_support::max_diff;
using lm_test_support::tiny_llama;

const std::vector<std::pair<std::string, std::map<std::string, std::string>>> kDeltas{
    {"prompt_tuning", {{"prompt_tuning.n_virtual", "3"}, {"prompt_tuning.init", "random"}}},
    {"prefix_tuning", {{"prefix_tuning.n_virtual", "4"}}},
    {"p_tuning", {{"p_tuning.n_virtual", "3"}}},  // the prompt-tuning shape: one prefill
    {"lora", {}},
    {"ia3", {}},
    {"adapter", {}},
    {"bitfit", {}}};

std::vector<std::shared_ptr<delta::Delta>> make_deltas(models::llama::LlamaModel& model) {
  std::vector<std::shared_ptr<delta::Delta>> out;
  for (const auto& [name, keys] : kDeltas) {
    auto d = prompts::make_lm_delta(name, config(keys), context(model, 3));
    at::NoGradGuard no_grad;
    at::manual_seed(static_cast<uint64_t>(out.size()) + 4);
    // Zero-initialised parts (LoRA's B, adapters' up, BitFit's offsets) off zero.
    for (auto& p : d->parameters()) p.add_(at::randn(p.sizes()) * 0.2);
    d->eval();
    out.push_back(d);
  }
  return out;
}

struct Sequence {
  std::vector<int64_t> prompt;
  int64_t member;  // index into the deltas, -1: none
  int64_t join;    // the batch step before which it joins
  int64_t steps;   // decoding steps after its prefill
};

TEST(MixedBatch, EveryRowEqualsItsSequenceDecodedAlone) {
  models::llama::LlamaModel model = tiny_llama();
  auto deltas = make_deltas(model);
  delta::SiteContext site_context;
  std::vector<nn::DeltaSites*> members;
  std::vector<std::string> names;
  for (size_t k = 0; k < deltas.size(); ++k) {
    members.push_back(deltas[k]->sites(delta::Tower::kText, site_context));
    names.push_back(kDeltas[k].first);
  }
  // Every delta (and none) twice, with prompts of different lengths, joining at staggered steps
  // and leaving after different numbers of steps (rows leave mid-batch, others take their place).
  std::vector<Sequence> seqs;
  for (int64_t i = 0; i < 2 * static_cast<int64_t>(deltas.size() + 1); ++i) {
    Sequence s;
    s.member = i % static_cast<int64_t>(deltas.size() + 1) - 1;
    for (int64_t t = 0; t < 2 + (i * 5) % 9; ++t) s.prompt.push_back(3 + (i * 7 + t * 3) % 35);
    s.join = (i * 3) % 7;
    s.steps = 3 + (i * 2) % 6;
    seqs.push_back(s);
  }
  // Long prompts that leave after one step: the padding they leave behind outgrows what the
  // other rows hold, so the batch re-packs its cache while rows keep decoding.
  for (int64_t i = 0; i < 3; ++i) {
    Sequence s;
    s.member = i * 3 - 1;
    for (int64_t t = 0; t < 40 + 3 * i; ++t) s.prompt.push_back(3 + (t * 11 + i) % 35);
    s.join = 1 + i;
    s.steps = 1;
    seqs.push_back(s);
  }
  at::NoGradGuard no_grad;
  // Every delta changes the logits (else agreeing with "alone" would prove nothing about it).
  const at::Tensor probe = at::tensor({1, 5, 9, 12}).view({1, -1});
  const at::Tensor frozen = model->logits(probe)[0][-1];
  for (size_t k = 0; k < members.size(); ++k)
    EXPECT_GT(max_diff(model->logits(probe, members[k])[0][-1], frozen), 1e-3) << names[k];
  // Alone: each sequence's greedy tokens and per-step logits.
  std::vector<std::vector<at::Tensor>> alone_logits(seqs.size());
  std::vector<std::vector<int64_t>> alone_tokens(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    nn::DeltaSites* sites = seqs[i].member < 0 ? nullptr : members[seqs[i].member];
    models::llama::LlamaCache cache;
    at::Tensor logits =
        model->forward_step(at::tensor(seqs[i].prompt).view({1, -1}), cache, sites)[0][-1];
    for (int64_t s = 0; s <= seqs[i].steps; ++s) {
      alone_logits[i].push_back(logits);
      const int64_t token = logits.argmax().item<int64_t>();
      alone_tokens[i].push_back(token);
      if (s < seqs[i].steps)
        logits = model->forward_step(at::tensor({token}).view({1, 1}), cache, sites)[0][-1];
    }
  }
  // Batched: prefilled alone on joining, then decoded together.
  DecodeBatch batch;
  std::vector<int64_t> rows;  // sequence of each batch row
  std::vector<int64_t> done(seqs.size(), 0), next(seqs.size(), 0);
  int64_t compared = 0, widest = 0, most_members = 0, widest_prefill = 0;
  for (int64_t step = 0; step < 40; ++step) {
    // Joiners are prefilled together, one right-padded pass per token shape.
    std::map<delta::TokenShape, std::vector<int64_t>> joiners;
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (seqs[i].join != step) continue;
      nn::DeltaSites* sites = seqs[i].member < 0 ? nullptr : members[seqs[i].member];
      joiners[delta::token_shape(sites)].push_back(static_cast<int64_t>(i));
    }
    for (const auto& [shape, group] : joiners) {
      const int64_t count = static_cast<int64_t>(group.size());
      int64_t longest = 0;
      std::vector<int64_t> group_members, lengths;
      for (int64_t i : group) {
        longest = std::max<int64_t>(longest, static_cast<int64_t>(seqs[i].prompt.size()));
        group_members.push_back(seqs[i].member);
      }
      at::Tensor ids = at::zeros({count, longest}, at::kLong);
      for (int64_t r = 0; r < count; ++r) {
        const auto& prompt = seqs[group[r]].prompt;
        ids[r].narrow(0, 0, static_cast<int64_t>(prompt.size())).copy_(at::tensor(prompt));
      }
      delta::MixedTokenSites sites(members, names, group_members, at::kCPU);
      models::llama::LlamaCache cache;
      const at::Tensor logits = model->forward_step(ids, cache, &sites);
      for (int64_t r = 0; r < count; ++r) {
        const int64_t i = group[r];
        const int64_t last = shape.inserted + static_cast<int64_t>(seqs[i].prompt.size()) - 1;
        SCOPED_TRACE("prefill of sequence " + std::to_string(i));
        EXPECT_LE(max_diff(logits[r][last], alone_logits[i][0]), 1e-5);
        next[i] = logits[r][last].argmax().item<int64_t>();
        EXPECT_EQ(next[i], alone_tokens[i][0]);
        lengths.push_back(shape.prefix + last + 1);
        rows.push_back(i);
      }
      widest_prefill = std::max(widest_prefill, count);
      batch.add(cache, lengths);
    }
    if (rows.empty()) continue;
    std::vector<int64_t> ids, row_members;
    std::set<int64_t> distinct;
    for (int64_t i : rows) {
      ids.push_back(next[i]);
      row_members.push_back(seqs[i].member);
      distinct.insert(seqs[i].member);
    }
    widest = std::max<int64_t>(widest, static_cast<int64_t>(rows.size()));
    most_members = std::max<int64_t>(most_members, static_cast<int64_t>(distinct.size()));
    delta::MixedRowSites sites(members, names, row_members, at::kCPU);
    const at::Tensor logits = batch.step(model, ids, &sites);
    std::vector<int64_t> keep, still;
    for (size_t n = 0; n < rows.size(); ++n) {
      const int64_t i = rows[n];
      const int64_t s = ++done[i];
      SCOPED_TRACE("sequence " + std::to_string(i) + " step " + std::to_string(s));
      EXPECT_LE(max_diff(logits[n], alone_logits[i][s]), 1e-5);
      next[i] = logits[n].argmax().item<int64_t>();
      EXPECT_EQ(next[i], alone_tokens[i][s]);
      ++compared;
      if (s < seqs[i].steps) {
        keep.push_back(static_cast<int64_t>(n));
        still.push_back(i);
      }
    }
    batch.keep(keep);
    rows = still;
  }
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(done[i], seqs[i].steps) << "sequence " << i;
  EXPECT_GE(widest, 8);
  EXPECT_GE(most_members, 6);         // the batch really mixed deltas
  EXPECT_GE(widest_prefill, 2);       // and so did a prefill
  EXPECT_GT(batch.compactions(), 0);  // rows kept decoding across a re-packed cache
  EXPECT_GT(compared, 60);
}

TEST(MixedBatch, ReplacedFrozenWeightsAreRefusedInAMixedBatch) {
  models::llama::LlamaModel model = tiny_llama();
  auto full = prompts::make_lm_delta("finetune", config({}), context(model, 3));
  auto lora = prompts::make_lm_delta("lora", config({}), context(model, 3));
  delta::SiteContext c;
  std::vector<nn::DeltaSites*> members{full->sites(delta::Tower::kText, c),
                                       lora->sites(delta::Tower::kText, c)};
  delta::MixedRowSites mixed(members, {"ft", "lo"}, {0, 1}, at::kCPU);
  try {
    mixed.linear(0, nn::LinearSite::kQ);
    FAIL() << "expected an Error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("'ft'"), std::string::npos) << e.what();
  }
  // Alone (every row the same delta) it is that delta's own sites.
  delta::MixedRowSites alone(members, {"ft", "lo"}, {0, 0}, at::kCPU);
  EXPECT_TRUE(alone.linear(0, nn::LinearSite::kQ)->weight.defined());
}

}  // namespace
}  // namespace vlprompt::serve
