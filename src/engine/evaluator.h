// Classification metrics accumulated batch by batch (reset / process / evaluate, as Dassl's
// evaluators): top-1, top-5, per-class and macro accuracy, and the confusion matrix. Knows
// nothing of models or datasets: it sees logits and labels.
#pragma once

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlprompt::engine {

struct ClassificationMetrics {
  int64_t n = 0;
  double top1 = 0, top5 = 0;  // percent
  double macro = 0;           // mean of per-class accuracies, percent
  double macro_f1 = 0;        // mean per-class F1 over classes seen as truth or prediction, percent
  std::vector<double> per_class;                // percent; NaN-free: a class with no samples gets 0
  std::vector<int64_t> class_counts;            // samples per true class
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]

  // {"n", "top1", "top5", "macro", "macro_f1", "per_class": {name: acc}, "confusion": [[...]]}
  nlohmann::json to_json(const std::vector<std::string>& classnames) const;
};

class Evaluator {
 public:
  explicit Evaluator(int64_t num_classes);
  void reset();
  // logits [B, C], labels [B] int64 (any device); accumulates on CPU without a per-sample loop.
  void process(const at::Tensor& logits, const at::Tensor& labels);
  ClassificationMetrics evaluate() const;

 private:
  int64_t num_classes_;
  int64_t n_ = 0, top1_ = 0, top5_ = 0;
  at::Tensor confusion_;  // int64 [C, C]
};

}  // namespace vlprompt::engine
