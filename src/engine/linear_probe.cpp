#include "src/engine/linear_probe.h"

#include <torch/optim/lbfgs.h>

#include "src/core/error.h"

namespace vlprompt::engine {
namespace {

at::Tensor normalized(const at::Tensor& f) { return f / f.norm(2, -1, true).clamp_min(1e-12); }

double top1(const LinearProbe& p, const at::Tensor& f, const at::Tensor& y) {
  return p.logits(f).argmax(1).eq(y).to(at::kDouble).mean().item<double>() * 100.0;
}

}  // namespace

at::Tensor LinearProbe::logits(const at::Tensor& features) const {
  return at::addmm(bias, normalized(features), weight.t());
}

LinearProbe fit_linear_probe(const at::Tensor& features, const at::Tensor& labels,
                             int64_t num_classes, double l2, int64_t max_iter) {
  const at::Tensor x = normalized(features.to(at::kFloat)).detach();
  at::Tensor w = at::zeros({num_classes, x.size(1)}).set_requires_grad(true);
  at::Tensor b = at::zeros({num_classes}).set_requires_grad(true);
  torch::optim::LBFGS opt(
      {w, b}, torch::optim::LBFGSOptions(1.0).max_iter(max_iter).history_size(20).line_search_fn(
                  "strong_wolfe"));
  auto closure = [&] {
    opt.zero_grad();
    at::Tensor loss =
        at::cross_entropy_loss(at::addmm(b, x, w.t()), labels) + 0.5 * l2 * w.pow(2).sum();
    loss.backward();
    return loss;
  };
  opt.step(closure);
  LinearProbe p;
  p.weight = w.detach();
  p.bias = b.detach();
  p.l2 = l2;
  return p;
}

LinearProbe search_linear_probe(const at::Tensor& train_features, const at::Tensor& train_labels,
                                const at::Tensor& val_features, const at::Tensor& val_labels,
                                int64_t num_classes, std::vector<double> l2_grid) {
  if (val_labels.numel() == 0) {
    throw Error("linear probe: the L2 strength is chosen on a validation split, and it is empty");
  }
  if (l2_grid.empty()) {
    for (int e = 2; e >= -6; --e) l2_grid.push_back(std::pow(10.0, e));
  }
  LinearProbe best;
  double best_acc = -1;
  std::vector<std::pair<double, double>> search;
  // Strongest first, so on a tie the more regularised probe is kept.
  std::sort(l2_grid.rbegin(), l2_grid.rend());
  for (double l2 : l2_grid) {
    LinearProbe p = fit_linear_probe(train_features, train_labels, num_classes, l2);
    const double acc = top1(p, val_features, val_labels);
    search.emplace_back(l2, acc);
    if (acc > best_acc) {
      best_acc = acc;
      best = p;
    }
  }
  best.search = search;
  return best;
}

}  // namespace vlprompt::engine
