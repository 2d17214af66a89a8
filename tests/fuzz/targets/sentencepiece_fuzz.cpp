// The sentencepiece wrapper (LLaMA-family tokenizer.model through the vlprompt_spm module): text
// encoding and id decoding with a small byte-fallback BPE model, and, when the first byte is 0,
// the rest loaded as a model file.
#include "src/text/sentencepiece_tokenizer.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
using vlprompt::text::SentencePieceTokenizer;

VLPROMPT_FUZZ_TARGET(sentencepiece) {
  if (size > 0 && data[0] == 0) {
    const std::string path = fz::write_input(data + 1, size - 1, "tokenizer.model");
    const SentencePieceTokenizer model = SentencePieceTokenizer::from_file(path);
    model.decode(model.encode("hello world"));
    return;
  }
  static const SentencePieceTokenizer tok =
      SentencePieceTokenizer::from_file(VLPROMPT_FUZZ_DATA_DIR "/spm/tokenizer.model");
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<int64_t> ids = tok.encode(text);
  for (int64_t id : ids) {
    if (id < 0 || id >= tok.vocab_size()) fz::fail("encode gave id " + std::to_string(id));
    tok.piece(id);
  }
  tok.decode(ids);
  std::vector<int64_t> raw;
  for (size_t i = 0; i + 1 < size && raw.size() < 64; i += 2) {
    raw.push_back(((data[i] << 8) | data[i + 1]) - 1000);
  }
  tok.decode(raw);
  for (int64_t id : raw) {
    tok.piece(id);
  }
}
