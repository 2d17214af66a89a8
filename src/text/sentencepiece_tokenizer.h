// A sentencepiece model (tokenizer.model, as LLaMA-family Hugging Face folders ship it), run by
// the vlprompt_spm module that this class dlopen()s: Debian's libsentencepiece must never be
// linked into a process with LibTorch (see src/text/sentencepiece/spm_c_api.h). This class knows
// no model family; BOS/EOS policy belongs to its users (models/llama/llama_tokenizer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vlprompt::text {

class SentencePieceTokenizer {
 public:
  // Throws FileError naming `model_path` when it is missing or not a sentencepiece model, and
  // Error naming every place looked when the vlprompt_spm module cannot be found.
  static SentencePieceTokenizer from_file(const std::string& model_path);

  // Ids of `text` without BOS/EOS. With byte fallback in the model, characters outside the
  // vocabulary become <0xNN> byte pieces instead of the unknown id.
  std::vector<int64_t> encode(const std::string& text) const;
  // Text of `ids` (control pieces such as BOS/EOS decode to nothing; byte pieces are joined back
  // into UTF-8). Error naming the id when one is outside [0, vocab_size()).
  std::string decode(const std::vector<int64_t>& ids) const;

  std::string piece(int64_t id) const;               // Error when outside [0, vocab_size())
  int64_t piece_id(const std::string& piece) const;  // unk_id() when not in the vocabulary
  int64_t vocab_size() const;
  bool is_control(int64_t id) const;  // BOS, EOS, PAD and other control pieces
  bool is_byte(int64_t id) const;     // <0xNN> byte-fallback pieces
  bool is_unknown(int64_t id) const;

  // Ids the model defines; -1 when the model disables one (LLaMA's has no pad).
  int64_t bos_id() const;
  int64_t eos_id() const;
  int64_t unk_id() const;
  int64_t pad_id() const;

  const std::string& path() const;

 private:
  struct State;
  explicit SentencePieceTokenizer(std::shared_ptr<const State> state);
  void check_id(int64_t id) const;
  std::shared_ptr<const State> state_;  // shared: the tokenizer is cheap to copy, immutable
};

// False when built with -DVLPROMPT_WITH_SENTENCEPIECE=OFF (no module; from_file is an Error).
bool sentencepiece_built();

// The vlprompt_spm module's path: $VLPROMPT_SPM_MODULE if set, else beside the running
// executable (its folder, ../lib, ../lib/vlprompt), else where the build put it. Error naming
// every place looked when none exists.
std::string find_spm_module();

}  // namespace vlprompt::text
