// The running batch of continuous batching: every sequence being generated, each with its own
// keys and values, in one padded cache so that a decoding step is one forward pass.
//
// Rows of different lengths share columns: a row sees its own columns (`visible`) and nothing
// else, so joining, finishing and padding never change a row's result. Columns no row sees are
// dropped when rows leave, and rows are re-packed left when padding outgrows what they hold.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "models/llama/llama_model.h"

namespace vlprompt::serve {

class DecodeBatch {
 public:
  int64_t size() const { return static_cast<int64_t>(positions_.size()); }
  int64_t columns() const { return cache_.length(); }
  int64_t compactions() const { return compactions_; }  // times the cache was re-packed

  // Adds prefilled sequences: row r of `cache` ([R, Hkv, T, d] per layer) holds one sequence in
  // its first lengths[r] columns (the prefix and virtual tokens included; right padding after
  // them), and its next token goes at position lengths[r]. They become the last rows.
  void add(const models::llama::LlamaCache& cache, const std::vector<int64_t>& lengths);

  // Keeps rows `rows` (ascending), in that order, and drops the others.
  void keep(const std::vector<int64_t>& rows);

  // One decoding step: row n consumes ids[n]. Returns logits [N, vocab].
  at::Tensor step(models::llama::LlamaModel& model, const std::vector<int64_t>& ids,
                  nn::DeltaSites* sites);

 private:
  // Re-packs every row's visible columns to the left when padding exceeds what rows hold.
  void compact();

  models::llama::LlamaCache cache_;
  at::Tensor visible_;  // [N, T] bool
  std::vector<int64_t> positions_;
  int64_t compactions_ = 0;
};

}  // namespace vlprompt::serve
