#include "src/nn/delta_linear.h"

#include <ATen/ops/layer_norm.h>

#include "src/core/error.h"

namespace vlprompt::nn {

std::string linear_site_name(LinearSite site, SiteNaming naming) {
  const bool clip = naming == SiteNaming::kClip;
  switch (site) {
    case LinearSite::kQ:
      return "q_proj";
    case LinearSite::kK:
      return "k_proj";
    case LinearSite::kV:
      return "v_proj";
    case LinearSite::kOut:
      return clip ? "out_proj" : "o_proj";
    case LinearSite::kGate:
      return "gate_proj";
    case LinearSite::kUp:
      return clip ? "c_fc" : "up_proj";
    case LinearSite::kDown:
      return clip ? "c_proj" : "down_proj";
  }
  return "";
}

std::vector<LinearSite> linear_sites(SiteNaming naming) {
  std::vector<LinearSite> out;
  for (int i = 0; i < kLinearSites; ++i) {
    const auto site = static_cast<LinearSite>(i);
    if (naming == SiteNaming::kClip && site == LinearSite::kGate) continue;
    out.push_back(site);
  }
  return out;
}

std::optional<LinearSite> linear_site_from_name(const std::string& name, SiteNaming naming) {
  for (LinearSite site : linear_sites(naming)) {
    if (linear_site_name(site, naming) == name) return site;
  }
  if (naming == SiteNaming::kClip) {
    if (name == "in_proj.q") return LinearSite::kQ;
    if (name == "in_proj.k") return LinearSite::kK;
    if (name == "in_proj.v") return LinearSite::kV;
  }
  return std::nullopt;
}

at::Tensor apply_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                        const std::optional<LinearDelta>& delta) {
  if (!delta) return at::linear(x, weight, bias);
  const at::Tensor& w = delta->weight.defined() ? delta->weight : weight;
  const at::Tensor& b = delta->bias.defined() ? delta->bias : bias;
  const at::Tensor input = delta->input_scale.defined() ? x * delta->input_scale : x;
  at::Tensor y = at::linear(input, w, b);
  if (delta->bias_offset.defined()) y = y + delta->bias_offset;
  if (!delta->low_rank.empty()) {
    // y + s B (A x) as one addmm per update on the flattened rows: the scale rides in alpha and
    // the add in beta, so neither forward nor backward spends an elementwise pass on them.
    const int64_t in = x.size(-1), out = y.size(-1);
    at::Tensor y2 = y.reshape({-1, out});
    for (const LowRankUpdate& update : delta->low_rank) {
      if (update.rows.defined()) continue;
      const at::Tensor branch =
          update.dropout > 0 ? at::dropout(x, update.dropout, update.training) : x;
      const at::Tensor down = at::mm(branch.reshape({-1, in}), update.a.t());
      y2 = at::addmm(y2, down, update.b.t(), /*beta=*/1, /*alpha=*/update.scaling);
    }
    auto sizes = y.sizes().vec();
    y = y2.view(sizes);
    // Row-restricted updates (one delta's rows of a mixed batch): gather the rows, two small
    // matmuls, add back: the grouped matmul of multi-delta serving.
    for (const LowRankUpdate& update : delta->low_rank) {
      if (!update.rows.defined()) continue;
      const at::Tensor rows_x = x.index_select(0, update.rows);
      const at::Tensor branch =
          update.dropout > 0 ? at::dropout(rows_x, update.dropout, update.training) : rows_x;
      const at::Tensor down = at::mm(branch.reshape({-1, in}), update.a.t());
      auto row_sizes = sizes;
      row_sizes[0] = update.rows.size(0);
      const at::Tensor up = at::mm(down, update.b.t()).mul_(update.scaling).view(row_sizes);
      y = y.index_add(0, update.rows, up);
    }
  }
  if (delta->output_scale.defined()) y = y * delta->output_scale;
  return y;
}

MergedLinear merge_linear(const at::Tensor& weight, const at::Tensor& bias,
                          const std::optional<LinearDelta>& delta) {
  if (!delta) return {weight, bias};
  at::Tensor w = (delta->weight.defined() ? delta->weight : weight).detach().clone();
  at::Tensor b = delta->bias.defined() ? delta->bias.detach().clone()
                 : bias.defined()      ? bias.detach().clone()
                                       : at::Tensor();
  // (x * s) W^T = x (W diag(s))^T: the input scale multiplies W's columns.
  if (delta->input_scale.defined()) w = w * delta->input_scale.detach().unsqueeze(0);
  for (const LowRankUpdate& update : delta->low_rank) {
    if (update.rows.defined())
      throw Error("merge: a low-rank update restricted to some rows of a batch cannot be merged");
    w = w + at::mm(update.b.detach(), update.a.detach()) * update.scaling;
  }
  if (delta->bias_offset.defined()) {
    b = b.defined() ? b + delta->bias_offset.detach() : delta->bias_offset.detach().clone();
  }
  if (delta->output_scale.defined()) {
    const at::Tensor s = delta->output_scale.detach();
    w = w * s.unsqueeze(1);
    if (b.defined()) b = b * s;
  }
  return {w, b};
}

NormAffine norm_affine(const at::Tensor& weight, const at::Tensor& bias,
                       const std::optional<NormDelta>& delta) {
  if (!delta) return {weight, bias};
  at::Tensor w = delta->weight.defined() ? delta->weight : weight;
  at::Tensor b = delta->bias.defined() ? delta->bias : bias;
  if (delta->weight_offset.defined()) w = w + delta->weight_offset;
  if (delta->bias_offset.defined()) b = b.defined() ? b + delta->bias_offset : delta->bias_offset;
  return {w, b};
}

namespace {
at::Tensor add_defined(const at::Tensor& a, const at::Tensor& b) {
  return !a.defined() ? b : !b.defined() ? a : a + b;
}
at::Tensor multiply_defined(const at::Tensor& a, const at::Tensor& b) {
  return !a.defined() ? b : !b.defined() ? a : a * b;
}
at::Tensor only_one(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (a.defined() && b.defined()) {
    throw Error(std::string("two deltas replace the same ") + what +
                "; a stack may hold one member that trains it");
  }
  return a.defined() ? a : b;
}
}  // namespace

std::optional<LinearDelta> combine(std::optional<LinearDelta> a,
                                   const std::optional<LinearDelta>& b) {
  if (!a) return b;
  if (!b) return a;
  a->weight = only_one(a->weight, b->weight, "projection weight");
  a->bias = only_one(a->bias, b->bias, "projection bias");
  a->bias_offset = add_defined(a->bias_offset, b->bias_offset);
  a->input_scale = multiply_defined(a->input_scale, b->input_scale);
  a->output_scale = multiply_defined(a->output_scale, b->output_scale);
  a->low_rank.insert(a->low_rank.end(), b->low_rank.begin(), b->low_rank.end());
  return a;
}

std::optional<NormDelta> combine(std::optional<NormDelta> a, const std::optional<NormDelta>& b) {
  if (!a) return b;
  if (!b) return a;
  a->weight = only_one(a->weight, b->weight, "norm weight");
  a->bias = only_one(a->bias, b->bias, "norm bias");
  a->weight_offset = add_defined(a->weight_offset, b->weight_offset);
  a->bias_offset = add_defined(a->bias_offset, b->bias_offset);
  return a;
}

at::Tensor apply_layer_tokens(DeltaSites* sites, int64_t layer, const at::Tensor& x) {
  if (!sites) return x;
  at::Tensor y = sites->layer_tokens(layer, x);
  if (layer > 0 && y.size(1) != x.size(1)) {
    throw Error("layer_tokens at layer " + std::to_string(layer) + " changed the length from " +
                std::to_string(x.size(1)) + " to " + std::to_string(y.size(1)) +
                " (only layer 0 may)");
  }
  return y;
}

at::Tensor apply_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            double eps, const std::optional<NormDelta>& delta) {
  const NormAffine affine = norm_affine(weight, bias, delta);
  return at::layer_norm(x, {x.size(-1)}, affine.weight, affine.bias, eps);
}

}  // namespace vlprompt::nn
