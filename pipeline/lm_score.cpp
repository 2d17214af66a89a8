#include "pipeline/lm_score.h"

#include <algorithm>
#include <cmath>

#include "src/core/error.h"

namespace vlprompt::pipeline {

std::vector<nlohmann::json> score_sequences(models::llama::LlamaModel& model, nn::DeltaSites* sites,
                                            const std::vector<std::vector<int64_t>>& ids,
                                            int64_t batch) {
  at::NoGradGuard no_grad;
  std::vector<nlohmann::json> out;
  const at::Device device = model->head_weight().device();
  for (size_t first = 0; first < ids.size(); first += batch) {
    const size_t last = std::min(ids.size(), first + static_cast<size_t>(batch));
    size_t longest = 0;
    for (size_t i = first; i < last; ++i) {
      if (ids[i].empty()) throw Error("lm score: text " + std::to_string(i + 1) + " has no tokens");
      longest = std::max(longest, ids[i].size());
    }
    at::Tensor padded =
        at::zeros({static_cast<int64_t>(last - first), static_cast<int64_t>(longest)}, at::kLong);
    for (size_t i = first; i < last; ++i)
      padded[i - first].slice(0, 0, ids[i].size()).copy_(at::tensor(ids[i], at::kLong));
    const at::Tensor logits = model->logits(padded.to(device), sites).to(at::kDouble).cpu();
    const int64_t inserted = sites ? sites->inserted_tokens() : 0;
    for (size_t i = first; i < last; ++i) {
      const std::vector<int64_t>& row = ids[i];
      const auto n = static_cast<int64_t>(row.size());
      const at::Tensor own = logits[i - first].slice(0, inserted, inserted + n);  // [n, V]
      const at::Tensor logp = at::log_softmax(own, -1);
      std::vector<double> token_logp;
      double sum = 0;
      for (int64_t t = 0; t + 1 < n; ++t) {
        token_logp.push_back(logp[t][row[t + 1]].item<double>());
        sum += token_logp.back();
      }
      const auto top = own[n - 1].topk(std::min<int64_t>(5, own.size(1)));
      nlohmann::json pairs = nlohmann::json::array();
      for (int64_t k = 0; k < std::get<0>(top).size(0); ++k)
        pairs.push_back({std::get<1>(top)[k].item<int64_t>(), std::get<0>(top)[k].item<double>()});
      nlohmann::json record{{"ids", row}, {"logprobs", token_logp}, {"top", pairs}};
      record["ppl"] = token_logp.empty() ? nlohmann::json(nullptr)
                                         : nlohmann::json(std::exp(-sum / token_logp.size()));
      out.push_back(std::move(record));
    }
  }
  return out;
}

}  // namespace vlprompt::pipeline
