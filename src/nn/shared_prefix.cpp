#include "src/nn/shared_prefix.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "src/core/error.h"

namespace vlprompt::nn {

SharedPrefixPlan plan_shared_prefix(const at::Tensor& ids, const at::Tensor& ends,
                                    const SharedPrefix& declared) {
  SharedPrefixPlan plan;
  const int64_t batch = ids.size(0);
  if (declared.length < 2 || batch < 2) {
    plan.last_end = ends.max().item<int64_t>();
    return plan;
  }
  const auto index = at::TensorOptions(ids.device()).dtype(at::kLong);
  at::Tensor groups;           // [B] dense group numbers 0..G-1
  at::Tensor representatives;  // [G]
  at::Tensor reference;        // the ids of each row's group's first row
  if (declared.groups.defined()) {
    if (declared.groups.dim() != 1 || declared.groups.numel() != batch) {
      throw Error("shared prefix: groups " + c10::str(declared.groups.sizes()) +
                  " for a batch of " + std::to_string(batch) + " rows");
    }
    // Any labels: renumbered densely (G is known from here on). A stable sort lists each
    // group's rows in order, so its first row starts the group's run.
    at::Tensor counts;
    std::tie(std::ignore, groups, counts) =
        at::_unique2(declared.groups.to(index), true, true, true);
    const at::Tensor by_group = std::get<1>(at::sort(groups, /*stable=*/true, 0, false));
    representatives = by_group.index_select(0, counts.cumsum(0) - counts);
    reference = ids.index_select(0, representatives.index_select(0, groups));
  } else {
    representatives = at::zeros({1}, index);
    reference = ids.narrow(0, 0, 1);
  }
  const at::Tensor common = ids.eq(reference).all(0).to(at::kLong).cumprod(0).sum();
  const at::Tensor stats = at::stack({ends.max(), ends.min(), common}).cpu();
  const int64_t* s = stats.data_ptr<int64_t>();
  plan.last_end = s[0];
  const int64_t length = std::min({declared.length, s[2], s[1]});
  if (length < 2 || representatives.size(0) >= batch) return plan;
  plan.length = length;
  plan.groups = groups;
  plan.representatives = representatives;
  return plan;
}

}  // namespace vlprompt::nn
