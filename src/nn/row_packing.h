// Rows of different lengths packed into one sequence of their real positions, so the per-token
// work of a block (projections, MLP, norms, module sites) skips the padding: CoOp's 10 class
// prompts after a shared 17-token prefix hold 34 real positions in a padded 10 x 5. Only
// attention needs the rows apart; it unpacks (zeros after each row's end, which a causal query
// never reads) and packs its output back.
#pragma once

#include <ATen/ATen.h>

namespace vlprompt::nn {

class RowPacking {
 public:
  // `lengths` [B] int64, each in 1..`length` (the padded length). One host sync.
  RowPacking(const at::Tensor& lengths, int64_t length);

  // [B, S, w] -> [1, T, w]: the real positions, row after row.
  at::Tensor pack(const at::Tensor& padded) const;
  // [1, T, w] -> [B, S, w], zeros after each row's end.
  at::Tensor unpack(const at::Tensor& packed) const;
  // [B]: where each row's last position sits in the packed sequence.
  const at::Tensor& last_positions() const { return last_; }
  int64_t tokens() const { return tokens_; }

 private:
  int64_t batch_, length_, tokens_;
  at::Tensor packed_;  // [T]: the padded (flat) slot of each packed position
  at::Tensor padded_;  // [B * S]: the packed position of each padded slot, or T (a zero row)
  at::Tensor last_;
};

}  // namespace vlprompt::nn
