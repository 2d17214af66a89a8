#include "serve/lm_engine.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "models/llama/llama_generate.h"
#include "serve/decode_batch.h"
#include "src/delta/mixed_token_sites.h"

namespace vlprompt::serve {
namespace {

// Bytes at the end of `text` to hold back while streaming: a tail that may still grow into one
// of `stop`, or an unfinished UTF-8 character (decoded as U+FFFD until its last byte arrives).
size_t held_back(const std::string& text, const std::vector<std::string>& stop) {
  size_t hold = 0;
  static const std::string kReplacement = "\xEF\xBF\xBD";
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, kReplacement) == 0) hold = 3;
  for (const std::string& s : stop) {
    for (size_t n = std::min(s.size() - 1, text.size()); n > hold; --n) {
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}

// The distinct deltas of some rows (base = -1), as MixedRowSites takes them.
struct Members {
  std::vector<nn::DeltaSites*> sites;
  std::vector<std::string> names;
  std::vector<int64_t> rows;
  int64_t distinct = 0;  // base counted as one
};

Members members_of(const std::vector<const ServedDelta*>& deltas) {
  Members m;
  std::map<const ServedDelta*, int64_t> index;
  bool base = false;
  for (const ServedDelta* d : deltas) {
    if (!d) {
      base = true;
      m.rows.push_back(-1);
      continue;
    }
    auto [it, added] = index.emplace(d, static_cast<int64_t>(m.sites.size()));
    if (added) {
      m.sites.push_back(d->lm_sites);
      m.names.push_back(d->name);
    }
    m.rows.push_back(it->second);
  }
  m.distinct = static_cast<int64_t>(m.sites.size()) + (base ? 1 : 0);
  return m;
}

}  // namespace

struct LmEngine::Row {
  std::shared_ptr<Completion> job;
  at::Generator generator;
  models::llama::GenerateOptions options;
  std::vector<int64_t> generated;  // EOS excluded
  int64_t count = 0;               // tokens picked (EOS included)
  int64_t next = 0;                // the token to feed at the next step
};

struct LmEngine::Batch {
  std::vector<Row> rows;
  DecodeBatch cache;
  std::unique_ptr<delta::MixedRowSites> sites;  // rebuilt when the rows change
  int64_t deltas = 0;
};

LmEngine::LmEngine(pipeline::LmBundle& lm, LmEngineOptions options, Metrics* metrics)
    : lm_(lm), options_(options), metrics_(metrics), batch_(std::make_unique<Batch>()) {
  thread_ = std::thread([this] { loop(); });
}

LmEngine::~LmEngine() { drain(); }

bool LmEngine::submit(std::shared_ptr<Completion> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_ || static_cast<int64_t>(queue_.size() + tasks_.size()) >= options_.max_queue)
      return false;
    queue_.push_back(std::move(job));
  }
  arrived_.notify_one();
  return true;
}

bool LmEngine::submit_task(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_ || static_cast<int64_t>(queue_.size() + tasks_.size()) >= options_.max_queue)
      return false;
    tasks_.push_back(std::move(task));
  }
  arrived_.notify_one();
  return true;
}

void LmEngine::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
  }
  arrived_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t LmEngine::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

std::vector<std::shared_ptr<Completion>> LmEngine::admit(int64_t room) {
  std::vector<std::shared_ptr<Completion>> out;
  // The one-delta-at-a-time baseline takes only the running delta's requests (the oldest
  // request's delta when nothing runs).
  const ServedDelta* only = nullptr;
  bool restricted = false;
  if (!options_.mix_deltas) {
    restricted = true;
    if (!batch_->rows.empty())
      only = batch_->rows[0].job->delta().get();
    else if (!queue_.empty())
      only = queue_.front()->delta().get();
  }
  for (auto it = queue_.begin(); it != queue_.end() && room > 0;) {
    if ((*it)->cancelled()) {
      (*it)->fail("cancelled");
      it = queue_.erase(it);
      continue;
    }
    if (restricted && (*it)->delta().get() != only) {
      ++it;
      continue;
    }
    out.push_back(*it);
    it = queue_.erase(it);
    --room;
  }
  return out;
}

void LmEngine::loop() {
  at::NoGradGuard no_grad;
  // OpenMP's thread count is per calling thread: set it on the thread that runs the model.
  if (options_.threads > 0) at::set_num_threads(static_cast<int>(options_.threads));
  for (;;) {
    std::vector<std::shared_ptr<Completion>> starting;
    std::deque<std::function<void()>> tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (batch_->rows.empty()) {
        arrived_.wait(lock, [&] { return draining_ || !queue_.empty() || !tasks_.empty(); });
        if (queue_.empty() && tasks_.empty()) return;  // draining, nothing left
        // Idle: give concurrent requests a moment to arrive and start together.
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_wait_ms);
        arrived_.wait_until(lock, until, [&] {
          return draining_ || static_cast<int64_t>(queue_.size()) >= options_.max_batch;
        });
      }
      starting = admit(options_.max_batch - static_cast<int64_t>(batch_->rows.size()));
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();  // each reports its own errors to its request
    if (!starting.empty()) prefill(starting);
    if (!batch_->rows.empty()) decode();
  }
}

void LmEngine::prefill(const std::vector<std::shared_ptr<Completion>>& jobs) {
  // Rows of one pass must insert as many tokens and carry as long a prefix: group by that.
  std::map<delta::TokenShape, std::vector<std::shared_ptr<Completion>>> groups;
  for (const auto& job : jobs) {
    try {
      groups[delta::token_shape(job->delta() ? job->delta()->lm_sites : nullptr)].push_back(job);
    } catch (const std::exception& e) {
      job->fail(e.what());
    }
  }
  for (const auto& [shape, group] : groups) prefill_group(shape, group);
}

void LmEngine::prefill_group(const delta::TokenShape& shape,
                             const std::vector<std::shared_ptr<Completion>>& jobs) {
  try {
    const at::Device device = lm_.model->head_weight().device();
    const int64_t count = static_cast<int64_t>(jobs.size());
    int64_t longest = 0;
    std::vector<const ServedDelta*> deltas;
    for (const auto& job : jobs) {
      longest = std::max<int64_t>(longest, static_cast<int64_t>(job->prompt().size()));
      deltas.push_back(job->delta().get());
    }
    // Right padding: a causal model's real positions never see it, and each row's logits are
    // read at its own last position.
    at::Tensor ids = at::zeros({count, longest}, at::kLong);
    std::vector<int64_t> last;
    for (int64_t r = 0; r < count; ++r) {
      const auto& prompt = jobs[r]->prompt();
      ids[r].narrow(0, 0, static_cast<int64_t>(prompt.size())).copy_(at::tensor(prompt, at::kLong));
      last.push_back(shape.inserted + static_cast<int64_t>(prompt.size()) - 1);
    }
    const Members m = members_of(deltas);
    delta::MixedTokenSites sites(m.sites, m.names, m.rows, device);
    models::llama::LlamaCache cache;
    const at::Tensor hidden = lm_.model->prefill(ids.to(device), cache, &sites);
    const at::Tensor at_last = hidden.index(
        {at::arange(count, at::kLong).to(device), at::tensor(last, at::kLong).to(device)});
    const at::Tensor logits = at::linear(at_last, lm_.model->head_weight(&sites)).cpu();
    if (metrics_) metrics_->observe_batch("lm_prefill", count, m.distinct);
    std::vector<int64_t> joining, lengths;
    std::vector<Row> joined;
    for (int64_t r = 0; r < count; ++r) {
      const SamplingParams& p = jobs[r]->params();
      Row row;
      row.job = jobs[r];
      row.generator = at::make_generator<at::CPUGeneratorImpl>(p.seed);
      row.options = models::llama::GenerateOptions()
                        .max_new_tokens(p.max_tokens)
                        .temperature(p.temperature)
                        .top_p(p.top_p)
                        .seed(p.seed)
                        .stop_token(lm_.tokenizer->eos_id())
                        .vocab_limit(lm_.tokenizer->vocab_size());
      if (emit(row, logits[r])) continue;
      joining.push_back(r);
      lengths.push_back(shape.prefix + last[r] + 1);
      joined.push_back(std::move(row));
    }
    if (joining.empty()) return;
    if (static_cast<int64_t>(joining.size()) != count) {
      const at::Tensor keep = at::tensor(joining, at::kLong).to(device);
      for (size_t l = 0; l < cache.key.size(); ++l) {
        cache.key[l] = cache.key[l].index_select(0, keep);
        cache.value[l] = cache.value[l].index_select(0, keep);
      }
    }
    batch_->cache.add(cache, lengths);
    batch_->sites.reset();
    running_ += static_cast<int64_t>(joined.size());
    for (Row& row : joined) batch_->rows.push_back(std::move(row));
  } catch (const std::exception& e) {
    for (const auto& job : jobs) job->fail(e.what());
  }
}

void LmEngine::decode() {
  Batch& b = *batch_;
  try {
    if (!b.sites) {
      std::vector<const ServedDelta*> deltas;
      for (const Row& r : b.rows) deltas.push_back(r.job->delta().get());
      const Members m = members_of(deltas);
      b.deltas = m.distinct;
      b.sites = std::make_unique<delta::MixedRowSites>(m.sites, m.names, m.rows,
                                                       lm_.model->head_weight().device());
    }
    std::vector<int64_t> ids;
    for (const Row& r : b.rows) ids.push_back(r.next);
    const at::Tensor logits = b.cache.step(lm_.model, ids, b.sites.get()).cpu();
    if (metrics_) metrics_->observe_batch("lm_decode", b.cache.size(), b.deltas);
    std::vector<int64_t> keep;
    for (size_t n = 0; n < b.rows.size(); ++n) {
      if (b.rows[n].job->cancelled()) {
        b.rows[n].job->fail("cancelled");
      } else if (!emit(b.rows[n], logits[n])) {
        keep.push_back(static_cast<int64_t>(n));
        continue;
      }
      --running_;
    }
    if (keep.size() != b.rows.size()) {
      std::vector<Row> rows;
      for (int64_t n : keep) rows.push_back(std::move(b.rows[n]));
      b.rows = std::move(rows);
      b.cache.keep(keep);
      b.sites.reset();
    }
  } catch (const std::exception& e) {
    std::cerr << "[vlprompt serve] a decoding step failed: " << e.what() << "\n";
    for (Row& r : b.rows) r.job->fail(std::string("decoding failed: ") + e.what());
    running_ -= static_cast<int64_t>(b.rows.size());
    b.rows.clear();
    b.cache.keep({});
    b.sites.reset();
  }
}

bool LmEngine::emit(Row& row, const at::Tensor& logits) {
  const SamplingParams& p = row.job->params();
  const at::Tensor row_logits = logits.cpu();
  TokenRecord record;
  record.id = models::llama::pick_token(row_logits, row.options, row.generator);
  if (p.logprobs >= 0) {
    const int64_t limit = row.options.vocab_limit();
    const at::Tensor lp =
        (limit > 0 && limit < row_logits.size(-1) ? row_logits.slice(-1, 0, limit) : row_logits)
            .to(at::kFloat)
            .log_softmax(-1);
    record.logprob = lp[record.id].item<double>();
    if (p.logprobs > 0) {
      const auto [values, indices] = lp.topk(std::min<int64_t>(p.logprobs, lp.size(0)));
      for (int64_t i = 0; i < values.size(0); ++i)
        record.top.emplace_back(indices[i].item<int64_t>(), values[i].item<double>());
    }
  }
  ++row.count;
  if (metrics_) metrics_->add_generated_tokens(1);
  const bool eos = record.id == row.options.stop_token();
  if (!eos) row.generated.push_back(record.id);
  row.next = record.id;
  const bool done = eos || row.count >= p.max_tokens;
  // Decoding the text costs more than the tiny model's step: only when it is read now.
  if (!done && !p.stream && p.stop.empty()) {
    row.job->update(record, std::string(), 0);
    return false;
  }
  std::string text = lm_.tokenizer->decode_continuation(row.job->prompt(), row.generated);
  size_t cut = std::string::npos;
  for (const std::string& s : p.stop) cut = std::min(cut, text.find(s));
  if (cut != std::string::npos) {
    row.job->update(record, text.substr(0, cut), 0);
    row.job->finish("stop", text.substr(0, cut));
    return true;
  }
  if (done) {
    row.job->update(record, text, 0);
    row.job->finish(eos ? "stop" : "length", text);
    return true;
  }
  const size_t ready = text.size() - held_back(text, p.stop);
  row.job->update(record, std::move(text), ready);
  return false;
}

}  // namespace vlprompt::serve
