#include "src/text/bpe_vocab.h"

#include <zlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/text/byte_unicode.h"
#include "src/text/utf8.h"

namespace vlprompt::text {
namespace {

// OpenAI keeps lines 1 .. 49152-256-2 of the file: a 49,408-token vocabulary.
constexpr size_t kOpenAiMerges = 49152 - 256 - 2;

std::string gunzip(const std::string& compressed, const std::string& path) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw FileError(path, "zlib initialisation failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buffer[1 << 16];
  int status = Z_OK;
  while (status == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    status = inflate(&zs, Z_NO_FLUSH);
    if (status == Z_OK || status == Z_STREAM_END) out.append(buffer, sizeof(buffer) - zs.avail_out);
    if (status == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended inside the stream
  }
  const std::string why = zs.msg ? zs.msg : "the compressed data ends early";
  inflateEnd(&zs);
  if (status != Z_STREAM_END) throw FileError(path, "corrupt gzip data (" + why + ")");
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return lines;
    start = end + 1;
  }
}

// "a b" -> {"a", "b"}; anything else (one part, three parts) is a corrupt line.
bool split_merge(const std::string& line, std::string& first, std::string& second) {
  const size_t space = line.find(' ');
  if (space == 0 || space == std::string::npos || space + 1 >= line.size()) return false;
  if (line.find_first_of(" \t\r", space + 1) != std::string::npos) return false;
  first = line.substr(0, space);
  second = line.substr(space + 1);
  return true;
}

std::string line_label(size_t line_number) { return "line " + std::to_string(line_number); }

// Every token must spell bytes (decode() relies on it), and encode() needs each byte on its own,
// with and without the word end, plus the two special tokens.
void check_complete(const BpeVocab& vocab, const std::string& path) {
  for (const std::string& token : vocab.tokens) {
    for (char32_t c : utf8::decode_strict(token, "token '" + token + "'")) {
      if (byte_of_character(c) < 0) {
        throw FileError(path, "token '" + token +
                                  "' has a character outside the byte alphabet of byte-level BPE");
      }
    }
  }
  std::vector<std::string> required = {kStartOfTextToken, kEndOfTextToken};
  for (const ByteCharacter& bc : byte_characters()) {
    std::string c;
    utf8::append(c, bc.character);
    required.push_back(c);
    required.push_back(c + kWordEnd);
  }
  for (const std::string& token : required) {
    if (!vocab.ids.count(token)) {
      throw FileError(path, "vocabulary lacks the required token '" + token + "'");
    }
  }
}

int32_t id_of(const BpeVocab& vocab, const std::string& token, const std::string& path,
              size_t line_number) {
  const auto it = vocab.ids.find(token);
  if (it == vocab.ids.end()) {
    throw FileError(path, line_label(line_number) + ": merge uses '" + token +
                              "', which is not in the vocabulary");
  }
  return it->second;
}

}  // namespace

BpeVocab read_openai_vocab(const std::string& path) {
  std::string bytes = core::read_file(path);
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1F &&
      static_cast<unsigned char>(bytes[1]) == 0x8B) {
    bytes = gunzip(bytes, path);
  }
  utf8::decode_strict(bytes, path);
  const std::vector<std::string> lines = split_lines(bytes);
  if (lines.size() < kOpenAiMerges + 1) {
    throw FileError(path, "has " + std::to_string(lines.size()) + " lines; expected a header and " +
                              std::to_string(kOpenAiMerges) +
                              " merges (is this bpe_simple_vocab_16e6.txt.gz?)");
  }
  std::vector<std::pair<std::string, std::string>> pairs(kOpenAiMerges);
  for (size_t i = 0; i < kOpenAiMerges; ++i) {
    if (!split_merge(lines[i + 1], pairs[i].first, pairs[i].second)) {
      throw FileError(path,
                      line_label(i + 2) + ": expected a merge 'a b', got '" + lines[i + 1] + "'");
    }
  }
  BpeVocab vocab;
  for (const ByteCharacter& bc : byte_characters()) {
    vocab.tokens.emplace_back();
    utf8::append(vocab.tokens.back(), bc.character);
  }
  for (size_t i = 0; i < 256; ++i) vocab.tokens.push_back(vocab.tokens[i] + kWordEnd);
  for (const auto& [a, b] : pairs) vocab.tokens.push_back(a + b);
  vocab.tokens.push_back(kStartOfTextToken);
  vocab.tokens.push_back(kEndOfTextToken);
  // Like Python's dict(zip(vocab, ids)): a repeated token keeps its last id.
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    vocab.ids[vocab.tokens[id]] = static_cast<int32_t>(id);
  }
  check_complete(vocab, path);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [a, b] = pairs[i];
    vocab.merges.push_back(
        {id_of(vocab, a, path, i + 2), id_of(vocab, b, path, i + 2), vocab.ids.at(a + b)});
  }
  return vocab;
}

BpeVocab read_hugging_face_vocab(const std::string& vocab_json, const std::string& merges_txt) {
  const std::string vocab_text = core::read_file(vocab_json);
  const std::string merges_text = core::read_file(merges_txt);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(vocab_text);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(vocab_json, std::string("not valid JSON: ") + e.what());
  }
  if (!json.is_object() || json.empty()) {
    throw FileError(vocab_json, "expected a JSON object {\"token\": id, ...}");
  }
  BpeVocab vocab;
  vocab.tokens.resize(json.size());
  std::vector<bool> seen(json.size(), false);
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= static_cast<int64_t>(json.size()) || seen[id.get<size_t>()]) {
      throw FileError(vocab_json, "token '" + token + "' has id " + id.dump() +
                                      "; expected unique integer ids 0.." +
                                      std::to_string(json.size() - 1));
    }
    seen[id.get<size_t>()] = true;
    vocab.tokens[id.get<size_t>()] = token;
    vocab.ids[token] = id.get<int32_t>();
  }
  check_complete(vocab, vocab_json);

  const std::vector<std::string> lines = split_lines(merges_text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (i == 0 && line.rfind("#version", 0) == 0)) continue;
    std::string a, b;
    if (!split_merge(line, a, b)) {
      throw FileError(merges_txt,
                      line_label(i + 1) + ": expected a merge 'a b', got '" + line + "'");
    }
    vocab.merges.push_back({id_of(vocab, a, merges_txt, i + 1), id_of(vocab, b, merges_txt, i + 1),
                            id_of(vocab, a + b, merges_txt, i + 1)});
  }
  if (vocab.merges.empty()) throw FileError(merges_txt, "holds no merges");
  return vocab;
}

void write_hugging_face_vocab(const BpeVocab& vocab, const std::string& folder) {
  // Written by hand in id order: nlohmann::ordered_json inserts in linear time per key.
  std::string json = "{";
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    json += (id ? ",\n  " : "\n  ") + nlohmann::json(vocab.tokens[id]).dump() + ": " +
            std::to_string(id);
  }
  json += "\n}\n";
  std::string merges = "#version: 0.2\n";
  for (const BpeVocab::Merge& m : vocab.merges) {
    merges += vocab.tokens[m.first] + " " + vocab.tokens[m.second] + "\n";
  }
  const std::filesystem::path dir(folder);
  core::atomic_write((dir / "vocab.json").string(), json);
  core::atomic_write((dir / "merges.txt").string(), merges);
}

}  // namespace vlprompt::text
