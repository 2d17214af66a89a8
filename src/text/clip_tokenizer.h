// OpenAI CLIP's byte-level BPE tokenizer: the same text cleaning, pre-tokenizing pattern, byte to
// unicode mapping and merge ranks, so ids equal the reference tokenizer's.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vlprompt::text {

class ClipTokenizer {
 public:
  static constexpr int64_t kStartOfText = 49406;
  static constexpr int64_t kEndOfText = 49407;

  // bpe_simple_vocab_16e6.txt.gz (OpenAI), or a folder / vocab.json path with merges.txt beside
  // it (Hugging Face). Errors name the file and line.
  static ClipTokenizer from_file(const std::string& path);

  // Raw ids: no start/end tokens, no padding (OpenAI's encode()).
  std::vector<int64_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int64_t>& ids) const;

  // [N, context_length] int64: SOT, ids, EOT, zero padding. A text longer than the context is an
  // Error naming it, unless `truncate` (then the last kept token is EOT, as OpenAI does).
  at::Tensor tokenize(const std::vector<std::string>& texts, int64_t context_length = 77,
                      bool truncate = false) const;

  int64_t vocab_size() const;
  // The vocabulary entry for an id ("cat</w>"), for showing the words nearest a learned vector.
  const std::string& token(int64_t id) const;

  // Writes `folder`/vocab.json + merges.txt, the Hugging Face layout of this vocabulary.
  void save_hugging_face(const std::string& folder) const;

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

 private:
  struct State;
  explicit ClipTokenizer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The copy of OpenAI's vocabulary shipped in models/vocab/ (its path in the source tree).
std::string bundled_vocab();

// Where the vocabulary is when --vocab is not given: beside the model file (or inside an HF
// folder), then $VLPROMPT_HOME/bpe_simple_vocab_16e6.txt.gz, then `bundled`. Error listing the
// places looked in.
std::string find_vocab(const std::string& explicit_path, const std::string& model_path,
                       const std::string& bundled = bundled_vocab());

}  // namespace vlprompt::text
