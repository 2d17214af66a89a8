#include "prompts/l2p_pool.h"

#include "src/core/error.h"

namespace vlprompt::prompts::l2p {

at::Tensor l2_normalize(const at::Tensor& x, int64_t dim) {
  return x * at::rsqrt(at::clamp_min(x.pow(2).sum(dim, /*keepdim=*/true), 1e-12));
}

PromptSelection select_prompts(const at::Tensor& query, const at::Tensor& keys, int64_t top_k,
                               bool batchwise) {
  if (query.dim() != 2 || keys.dim() != 2 || query.size(1) != keys.size(1)) {
    throw Error("l2p: the query " + c10::str(query.sizes()) + " and the keys " +
                c10::str(keys.sizes()) + " must be [B, D] and [pool, D]");
  }
  const int64_t pool = keys.size(0), batch = query.size(0);
  if (top_k < 1 || top_k > pool) {
    throw Error("l2p: top_k is " + std::to_string(top_k) + ", expected 1.." + std::to_string(pool) +
                " (the pool size)");
  }
  PromptSelection out;
  const at::Tensor q = l2_normalize(query.detach().to(keys.scalar_type()), 1);
  const at::Tensor k = l2_normalize(keys, 1);
  out.similarity = q.matmul(k.t());
  at::Tensor ids = std::get<1>(out.similarity.detach().topk(top_k, 1));
  if (batchwise) {
    // Votes per id over the batch; a stable descending sort keeps the lower id first on a tie.
    const at::Tensor counts = at::bincount(ids.flatten().cpu(), {}, pool);
    const at::Tensor order = std::get<1>(at::sort(counts, /*stable=*/true, 0, /*descending=*/true));
    ids = order.slice(0, 0, top_k).to(ids.device()).unsqueeze(0).expand({batch, top_k});
  }
  out.ids = ids.contiguous();
  const at::Tensor chosen = k.index_select(0, out.ids.view(-1)).view({batch, top_k, -1});
  out.reduce_sim = (chosen * q.unsqueeze(1)).sum() / static_cast<double>(batch);
  return out;
}

at::Tensor gather_prompts(const at::Tensor& prompts, const at::Tensor& ids) {
  const int64_t batch = ids.size(0), k = ids.size(1);
  return prompts.index_select(0, ids.reshape(-1))
      .view({batch, k * prompts.size(1), prompts.size(2)});
}

}  // namespace vlprompt::prompts::l2p
