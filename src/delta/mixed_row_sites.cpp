#include "src/delta/mixed_row_sites.h"

#include "src/core/error.h"

namespace vlprompt::delta {

MixedRowSites::MixedRowSites(std::vector<nn::DeltaSites*> members, std::vector<std::string> names,
                             const std::vector<int64_t>& rows, at::Device device)
    : batch_(static_cast<int64_t>(rows.size())), device_(device) {
  if (names.size() != members.size())
    throw Error("MixedRowSites: " + std::to_string(members.size()) + " members but " +
                std::to_string(names.size()) + " names");
  std::vector<std::vector<int64_t>> member_rows(members.size());
  for (size_t b = 0; b < rows.size(); ++b) {
    const int64_t k = rows[b];
    if (k < -1 || k >= static_cast<int64_t>(members.size()))
      throw Error("MixedRowSites: row " + std::to_string(b) + " names member " + std::to_string(k) +
                  "; expected -1 or 0.." + std::to_string(members.size() - 1));
    if (k >= 0) member_rows[k].push_back(static_cast<int64_t>(b));
  }
  for (size_t k = 0; k < members.size(); ++k) {
    if (!members[k] || member_rows[k].empty() || !members[k]->has_module_sites()) continue;
    groups_.push_back({members[k], names[k], at::tensor(member_rows[k], at::kLong).to(device)});
    has_module_sites_ = true;
  }
}

const MixedRowSites::Group* MixedRowSites::sole_group() const {
  return groups_.size() == 1 && groups_[0].rows.size(0) == batch_ ? &groups_[0] : nullptr;
}

at::Tensor MixedRowSites::per_row(const std::vector<at::Tensor>& per_group, double fill) const {
  int64_t width = -1;
  at::TensorOptions options;
  for (const at::Tensor& t : per_group) {
    if (!t.defined()) continue;
    width = t.numel();
    options = t.options();
  }
  if (width < 0) return at::Tensor();
  at::Tensor out = at::full({batch_, width}, fill, options);
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!per_group[g].defined()) continue;
    const at::Tensor& rows = groups_[g].rows;
    out.index_copy_(0, rows, per_group[g].reshape({1, width}).expand({rows.size(0), width}));
  }
  return out.unsqueeze(1);
}

std::optional<nn::LinearDelta> MixedRowSites::linear(int64_t layer, nn::LinearSite site) {
  if (const Group* sole = sole_group()) return sole->sites->linear(layer, site);
  const auto key = std::make_pair(layer, static_cast<int>(site));
  if (const auto it = linear_cache_.find(key); it != linear_cache_.end()) return it->second;
  std::vector<at::Tensor> bias_offset(groups_.size()), input_scale(groups_.size()),
      output_scale(groups_.size());
  nn::LinearDelta mixed;
  bool any = false;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::optional<nn::LinearDelta> d = groups_[g].sites->linear(layer, site);
    if (!d) continue;
    any = true;
    if (d->weight.defined() || d->bias.defined())
      throw Error("delta '" + groups_[g].name + "' replaces a frozen projection weight (layer " +
                  std::to_string(layer) +
                  "); it cannot share a batch with other deltas' rows (merge it into the model)");
    bias_offset[g] = d->bias_offset;
    input_scale[g] = d->input_scale;
    output_scale[g] = d->output_scale;
    for (nn::LowRankUpdate update : d->low_rank) {
      update.rows = groups_[g].rows;
      mixed.low_rank.push_back(std::move(update));
    }
  }
  std::optional<nn::LinearDelta> out;
  if (any) {
    mixed.bias_offset = per_row(bias_offset, 0.0);
    mixed.input_scale = per_row(input_scale, 1.0);
    mixed.output_scale = per_row(output_scale, 1.0);
    out = std::move(mixed);
  }
  linear_cache_[key] = out;
  return out;
}

std::optional<nn::NormDelta> MixedRowSites::norm(int64_t layer, nn::NormSite site) {
  if (const Group* sole = sole_group()) return sole->sites->norm(layer, site);
  const auto key = std::make_pair(layer, static_cast<int>(site));
  if (const auto it = norm_cache_.find(key); it != norm_cache_.end()) return it->second;
  std::vector<at::Tensor> weight_offset(groups_.size()), bias_offset(groups_.size());
  bool any = false;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::optional<nn::NormDelta> d = groups_[g].sites->norm(layer, site);
    if (!d) continue;
    any = true;
    if (d->weight.defined() || d->bias.defined())
      throw Error("delta '" + groups_[g].name + "' replaces a frozen norm (layer " +
                  std::to_string(layer) +
                  "); it cannot share a batch with other deltas' rows (merge it into the model)");
    weight_offset[g] = d->weight_offset;
    bias_offset[g] = d->bias_offset;
  }
  std::optional<nn::NormDelta> out;
  if (any) {
    nn::NormDelta mixed;
    mixed.weight_offset = per_row(weight_offset, 0.0);
    mixed.bias_offset = per_row(bias_offset, 0.0);
    out = std::move(mixed);
  }
  norm_cache_[key] = out;
  return out;
}

at::Tensor MixedRowSites::sublayer_output(int64_t layer, nn::Sublayer sublayer,
                                          const at::Tensor& output) {
  if (const Group* sole = sole_group())
    return sole->sites->sublayer_output(layer, sublayer, output);
  at::Tensor out = output;
  for (const Group& g : groups_) {
    const at::Tensor rows_in = output.index_select(0, g.rows);
    const at::Tensor rows_out = g.sites->sublayer_output(layer, sublayer, rows_in);
    if (rows_out.is_same(rows_in)) continue;
    out = out.index_copy(0, g.rows, rows_out);
  }
  return out;
}

at::Tensor MixedRowSites::tower_tensor(const std::string& name) {
  if (const Group* sole = sole_group()) return sole->sites->tower_tensor(name);
  for (const Group& g : groups_) {
    if (g.sites->tower_tensor(name).defined())
      throw Error("delta '" + g.name + "' replaces the frozen " + name +
                  "; it cannot share a batch with other deltas' rows (merge it into the model)");
  }
  return at::Tensor();
}

}  // namespace vlprompt::delta
