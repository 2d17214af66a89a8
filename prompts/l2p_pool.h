// L2P's prompt pool (Wang et al., "Learning to Prompt for Continual Learning", CVPR 2022), as
// plain tensor functions: the choice of prompts by matching a query against learned keys, and the
// prompts gathered per image. The semantics are those of the L2P code (JH-LEE-KR/l2p-pytorch,
// prompt.py, checked against it in tests/fixtures/l2p):
//   similarity  = normalize(query) @ normalize(keys)^T                 [B, pool]
//   ids         = top-k of each row (instance-wise), or, batch-wise, the k ids chosen by most
//                 rows (ties: the lower id first) given to every row   [B, k]
//   reduce_sim  = sum(normalize(keys)[ids] * normalize(query)[:, None]) / B
// where normalize(x) = x * rsqrt(max(sum x^2, 1e-12)).
#pragma once

#include <ATen/ATen.h>

namespace vlprompt::prompts::l2p {

struct PromptSelection {
  at::Tensor similarity;  // [B, pool]
  at::Tensor ids;         // [B, top_k] int64, best first
  at::Tensor reduce_sim;  // scalar: the keys' pull towards the queries (differentiable in keys)
};

at::Tensor l2_normalize(const at::Tensor& x, int64_t dim);

// query [B, D] (a constant: no gradient flows into it), keys [pool, D].
PromptSelection select_prompts(const at::Tensor& query, const at::Tensor& keys, int64_t top_k,
                               bool batchwise);

// prompts [pool, length, W] gathered by ids [B, k] -> [B, k * length, W], prompt by prompt.
at::Tensor gather_prompts(const at::Tensor& prompts, const at::Tensor& ids);

}  // namespace vlprompt::prompts::l2p
