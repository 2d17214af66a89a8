#include "src/text/clip_tokenizer.h"

#include <algorithm>
#include <array>
#include <climits>
#include <filesystem>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "src/core/error.h"
#include "src/text/bpe_vocab.h"
#include "src/text/byte_unicode.h"
#include "src/text/text_clean.h"
#include "src/text/utf8.h"

namespace vlprompt::text {
namespace fs = std::filesystem;

namespace {

// A distinct word's BPE is cached (as the reference does); past this many entries the cache is
// dropped so that a long stream of unique words cannot grow memory without bound.
constexpr size_t kMaxCachedWords = 1 << 17;

uint64_t pair_key(int32_t first, int32_t second) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(first)) << 32) |
         static_cast<uint32_t>(second);
}

size_t checked_index(int64_t id, size_t vocab_size) {
  if (id < 0 || static_cast<uint64_t>(id) >= vocab_size) {
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary (ids 0.." +
                std::to_string(vocab_size - 1) + ")");
  }
  return static_cast<size_t>(id);
}

std::string shorten(const std::string& text) {
  constexpr size_t kShown = 80;
  return text.size() <= kShown ? text : text.substr(0, kShown) + "...";
}

// One word during OpenAI's bpe() (see ClipTokenizer::State::bpe): its symbols as a linked list
// (prev -1 / next n: no neighbour) and the candidate merges in a heap ordered by (rank, left).
class BpeWord {
 public:
  BpeWord(std::vector<int32_t> symbols, const std::unordered_map<uint64_t, int32_t>& rank_of_pair)
      : symbol_(std::move(symbols)),
        n_(static_cast<int32_t>(symbol_.size())),
        prev_(n_),
        next_(n_),
        alive_(n_, 1),
        rank_of_pair_(rank_of_pair) {
    for (int32_t i = 0; i < n_; ++i) {
      prev_[i] = i - 1;
      next_[i] = i + 1;
    }
    heap_.reserve(n_);
    for (int32_t i = 0; i + 1 < n_; ++i) consider(i, heap_);
    std::make_heap(heap_.begin(), heap_.end(), later_);
  }

  // Merges until no adjacent pair has a rank; the symbols left, in order.
  std::vector<int32_t> merge(const std::vector<BpeVocab::Merge>& merges) {
    while (!heap_.empty()) {
      const uint64_t rank_bits = heap_.front() >> 32;
      merge_round(rank_bits, merges[rank_bits]);
    }
    std::vector<int32_t> out;
    for (int32_t i = 0; i < n_; i = next_[i]) out.push_back(symbol_[i]);
    return out;
  }

 private:
  // A candidate is (rank << 32 | left) in one integer: a rank names a single pair, so a stale
  // candidate (one of its symbols merged since) is recognised against vocab.merges[rank], and
  // the heap moves 8-byte keys (a 1 MB word spent most of its time in heap sifts).
  static uint64_t candidate(int32_t rank, int32_t left) {
    return (static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(left);
  }

  void consider(int32_t left, std::vector<uint64_t>& into) const {
    if (left < 0 || next_[left] >= n_) return;
    const auto it = rank_of_pair_.find(pair_key(symbol_[left], symbol_[next_[left]]));
    if (it != rank_of_pair_.end()) into.push_back(candidate(it->second, left));
  }

  // One round of bpe() (see there): every occurrence of `rule`, left to right.
  void merge_round(uint64_t rank_bits, const BpeVocab::Merge& rule) {
    created_.clear();
    while (!heap_.empty() && (heap_.front() >> 32) == rank_bits) {
      const auto left = static_cast<int32_t>(heap_.front() & 0xffffffffu);
      std::pop_heap(heap_.begin(), heap_.end(), later_);
      heap_.pop_back();
      const int32_t right = next_[left];
      if (!alive_[left] || right >= n_ || symbol_[left] != rule.first ||
          symbol_[right] != rule.second) {
        continue;  // stale: one of its symbols was merged into another since
      }
      symbol_[left] = rule.merged;
      alive_[right] = 0;
      next_[left] = next_[right];
      if (next_[left] < n_) prev_[next_[left]] = left;
      consider(prev_[left], created_);
      consider(left, created_);
    }
    for (const uint64_t c : created_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), later_);
    }
  }

  std::vector<int32_t> symbol_;
  const int32_t n_;
  std::vector<int32_t> prev_, next_;
  std::vector<char> alive_;
  const std::unordered_map<uint64_t, int32_t>& rank_of_pair_;
  std::vector<uint64_t> heap_, created_;
  std::greater<uint64_t> later_;
};

}  // namespace

struct ClipTokenizer::State {
  BpeVocab vocab;
  std::vector<std::string> token_bytes;                // id -> the bytes the token spells
  std::unordered_map<uint64_t, int32_t> rank_of_pair;  // pair_key(first, second) -> merge rank
  std::array<int32_t, 256> byte_token{};               // byte -> id of its character
  std::array<int32_t, 256> byte_end_token{};           // byte -> id of its character + "</w>"
  int32_t start_of_text = 0;
  int32_t end_of_text = 0;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  explicit State(BpeVocab v) : vocab(std::move(v)) {
    for (const std::string& token : vocab.tokens) {
      std::string bytes;
      for (char32_t c : utf8::decode_strict(token, "token")) {
        bytes.push_back(static_cast<char>(byte_of_character(c)));
      }
      token_bytes.push_back(std::move(bytes));
    }
    // Like Python's dict(zip(merges, ranks)): a repeated pair keeps its last rank.
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
      const BpeVocab::Merge& m = vocab.merges[rank];
      rank_of_pair[pair_key(m.first, m.second)] = static_cast<int32_t>(rank);
    }
    for (const ByteCharacter& bc : byte_characters()) {
      std::string c;
      utf8::append(c, bc.character);
      byte_token[bc.byte] = vocab.ids.at(c);
      byte_end_token[bc.byte] = vocab.ids.at(c + kWordEnd);
    }
    start_of_text = vocab.ids.at(kStartOfTextToken);
    end_of_text = vocab.ids.at(kEndOfTextToken);
  }

  // OpenAI's bpe(): repeatedly merge the lowest-ranked adjacent pair, every occurrence left to
  // right, until no adjacent pair has a rank. Rescanning the word for every merge (as the
  // reference does) is quadratic: a crafted 1 MB word would take minutes. Here the symbols form a
  // linked list and the candidate pairs a heap ordered by (rank, position), so each merge costs
  // O(log n). One round takes every occurrence of the current lowest rank, left to right; pairs
  // that the round creates enter the heap only after it, as the reference's next rescan would
  // see them.
  std::vector<int32_t> bpe(const std::string& word) const {
    if (word == kStartOfTextToken) return {start_of_text};
    if (word == kEndOfTextToken) return {end_of_text};
    if (word.size() >= static_cast<size_t>(INT32_MAX)) {
      throw Error("a single word of " + std::to_string(word.size()) +
                  " bytes is too long to tokenize");
    }
    std::vector<int32_t> symbols(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
      const auto byte = static_cast<unsigned char>(word[i]);
      symbols[i] = i + 1 < word.size() ? byte_token[byte] : byte_end_token[byte];
    }
    return BpeWord(std::move(symbols), rank_of_pair).merge(vocab.merges);
  }

  void append_word(const std::string& word, std::vector<int64_t>& ids) const {
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      const auto it = cache.find(word);
      if (it != cache.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> pieces = bpe(word);
    ids.insert(ids.end(), pieces.begin(), pieces.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kMaxCachedWords) cache.clear();
    cache.emplace(word, std::move(pieces));
  }
};

ClipTokenizer::ClipTokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::from_file(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p)) {
    throw FileError(path,
                    "tokenizer vocabulary not found (expected bpe_simple_vocab_16e6.txt.gz, "
                    "or a Hugging Face vocab.json with merges.txt beside it, or their folder)");
  }
  std::string source = path;
  BpeVocab vocab;
  if (fs::is_directory(p) && !fs::exists(p / "vocab.json") &&
      fs::exists(p / "bpe_simple_vocab_16e6.txt.gz")) {
    source = (p / "bpe_simple_vocab_16e6.txt.gz").string();
    vocab = read_openai_vocab(source);
  } else if (fs::is_directory(p) || p.extension() == ".json") {
    const fs::path folder = fs::is_directory(p) ? p : p.parent_path();
    source = fs::is_directory(p) ? (folder / "vocab.json").string() : path;
    vocab = read_hugging_face_vocab(source, (folder / "merges.txt").string());
  } else {
    vocab = read_openai_vocab(path);
  }
  // The public constants (and every CLIP text tower's end-of-text argmax) assume these ids.
  const std::pair<const char*, int64_t> specials[] = {{kStartOfTextToken, kStartOfText},
                                                      {kEndOfTextToken, kEndOfText}};
  for (const auto& [token, expected] : specials) {
    if (vocab.ids.at(token) != expected) {
      throw FileError(source, std::string(token) + " has id " +
                                  std::to_string(vocab.ids.at(token)) + "; CLIP's vocabulary has " +
                                  std::to_string(expected));
    }
  }
  return ClipTokenizer(std::make_unique<State>(std::move(vocab)));
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  const std::u32string cleaned =
      clean_text(utf8::decode_strict(text, "text '" + shorten(text) + "'"));
  std::vector<int64_t> ids;
  for (const std::string& word : split_words(cleaned)) state_->append_word(word, ids);
  return ids;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string bytes;
  for (int64_t id : ids)
    bytes += state_->token_bytes[checked_index(id, state_->token_bytes.size())];
  std::string text = utf8::replace_invalid(bytes);
  const std::string word_end = kWordEnd;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, word_end.size(), word_end) == 0) {
      out.push_back(' '), i += word_end.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

at::Tensor ClipTokenizer::tokenize(const std::vector<std::string>& texts, int64_t context_length,
                                   bool truncate) const {
  if (context_length < 2) {
    throw Error("context length " + std::to_string(context_length) +
                " cannot hold the start and end tokens; expected at least 2");
  }
  at::Tensor result = at::zeros({static_cast<int64_t>(texts.size()), context_length}, at::kLong);
  auto rows = result.accessor<int64_t, 2>();
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int64_t> ids = {state_->start_of_text};
    const std::vector<int64_t> body = encode(texts[i]);
    ids.insert(ids.end(), body.begin(), body.end());
    ids.push_back(state_->end_of_text);
    if (static_cast<int64_t>(ids.size()) > context_length) {
      if (!truncate) {
        throw Error("text '" + shorten(texts[i]) + "' is too long: " + std::to_string(ids.size()) +
                    " tokens with start and end, context length " + std::to_string(context_length) +
                    " (shorten it, or truncate)");
      }
      ids.resize(static_cast<size_t>(context_length));
      ids.back() = state_->end_of_text;
    }
    for (size_t k = 0; k < ids.size(); ++k) rows[static_cast<int64_t>(i)][k] = ids[k];
  }
  return result;
}

int64_t ClipTokenizer::vocab_size() const {
  return static_cast<int64_t>(state_->vocab.tokens.size());
}

const std::string& ClipTokenizer::token(int64_t id) const {
  return state_->vocab.tokens[checked_index(id, state_->vocab.tokens.size())];
}

void ClipTokenizer::save_hugging_face(const std::string& folder) const {
  write_hugging_face_vocab(state_->vocab, folder);
}

}  // namespace vlprompt::text
