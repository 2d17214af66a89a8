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
};

class CoOpTextSites;

class CoOpImpl : public delta::Delta {
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
  void set_classnames(const std::vector<std::string>& classnames);
  const std::vector<std::string>& classnames() const { return classnames_; }

  // Text features [C, embed_dim] for every class (not normalised); gradients reach ctx only.
  // `full_length` runs all context_length positions instead of stopping after the longest EOT.
  at::Tensor text_features(bool full_length = false);

  // [C, context_length] int64: the class prompts' ids. At context positions they hold the
  // tokens of ctx_init (or "X"), which the site overwrites.
  const at::Tensor& token_ids() const { return token_ids_; }
  // Row and column of every context vector, [C * n_ctx] each, ordered (class, context index).
  const at::Tensor& ctx_rows() const { return ctx_rows_; }
  const at::Tensor& ctx_cols() const { return ctx_cols_; }

  nn::DeltaSites* sites(delta::Tower tower) override;
  // n_ctx (the actual count), ctx_init, csc, class_token_position, init_std, seed.
  std::map<std::string, std::string> hyperparameters() const override;
  const CoOpOptions& options() const { return options_; }
  models::Clip& clip() { return clip_; }

  // [n_ctx, D], or [C, n_ctx, D] with csc; registered as "ctx".
  at::Tensor ctx;

 private:
  at::Tensor initial_context(int64_t num_classes);
  friend class CoOpTextSites;

  CoOpOptions options_;
  models::Clip clip_;
  std::shared_ptr<const text::ClipTokenizer> tokenizer_;
  std::vector<std::string> classnames_;
  std::string prefix_text_;          // text at the context positions (ctx_init, or "X X ...")
  std::vector<int64_t> prefix_ids_;  // ctx_init's tokens, whose embeddings initialise ctx
  at::Tensor token_ids_;             // buffers; replaced in place by set_classnames
  at::Tensor ctx_rows_;
  at::Tensor ctx_cols_;
  int64_t last_ctx_col_ = 0;  // the tokens must reach this column (checked without a sync)
  std::unique_ptr<CoOpTextSites> text_sites_;
};
TORCH_MODULE(CoOp);

// CoOpOptions <-> the string hyper-parameters of a delta file; bad values are Errors naming the
// key, the value and what is allowed.
CoOpOptions coop_options_from(const std::map<std::string, std::string>& hyperparameters);

}  // namespace vlprompt::prompts
