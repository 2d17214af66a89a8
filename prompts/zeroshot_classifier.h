// Zero-shot classifier weights from hand-written prompts: one text feature per class, from one
// template or an ensemble (each template's features normalized, averaged over templates,
// renormalized — CLIP's prompt-ensembling recipe).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

// -> [num_classes, embed_dim], unit norm. All class x template prompts are tokenized at once and
// encoded in batches of `batch_size` (each batch runs only to its longest prompt).
at::Tensor zeroshot_weights(models::Clip& model, const text::ClipTokenizer& tokenizer,
                            const std::vector<std::string>& classnames,
                            const std::vector<std::string>& templates, int64_t batch_size = 256);

}  // namespace vlprompt::prompts
