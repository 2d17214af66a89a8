// KgCoOp's regulariser (Yao et al., "Visual-Language Prompt Tuning with Knowledge-guided Context
// Optimization", CVPR 2023), as its code computes it: weight x (1 - mean cosine between the
// learned class text features and the hand-written prompts' frozen ones). It keeps learned
// prompts near general knowledge, which is what CoOp loses on new classes. CoOp and CoCoOp take it
// as `kg_weight` (the paper's configs use 8.0; 0 is off).
#pragma once

#include <ATen/ATen.h>

namespace vlprompt::prompts {

// learned [C, D] or [N, C, D]; manual [C, D] (broadcast over N). Undefined when weight is 0.
at::Tensor knowledge_guidance_term(double weight, const at::Tensor& learned,
                                   const at::Tensor& manual);

}  // namespace vlprompt::prompts
