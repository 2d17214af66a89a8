#include "serve/clip_engine.h"

#include <ATen/Parallel.h>

#include <iostream>

#include "prompts/prompted_clip.h"
#include "prompts/zeroshot_classifier.h"
#include "src/delta/mixed_token_sites.h"
#include "src/engine/method.h"

namespace vlprompt::serve {

void ClipJob::done(at::Tensor r, std::string e) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result = std::move(r);
    error = std::move(e);
    done_ = true;
  }
  finished_.notify_all();
}

bool ClipJob::wait(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return finished_.wait_until(lock, deadline, [&] { return done_; });
}

ClipEngine::ClipEngine(pipeline::ModelBundle& clip, ClipEngineOptions options, Metrics* metrics)
    : clip_(clip), options_(std::move(options)), metrics_(metrics) {
  thread_ = std::thread([this] { loop(); });
}

ClipEngine::~ClipEngine() { drain(); }

int64_t ClipEngine::resolution() const {
  return clip_.clip.model->config().vision.image_resolution;
}

bool ClipEngine::submit(std::shared_ptr<ClipJob> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_ || static_cast<int64_t>(queue_.size()) >= options_.max_queue) return false;
    queue_.push_back(std::move(job));
  }
  arrived_.notify_one();
  return true;
}

void ClipEngine::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
  }
  arrived_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t ClipEngine::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

void ClipEngine::loop() {
  at::NoGradGuard no_grad;
  if (options_.threads > 0) at::set_num_threads(static_cast<int>(options_.threads));
  for (;;) {
    std::vector<std::shared_ptr<ClipJob>> infer, embed;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      arrived_.wait(lock, [&] { return draining_ || !queue_.empty(); });
      if (queue_.empty()) return;
      arrived_.wait_until(
          lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_wait_ms),
          [&] { return draining_ || static_cast<int64_t>(queue_.size()) >= options_.max_batch; });
      int64_t images = 0;
      while (!queue_.empty()) {
        auto& job = queue_.front();
        const int64_t n = job->kind == ClipJob::Kind::kInfer ? job->pixels.size(0) : 0;
        if (!infer.empty() && images + n > options_.max_batch) break;
        images += n;
        (job->kind == ClipJob::Kind::kInfer ? infer : embed).push_back(job);
        queue_.pop_front();
      }
    }
    if (!infer.empty()) run_infer(infer);
    if (!embed.empty()) run_embed(embed);
  }
}

at::Tensor ClipEngine::zeroshot_weights(const std::vector<std::string>& classes) {
  auto it = zeroshot_cache_.find(classes);
  if (it != zeroshot_cache_.end()) return it->second;
  if (zeroshot_cache_.size() > 64) zeroshot_cache_.clear();
  at::Tensor w = prompts::zeroshot_weights(clip_.clip.model, *clip_.tokenizer, classes,
                                           {options_.text_template});
  return zeroshot_cache_.emplace(classes, w).first->second;
}

void ClipEngine::run_infer(const std::vector<std::shared_ptr<ClipJob>>& jobs) {
  models::Clip& clip = clip_.clip.model;
  const at::Device device = clip->parameters().front().device();
  // Rows of every job whose delta leaves the image tower alone share one image pass.
  std::vector<at::Tensor> shared_pixels;
  std::vector<std::shared_ptr<ClipJob>> shared_jobs;
  std::map<const ServedDelta*, std::vector<std::shared_ptr<ClipJob>>> own_pass;
  // Image-side deltas whose pass can be shared: one pass per token shape over all their rows,
  // each row with its own delta's image sites (prompts gathered per row).
  std::map<delta::TokenShape, std::vector<std::shared_ptr<ClipJob>>> gathered;
  for (const auto& job : jobs) {
    if (job->delta && job->delta->image_side) {
      auto* method = dynamic_cast<prompts::PromptedClipMethod*>(job->delta->clip_method.get());
      nn::DeltaSites* sites = method ? method->image_pass_sites() : nullptr;
      if (sites)
        gathered[delta::token_shape(sites, clip->config().vision.width)].push_back(job);
      else
        own_pass[job->delta.get()].push_back(job);
    } else {
      shared_pixels.push_back(job->pixels);
      shared_jobs.push_back(job);
    }
  }
  std::map<const ServedDelta*, int> deltas;
  int64_t rows_total = 0;
  // Each pass through the image tower, with the requests (or deltas) it served.
  auto image_pass = [&](int64_t served) {
    if (metrics_) metrics_->observe_batch("clip_image_pass", served, served);
  };
  if (!shared_jobs.empty()) {
    try {
      const at::Tensor features = clip->encode_image(at::cat(shared_pixels).to(device));
      image_pass(static_cast<int64_t>(shared_jobs.size()));
      int64_t start = 0;
      for (const auto& job : shared_jobs) {
        const int64_t n = job->pixels.size(0);
        const at::Tensor f = features.narrow(0, start, n);
        start += n;
        deltas[job->delta.get()] = 1;
        try {
          at::Tensor logits;
          if (!job->delta) {
            logits = clip->logits(f, zeroshot_weights(job->classes));
          } else {
            engine::Batch batch;
            batch.inputs = f;
            batch.labels = at::zeros({n}, at::TensorOptions(device).dtype(at::kLong));
            batch.inputs_are_features = true;
            logits = job->delta->clip_method->forward(batch);
          }
          job->done(logits.to(at::kFloat).cpu(), "");
        } catch (const std::exception& e) {
          job->done(at::Tensor(), e.what());
        }
      }
      rows_total += start;
    } catch (const std::exception& e) {
      for (const auto& job : shared_jobs) job->done(at::Tensor(), e.what());
    }
  }
  for (const auto& [shape, group] : gathered) {
    try {
      std::map<const ServedDelta*, int64_t> index;
      std::vector<prompts::PromptedClipMethod*> methods;
      std::vector<nn::DeltaSites*> members;
      std::vector<std::string> names;
      std::vector<int64_t> rows;
      std::vector<at::Tensor> pixels;
      for (const auto& job : group) {
        auto [it, added] = index.emplace(job->delta.get(), static_cast<int64_t>(members.size()));
        if (added) {
          methods.push_back(
              dynamic_cast<prompts::PromptedClipMethod*>(job->delta->clip_method.get()));
          members.push_back(methods.back()->image_pass_sites());
          names.push_back(job->delta->name);
          deltas[job->delta.get()] = 1;
        }
        rows.insert(rows.end(), job->pixels.size(0), it->second);
        pixels.push_back(job->pixels);
      }
      delta::MixedTokenSites sites(members, names, rows, device);
      const at::Tensor features = clip->encode_image(at::cat(pixels).to(device), &sites);
      image_pass(static_cast<int64_t>(members.size()));
      int64_t start = 0;
      for (const auto& job : group) {
        const int64_t n = job->pixels.size(0);
        engine::Batch batch;
        batch.inputs = features.narrow(0, start, n);
        batch.labels = at::zeros({n}, at::TensorOptions(device).dtype(at::kLong));
        start += n;
        job->done(methods[index.at(job->delta.get())]
                      ->logits_from_image_features(batch.inputs, batch)
                      .to(at::kFloat)
                      .cpu(),
                  "");
      }
      rows_total += start;
    } catch (const std::exception& e) {
      for (const auto& job : group) job->done(at::Tensor(), e.what());
    }
  }
  for (const auto& [d, group] : own_pass) {
    deltas[d] = 1;
    try {
      std::vector<at::Tensor> pixels;
      for (const auto& job : group) pixels.push_back(job->pixels);
      engine::Batch batch;
      batch.inputs = at::cat(pixels).to(device);
      batch.labels = at::zeros({batch.inputs.size(0)}, at::TensorOptions(device).dtype(at::kLong));
      const at::Tensor logits = d->clip_method->forward(batch).to(at::kFloat).cpu();
      image_pass(1);
      int64_t start = 0;
      for (const auto& job : group) {
        job->done(logits.narrow(0, start, job->pixels.size(0)).clone(), "");
        start += job->pixels.size(0);
      }
      rows_total += start;
    } catch (const std::exception& e) {
      for (const auto& job : group) job->done(at::Tensor(), e.what());
    }
  }
  if (metrics_) metrics_->observe_batch("clip", rows_total, static_cast<int64_t>(deltas.size()));
}

void ClipEngine::run_embed(const std::vector<std::shared_ptr<ClipJob>>& jobs) {
  models::Clip& clip = clip_.clip.model;
  const at::Device device = clip->parameters().front().device();
  std::vector<std::string> texts;
  for (const auto& job : jobs) texts.insert(texts.end(), job->texts.begin(), job->texts.end());
  try {
    const int64_t context = clip->config().text.context_length;
    const at::Tensor ids = clip_.tokenizer->tokenize(texts, context, /*truncate=*/true).to(device);
    at::Tensor f = clip->encode_text(ids);
    f = (f / f.norm(2, -1, true)).to(at::kFloat).cpu();
    int64_t start = 0;
    for (const auto& job : jobs) {
      const int64_t n = static_cast<int64_t>(job->texts.size());
      job->done(f.narrow(0, start, n).clone(), "");
      start += n;
    }
    if (metrics_) metrics_->observe_batch("clip_embed", static_cast<int64_t>(texts.size()), 1);
  } catch (const std::exception& e) {
    for (const auto& job : jobs) job->done(at::Tensor(), e.what());
  }
}

}  // namespace vlprompt::serve
