// Prompt Tuning (Lester et al., "The Power of Scale for Parameter-Efficient Prompt Tuning",
// EMNLP 2021) on a frozen LLaMA-family LM: n_virtual trainable embeddings [n, hidden] prepended
// to the input embeddings (PEFT's PROMPT_TUNING, tensor "prompt_embeddings"). Initialisation:
//   random  N(0, init_std^2) from the delta's seed (PEFT's RANDOM: nn.Embedding's N(0, 1))
//   vocab   rows of the frozen embedding matrix at token ids drawn uniformly with the seed
//           (PEFT's SAMPLE_VOCAB)
//   text    the embeddings of init_text's ids (BOS first when init_text_bos and the model names
//           one, as PEFT's tokenizer call adds it), repeated then cut to n (PEFT's TEXT)
//   labels  Lester's class-label init: row i is the mean embedding of label word i's tokens; rows
//           past the labels are sampled from the vocabulary as in `vocab`.
// n_virtual = 0 is allowed: the sites then leave the input untouched (exactly the plain model).
#pragma once

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "prompts/lm/virtual_tokens.h"
#include "prompts/registry.h"

namespace vlprompt::prompts::lm {

struct PromptTuningOptions {
  /// PromptTuning pt(PromptTuningOptions().n_virtual(20).init("text").init_text("..."), ctx);
  TORCH_ARG(int64_t, n_virtual) = 20;
  TORCH_ARG(std::string, init) = "vocab";
  TORCH_ARG(std::string, init_text) = "";
  TORCH_ARG(bool, init_text_bos) = true;
  TORCH_ARG(double, init_std) = 1.0;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  template <class V>
  void visit(V& v) {
    v("n_virtual", n_virtual_, "virtual tokens prepended to the input (0 = the plain model)");
    v("init", init_, "initialisation: random | vocab | text | labels");
    v("init_text", init_text_, "the text whose token embeddings start the prompt (init: text)");
    v("init_text_bos", init_text_bos_, "put BOS before init_text's ids, as PEFT's tokenizer does");
    v("init_std", init_std_, "std of the random initialisation (init: random)");
    v("seed", seed_, "seed of the initialisation (default: the run seed)");
  }
};

class PromptTuningImpl : public VirtualTokenDeltaImpl {
 public:
  // Reads the frozen embedding matrix (and context.encode / label_words for text and labels
  // init) from `context`; with context.load_only the start is left at zeros (the tensors are
  // about to be loaded).
  PromptTuningImpl(PromptTuningOptions options, const LmMethodContext& context);

  at::Tensor virtual_tokens() override { return embeddings; }
  int64_t n_virtual() const override { return options_.n_virtual(); }
  std::map<std::string, std::string> hyperparameters() const override;
  const PromptTuningOptions& options() const { return options_; }

  at::Tensor embeddings;  // [n_virtual, hidden], registered as "embeddings"

 private:
  PromptTuningOptions options_;
};
TORCH_MODULE(PromptTuning);

// The ids PEFT's TEXT init reads: `ids` repeated until there are n, then cut to n.
std::vector<int64_t> repeat_to(const std::vector<int64_t>& ids, int64_t n);

}  // namespace vlprompt::prompts::lm
