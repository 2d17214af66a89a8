// The tokenizer of a Hugging Face LLaMA-family folder: DIR/tokenizer.model (sentencepiece, run by
// text::SentencePieceTokenizer in its isolated module) plus the folder's special-token policy,
// as transformers' LlamaTokenizer applies it:
// - add_bos_token (default true) / add_eos_token (default false) from tokenizer_config.json;
// - bos/eos/pad ids from config.json (bos_token_id, eos_token_id, pad_token_id), falling back to
//   the sentencepiece model's own;
// - the model's vocabulary may be smaller than config.json's vocab_size (padded embeddings),
//   never larger; a bundle that generates requires them equal (pipeline/lm_bundle.h);
// - tokenizer_config.json's bos_token / eos_token must be the pieces at those ids, and
//   add_prefix_space must say whether the model prepends a space; `legacy` (either value) is
//   accepted, since it only changes text that follows a special token inside the text, which
//   vlprompt never splits out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/text/sentencepiece_tokenizer.h"

namespace vlprompt::models::llama {

class LlamaTokenizer {
 public:
  // Throws FileError naming the file for a missing or corrupt tokenizer.model, a file that is not
  // a regular one within its size bound (a FIFO, a link to a device), an unreadable or mistyped
  // JSON key, a special-token string or add_prefix_space the model contradicts, or a model
  // vocabulary larger than config.json's vocab_size (both files named).
  static std::shared_ptr<LlamaTokenizer> load(const std::string& dir);

  // Ids of `text`; with `add_special`, BOS first and EOS last as the folder's policy says.
  std::vector<int64_t> encode(const std::string& text, bool add_special = true) const;
  // Text of `ids`. `skip_special` drops control pieces (BOS, EOS, PAD); otherwise they appear as
  // their piece text ("<s>"), with the runs between them decoded as usual.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const;
  // The text `generated` adds after `prompt`: decoded together, minus the prompt's text.
  // sentencepiece drops the word-boundary space of a text's first piece, so decoding `generated`
  // alone loses the space between the prompt and its continuation ("a" + "man" for "a man").
  std::string decode_continuation(const std::vector<int64_t>& prompt,
                                  const std::vector<int64_t>& generated) const;

  std::string piece(int64_t id) const;  // "▁cat", "<0xE6>", "<s>"; Error outside the vocab
  int64_t vocab_size() const;           // the sentencepiece model's (config.json's may be larger)
  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }  // -1 if none
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  std::string path() const { return path_; }  // the tokenizer.model file
  const text::SentencePieceTokenizer& sentencepiece() const { return spm_; }

  // Only load() makes one (a passkey: make_shared needs a public constructor).
  class Key {
    friend class LlamaTokenizer;
    Key() = default;
  };
  LlamaTokenizer(Key, text::SentencePieceTokenizer spm) : spm_(std::move(spm)) {}

 private:
  text::SentencePieceTokenizer spm_;
  std::string path_;
  int64_t bos_id_ = -1;
  int64_t eos_id_ = -1;
  int64_t pad_id_ = -1;
  bool add_bos_ = true;
  bool add_eos_ = false;
};

}  // namespace vlprompt::models::llama
