#include "prompts/kgcoop.h"

#include "src/core/error.h"

namespace vlprompt::prompts {

at::Tensor knowledge_guidance_term(double weight, const at::Tensor& learned,
                                   const at::Tensor& manual) {
  if (weight == 0) return {};
  if (!learned.defined() || !manual.defined() || learned.size(-2) != manual.size(0)) {
    throw Error("kg_weight: the learned and hand-written class text features do not match");
  }
  const at::Tensor a = learned / learned.norm(2, -1, true);
  const at::Tensor b = (manual / manual.norm(2, -1, true)).to(a.scalar_type());
  return weight * (1.0 - (a * b).sum(-1).mean());
}

}  // namespace vlprompt::prompts
