#include "pipeline/domain_adaptation.h"

#include <algorithm>
#include <random>

#include "datasets/loader.h"
#include "datasets/run_splits.h"
#include "src/core/error.h"
#include "src/engine/paired_data.h"

namespace vlprompt::pipeline {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

int64_t index_of(const std::vector<std::string>& domains, const std::string& domain,
                 const std::string& method) {
  const auto it = std::find(domains.begin(), domains.end(), domain);
  if (it == domains.end()) {
    throw Error(method + " holds prompts for the domains [" + joined(domains) + "], not for '" +
                domain + "'");
  }
  return it - domains.begin();
}

}  // namespace

TargetData load_target(const TrainArgs& a, const datasets::DatasetSplit& source_train) {
  const std::string root = a.target_data_root.empty() ? a.data_root : a.target_data_root;
  TargetData t;
  t.reference = datasets::load_split(a.target, root, "train");
  if (t.reference.classnames != source_train.classnames) {
    throw Error("--target " + a.target + " has the classes [" + joined(t.reference.classnames) +
                "] but --dataset " + a.dataset + " has [" + joined(source_train.classnames) +
                "]; domain adaptation needs one label set");
  }
  if (t.reference.domain == source_train.domain) {
    throw Error("--dataset " + a.dataset + " and --target " + a.target + " are both domain '" +
                source_train.domain + "'; adaptation needs two domains");
  }
  if (a.target_max < 0) {
    throw Error("--target-max must be >= 0 (0 = all); got " + std::to_string(a.target_max));
  }
  if (a.target_max > 0 && a.target_max < static_cast<int64_t>(t.reference.items.size())) {
    // A seeded subset by position only: labels play no part in which images are kept.
    std::vector<size_t> order(t.reference.items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937_64 rng(a.seed * 2654435761ull + 17);
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
    order.resize(static_cast<size_t>(a.target_max));
    std::sort(order.begin(), order.end());
    std::vector<datasets::ImageRecord> kept;
    for (size_t i : order) kept.push_back(t.reference.items[i]);
    t.reference.items = std::move(kept);
  }
  t.unlabelled = t.reference;
  for (auto& r : t.unlabelled.items) r.label = -1;
  t.test = datasets::load_eval_split(a.target, root, "test", "all");
  t.domains = {source_train.domain, t.reference.domain};
  return t;
}

std::unique_ptr<engine::TrainData> pair_with_target(std::unique_ptr<engine::TrainData> source,
                                                    engine::Method& method, models::Clip& clip,
                                                    const TargetData& target,
                                                    const clip_data::TrainDataRequest& request,
                                                    int64_t target_batch_size, uint64_t seed) {
  const std::vector<std::string> domains = method.domains();
  if (domains.empty()) {
    throw Error("--target: method " + method.name() +
                " does not adapt to a target domain (it has no per-domain prompts); use dapl");
  }
  const int64_t source_domain = index_of(domains, target.domains[0], method.name());
  const int64_t target_domain = index_of(domains, target.domains[1], method.name());
  clip_data::TrainDataChoice stream = clip_data::make_train_data(method.data_needs(), method.name(),
                                                                 clip, target.unlabelled, request);
  return std::make_unique<engine::PairedTrainData>(std::move(source), std::move(stream.data),
                                                   target_batch_size, source_domain, target_domain,
                                                   seed);
}

std::unique_ptr<engine::EvalData> source_val(std::unique_ptr<engine::EvalData> val,
                                             const engine::Method& method,
                                             const TargetData& target) {
  const int64_t source = index_of(method.domains(), target.domains[0], method.name());
  return std::make_unique<engine::DomainEvalData>(std::move(val), source);
}

}  // namespace vlprompt::pipeline
