#include "src/engine/token_data.h"

#include <algorithm>
#include <string>

#include "src/core/error.h"

namespace vlprompt::engine {

TokenData::TokenData(std::vector<TokenRow> rows, int64_t eval_batch_size)
    : rows_(std::move(rows)), eval_batch_size_(eval_batch_size) {
  if (eval_batch_size_ < 1) throw Error("token data: batch size must be >= 1");
  causal_lm_ = !rows_.empty() && rows_[0].target_start >= 0;
  for (size_t i = 0; i < rows_.size(); ++i) {
    const TokenRow& r = rows_[i];
    const std::string where = "token data row " + std::to_string(i);
    if (r.ids.empty()) throw Error(where + ": no tokens");
    if ((r.target_start >= 0) != causal_lm_)
      throw Error(where + ": mixes causal-LM rows (with a completion) and classification rows");
    const auto n = static_cast<int64_t>(r.ids.size());
    if (causal_lm_ && (r.target_start < 1 || r.target_start >= n))
      throw Error(where + ": the completion starts at token " + std::to_string(r.target_start) +
                  " of " + std::to_string(n) + "; expected one in [1, " + std::to_string(n) +
                  ") (a completion of at least one token after at least one prompt token)");
    if (!causal_lm_ && r.label < 0) throw Error(where + ": no label");
  }
}

Batch TokenData::batch(const std::vector<int64_t>& indices, int64_t /*epoch*/) {
  size_t longest = 0;
  for (int64_t i : indices) longest = std::max(longest, rows_.at(i).ids.size());
  const auto b = static_cast<int64_t>(indices.size());
  const auto l = static_cast<int64_t>(longest);
  at::Tensor ids = at::full({b, l}, -1, at::kLong);
  at::Tensor mask = causal_lm_ ? at::zeros({b, l}, at::kBool) : at::Tensor();
  std::vector<int64_t> labels;
  int64_t* out = ids.data_ptr<int64_t>();
  for (int64_t r = 0; r < b; ++r) {
    const TokenRow& row = rows_[indices[r]];
    std::copy(row.ids.begin(), row.ids.end(), out + r * l);
    if (causal_lm_) {
      const auto n = static_cast<int64_t>(row.ids.size());
      mask[r].slice(0, row.target_start, n).fill_(true);
      labels.insert(labels.end(), row.ids.begin() + row.target_start, row.ids.end());
    } else {
      labels.push_back(row.label);
    }
  }
  Batch batch;
  batch.inputs = ids;
  batch.labels = at::tensor(labels, at::kLong);
  batch.target_mask = mask;
  return batch;
}

int64_t TokenData::num_batches() const {
  return (size() + eval_batch_size_ - 1) / eval_batch_size_;
}

Batch TokenData::batch(int64_t index) {
  std::vector<int64_t> indices;
  for (int64_t i = index * eval_batch_size_; i < std::min(size(), (index + 1) * eval_batch_size_);
       ++i)
    indices.push_back(i);
  return batch(indices, 0);
}

int64_t TokenData::target_tokens() const {
  int64_t n = 0;
  for (const TokenRow& r : rows_)
    if (r.target_start >= 0) n += static_cast<int64_t>(r.ids.size()) - r.target_start;
  return n;
}

}  // namespace vlprompt::engine
