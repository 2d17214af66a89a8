// Shared-prefix encoding's plan for one batch of token rows: how many leading positions a causal
// tower computes once per group of rows (Transformer::forward_shared_prefix), from what the
// delta sites promise (SharedPrefix) and what the token ids allow. CoOp's 10 class prompts of
// [SOS][ctx x 16][class][.][EOS] share 17 positions: 17 + 10 x 5 tokens instead of 10 x 22.
#pragma once

#include <ATen/ATen.h>

#include "src/nn/delta_sites.h"

namespace vlprompt::nn {

struct SharedPrefixPlan {
  int64_t length = 0;          // shared positions; 0 runs the plain pass
  int64_t last_end = 0;        // the largest end position in the batch
  at::Tensor groups;           // [B] int64 numbered 0..G-1, or undefined for one group
  at::Tensor representatives;  // [G] int64: the first row of each group
};

// `ids` [B, L] token ids at the positions the tower runs, `ends` [B] each row's end position
// (the last one its output is read from; it must stay after the prefix). The prefix is the
// longest run of leading positions where every row holds its group's first row's ids, cut to
// `declared.length` and to the earliest end; `declared.groups` may be any labels; sharing fewer
// than 2 positions, or one group per row, is not worth a second pass and plans 0. One host sync for
// all of it.
SharedPrefixPlan plan_shared_prefix(const at::Tensor& ids, const at::Tensor& ends,
                                    const SharedPrefix& declared);

}  // namespace vlprompt::nn
