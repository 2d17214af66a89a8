// CLIP's byte-level BPE tokenizer on arbitrary bytes (invalid UTF-8, huge words, HTML entities),
// and decode() on arbitrary ids.
#include <ATen/ATen.h>

#include "src/text/clip_tokenizer.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
using vlprompt::text::ClipTokenizer;

VLPROMPT_FUZZ_TARGET(clip_tokenizer) {
  static const ClipTokenizer tokenizer = ClipTokenizer::from_file(vlprompt::text::bundled_vocab());
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<int64_t> ids = tokenizer.encode(text);
  for (int64_t id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) fz::fail("encode gave id " + std::to_string(id));
  }
  const at::Tensor truncated = tokenizer.tokenize({text}, 77, /*truncate=*/true);
  if (truncated.size(1) != 77) fz::fail("tokenize did not keep 77 positions");
  if (ids.size() + 2 <= 77) {
    const at::Tensor full = tokenizer.tokenize({text}, 77, false);
    if (!at::equal(full, truncated)) fz::fail("truncation changed a text that fits");
  }
  tokenizer.decode(ids);
  // Arbitrary ids: in range they decode, out of range they are an Error naming the id.
  std::vector<int64_t> raw;
  for (size_t i = 0; i + 1 < size && raw.size() < 64; i += 2) {
    raw.push_back(((data[i] << 8) | data[i + 1]) - 8000);
  }
  tokenizer.decode(raw);
}
