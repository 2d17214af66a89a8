// One batch whose rows use different deltas' module-level sites (multi-delta serving, as
// Punica/S-LoRA batch LoRAs): row b runs with members[rows[b]] (none for -1), and equals that
// member's own single-delta pass up to rounding.
//
// Per-row terms become per-row tensors that broadcast over the sequence ([B, 1, width]): bias
// offsets, IA3's input and output scales, norm offsets. Low-rank updates keep their matrices and
// act on their group's rows only (LowRankUpdate::rows: gather, two small matmuls, add back), and
// adapters run on their group's rows. Replacements of frozen weights (full or partial
// fine-tuning, LN tuning) cannot share a frozen matmul with other rows: they are an Error naming
// the member, unless every row uses that member.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/nn/delta_sites.h"

namespace vlprompt::delta {

class MixedRowSites : public nn::DeltaSites {
 public:
  // members[k]: a delta's sites (module-level ones are read; may be null for "no delta");
  // names[k] names it in errors. rows [B] on the host: each row's member, or -1.
  MixedRowSites(std::vector<nn::DeltaSites*> members, std::vector<std::string> names,
                const std::vector<int64_t>& rows, at::Device device);

  bool has_module_sites() const override { return has_module_sites_; }
  std::optional<nn::LinearDelta> linear(int64_t layer, nn::LinearSite site) override;
  std::optional<nn::NormDelta> norm(int64_t layer, nn::NormSite site) override;
  at::Tensor sublayer_output(int64_t layer, nn::Sublayer sublayer,
                             const at::Tensor& output) override;
  at::Tensor tower_tensor(const std::string& name) override;

 private:
  struct Group {
    nn::DeltaSites* sites;
    std::string name;
    at::Tensor rows;  // [n] int64 on the device
  };
  // A [B, 1, width] tensor holding `fill` except at each group's rows, where `per_group[g]`
  // (a [width] tensor, or undefined to keep `fill`) is.
  at::Tensor per_row(const std::vector<at::Tensor>& per_group, double fill) const;
  // The only group when it covers every row (no mixing needed), else null.
  const Group* sole_group() const;

  std::vector<Group> groups_;
  int64_t batch_ = 0;
  at::Device device_;
  bool has_module_sites_ = false;
  // The per-row terms of a (layer, site) are the same at every decoding step of one batch.
  std::map<std::pair<int64_t, int>, std::optional<nn::LinearDelta>> linear_cache_;
  std::map<std::pair<int64_t, int>, std::optional<nn::NormDelta>> norm_cache_;
};

}  // namespace vlprompt::delta
