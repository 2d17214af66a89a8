// Token sequences as Trainer/Evaluator batches (text tasks). Rows are tokenized once by the
// caller; a batch is the chosen rows right-padded with -1 into [B, L] int64. Two kinds of row:
//   classification  ids of the prompt (template filled in) and a class label;
//   causal LM       ids of prompt + completion, and where the completion starts: the batch then
//                   carries target_mask (true at completion tokens) and labels = those tokens.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "src/engine/train_data.h"

namespace vlprompt::engine {

struct TokenRow {
  std::vector<int64_t> ids;
  int64_t label = -1;         // classification: the class; -1 for causal LM rows
  int64_t target_start = -1;  // causal LM: index of the first completion token (>= 1); else -1
};

class TokenData : public TrainData, public EvalData {
 public:
  // Error naming the row when a row is empty, mixes the two kinds, or a causal-LM row has no
  // completion token (target_start outside [1, ids.size())).
  TokenData(std::vector<TokenRow> rows, int64_t eval_batch_size);

  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  Batch batch(const std::vector<int64_t>& indices, int64_t epoch) override;
  int64_t num_batches() const override;
  Batch batch(int64_t index) override;

  bool causal_lm() const { return causal_lm_; }
  // Completion tokens over all rows (what perplexity averages over).
  int64_t target_tokens() const;
  const std::vector<TokenRow>& rows() const { return rows_; }

 private:
  std::vector<TokenRow> rows_;
  int64_t eval_batch_size_;
  bool causal_lm_ = false;
};

}  // namespace vlprompt::engine
