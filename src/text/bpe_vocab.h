// The data behind a byte-level BPE tokenizer, read from OpenAI's merges file or from Hugging
// Face's vocab.json + merges.txt, and written back in the Hugging Face layout.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace vlprompt::text {

struct BpeVocab {
  struct Merge {
    int32_t first, second, merged;  // token ids
  };
  std::vector<std::string> tokens;  // id -> token in byte characters, UTF-8 ("cat</w>")
  std::unordered_map<std::string, int32_t> ids;  // token -> id
  std::vector<Merge> merges;                     // index = merge rank
};

inline constexpr const char* kStartOfTextToken = "<|startoftext|>";
inline constexpr const char* kEndOfTextToken = "<|endoftext|>";
inline constexpr const char* kWordEnd = "</w>";

// bpe_simple_vocab_16e6.txt.gz (or the same file uncompressed): a header line, then merges "a b".
// The vocabulary is built as OpenAI's SimpleTokenizer builds it: the 256 byte characters, the same
// with "</w>", one token per merge (48,894 merges), <|startoftext|>, <|endoftext|>.
BpeVocab read_openai_vocab(const std::string& path);

// vocab.json ({"token": id}, ids 0..N-1) and merges.txt ("#version" header, then "a b" lines).
BpeVocab read_hugging_face_vocab(const std::string& vocab_json, const std::string& merges_txt);

// Writes `folder`/vocab.json and `folder`/merges.txt (atomically).
void write_hugging_face_vocab(const BpeVocab& vocab, const std::string& folder);

}  // namespace vlprompt::text
