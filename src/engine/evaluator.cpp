#include "src/engine/evaluator.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::engine {

Evaluator::Evaluator(int64_t num_classes) : num_classes_(num_classes) {
  if (num_classes < 1)
    throw Error("Evaluator needs at least one class, got " + std::to_string(num_classes));
  reset();
}

void Evaluator::reset() {
  n_ = top1_ = top5_ = 0;
  confusion_ = at::zeros({num_classes_, num_classes_}, at::kLong);
}

void Evaluator::process(const at::Tensor& logits, const at::Tensor& labels) {
  if (logits.dim() != 2 || logits.size(1) != num_classes_ || labels.dim() != 1 ||
      labels.size(0) != logits.size(0)) {
    throw Error("Evaluator::process expects logits [B, " + std::to_string(num_classes_) +
                "] and labels [B]; got logits " + c10::str(logits.sizes()) + " and labels " +
                c10::str(labels.sizes()));
  }
  const at::Tensor y = labels.to(at::kCPU, at::kLong);
  const at::Tensor l = logits.detach().to(at::kCPU, at::kFloat);
  const int64_t k = std::min<int64_t>(5, num_classes_);
  const at::Tensor topk = std::get<1>(l.topk(k, 1));
  const at::Tensor hit = topk.eq(y.unsqueeze(1));
  top1_ += hit.select(1, 0).sum().item<int64_t>();
  top5_ += hit.any(1).sum().item<int64_t>();
  n_ += y.size(0);
  const at::Tensor pred = topk.select(1, 0);
  // One bincount over (true, predicted) pairs fills the whole confusion matrix.
  confusion_ += at::bincount(y * num_classes_ + pred, {}, num_classes_ * num_classes_)
                    .view({num_classes_, num_classes_});
}

ClassificationMetrics Evaluator::evaluate() const {
  ClassificationMetrics m;
  m.n = n_;
  if (n_ == 0) return m;
  m.top1 = 100.0 * top1_ / n_;
  m.top5 = 100.0 * top5_ / n_;
  const at::Tensor counts = confusion_.sum(1);
  const at::Tensor correct = confusion_.diagonal();
  double sum = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < num_classes_; ++c) {
    const int64_t cnt = counts[c].item<int64_t>();
    const double acc = cnt ? 100.0 * correct[c].item<int64_t>() / cnt : 0.0;
    m.per_class.push_back(acc);
    m.class_counts.push_back(cnt);
    if (cnt) {
      sum += acc;
      ++present;
    }
    std::vector<int64_t> row(num_classes_);
    std::copy_n(confusion_[c].contiguous().data_ptr<int64_t>(), num_classes_, row.begin());
    m.confusion.push_back(std::move(row));
  }
  // Macro accuracy averages over classes that occur, so a split missing a class is not penalised.
  m.macro = present ? sum / present : 0.0;
  // Macro-F1 (scikit-learn's f1_score(average="macro") over the labels that occur as truth or
  // prediction; a class never predicted has precision 0, so its F1 is 0).
  const at::Tensor predicted = confusion_.sum(0);
  double f1_sum = 0;
  int64_t f1_classes = 0;
  for (int64_t c = 0; c < num_classes_; ++c) {
    const int64_t tp = correct[c].item<int64_t>(), truth = counts[c].item<int64_t>(),
                  pred = predicted[c].item<int64_t>();
    if (truth == 0 && pred == 0) continue;
    f1_sum += 200.0 * tp / static_cast<double>(truth + pred);
    ++f1_classes;
  }
  m.macro_f1 = f1_classes ? f1_sum / f1_classes : 0.0;
  return m;
}

nlohmann::json ClassificationMetrics::to_json(const std::vector<std::string>& classnames) const {
  nlohmann::json j;
  j["n"] = n;
  j["top1"] = top1;
  j["top5"] = top5;
  j["macro"] = macro;
  j["macro_f1"] = macro_f1;
  nlohmann::json pc = nlohmann::json::object();
  for (size_t c = 0; c < per_class.size(); ++c) {
    pc[c < classnames.size() ? classnames[c] : std::to_string(c)] = per_class[c];
  }
  j["per_class"] = pc;
  j["confusion"] = confusion;
  return j;
}

}  // namespace vlprompt::engine
