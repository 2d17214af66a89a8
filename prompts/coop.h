// CoOp, Context Optimization (Zhou et al., "Learning to Prompt for Vision-Language Models",
// IJCV 2022): n_ctx learned word vectors shared by every class (or one set per class, CSC) take
// the place of a hand-written template in the text tower's input.
//
// Prompt per class, as the reference code lays it out (ctx = the learned vectors):
//   end     [SOS][ctx 0..n-1][class tokens][.][EOS]
//   front   [SOS][class tokens][ctx 0..n-1][.][EOS]
//   middle  [SOS][ctx 0..n/2-1][class tokens][ctx n/2..n-1][.][EOS]
// All class prompts are tokenized once; (row, column) index tensors say where each context
// vector goes, and the text tower's input-token site writes them there in one index_put, so the
// forward pass has no per-class loop for any position.
#pragma once

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "src/core/config.h"
#include "src/delta/delta.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

struct CoOpOptions {
  /// CoOp coop(CoOpOptions().n_ctx(4).class_token_position("middle"), clip, tokenizer, names);
  // Number of learned context vectors (ignored when ctx_init is set).
  TORCH_ARG(int64_t, n_ctx) = 16;
  // Words to initialise the context from ("a photo of a"; '_' reads as a space); n_ctx becomes
  // their token count. Empty: random N(0, init_std) initialisation.
  TORCH_ARG(std::string, ctx_init) = "";
  // Class-specific context: one [n_ctx, D] set per class ([C, n_ctx, D]).
  TORCH_ARG(bool, csc) = false;
  // "end", "middle" or "front".
  TORCH_ARG(std::string, class_token_position) = "end";
  TORCH_ARG(double, init_std) = 0.02;
  // Seeds the random context initialisation (not the rest of a run).
  TORCH_ARG(uint64_t, seed) = 0;
  // KgCoOp's pull towards the hand-written prompts (prompts/kgcoop.h); 0 = off.
  TORCH_ARG(double, kg_weight) = 0.0;

 public:
  // The keys of the `coop:` config section and of a CoOp delta file, read by core::read_config.
  template <class V>
  void visit(V& v) {
    v("n_ctx", n_ctx_, "learned context vectors (ignored when ctx_init is set)");
    v("ctx_init", ctx_init_, "initialise the context from these words ('' = random)");
    v("csc", csc_, "class-specific context");
    v("class_token_position", class_token_position_, "end | middle | front");
    v("init_std", init_std_, "std of the random initialisation");
    v("kg_weight", kg_weight_, "KgCoOp regulariser weight (0 = off; the paper uses 8.0)");
    v("seed", seed_, "seed of the random initialisation (default: the run seed)");
  }
};

class CoOpTextSites;

class CoOpImpl : public delta::Delta, public delta::ClassPrompts, public delta::LossTerm {
 public:
  // `clip` is read (token embeddings for ctx_init, the text tower for features) but not owned as
  // a submodule, so no backbone tensor is ever part of this delta.
  CoOpImpl(CoOpOptions options, models::Clip clip,
           std::shared_ptr<const text::ClipTokenizer> tokenizer,
           const std::vector<std::string>& classnames);
  ~CoOpImpl() override;

  // Rebuilds the class prompts for another class list, keeping the learned context (cross-dataset
  // transfer). A class-specific context has one set per class, so CSC refuses a list that differs
  // in count or names from the one it was trained on, with an Error naming both.
  void set_classnames(const std::vector<std::string>& classnames) override;
  const std::vector<std::string>& classnames() const { return classnames_; }

  // Text features [C, embed_dim] for every class (not normalised); gradients reach ctx only.
  // `positions`: which positions the text tower runs (models::TextPositions; the same features).
  at::Tensor text_features(models::TextPositions positions = models::TextPositions::kSharedPrefix);

  // [C, context_length] int64: the class prompts' ids. At context positions they hold the
  // tokens of ctx_init (or "X"), which the site overwrites.
  const at::Tensor& token_ids() const { return token_ids_; }
  // The column of every context vector in its class's prompt, [C, n_ctx].
  const at::Tensor& ctx_cols() const { return ctx_cols_; }

  // Text sites: rows of the token batch are the classes context.prompt_rows names (all classes in
  // order when undefined), so a batch may hold any subset, repeated (one prompt set per image).
  nn::DeltaSites* sites(delta::Tower tower, const delta::SiteContext& context) override;
  bool touches(delta::Tower tower) const override { return tower == delta::Tower::kText; }
  at::Tensor class_prompt_ids() const override { return token_ids_; }
  // n_ctx (the actual count), ctx_init, csc, class_token_position, init_std, seed.
  std::map<std::string, std::string> hyperparameters() const override;
  at::Tensor loss_term(const delta::LossContext& context) override;
  const CoOpOptions& options() const { return options_; }
  models::Clip& clip() { return clip_; }

  // [n_ctx, D], or [C, n_ctx, D] with csc; registered as "ctx".
  at::Tensor ctx;

 private:
  friend class CoOpTextSites;

  CoOpOptions options_;
  models::Clip clip_;
  std::shared_ptr<const text::ClipTokenizer> tokenizer_;
  std::vector<std::string> classnames_;
  std::string prefix_text_;  // text at the context positions (ctx_init, or "X X ...")
  at::Tensor token_ids_;     // buffers; replaced in place by set_classnames
  at::Tensor ctx_cols_;
  int64_t last_ctx_col_ = 0;    // the tokens must reach this column (checked without a sync)
  int64_t shared_columns_ = 0;  // leading columns alike in every class prompt
  std::unique_ptr<CoOpTextSites> text_sites_;
};
TORCH_MODULE(CoOp);

// The `section` of a run config or delta file as CoOpOptions; bad keys and values are errors naming
// their layer, the key, the value and what is allowed. Without a `seed` key the context is seeded
// by `run_seed`.
CoOpOptions read_coop_options(const core::ResolvedConfig& config, const std::string& section,
                              uint64_t run_seed);

}  // namespace vlprompt::prompts
