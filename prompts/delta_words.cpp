#include "prompts/delta_words.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::prompts {
namespace {

// decode() turns the end-of-word marker into a trailing space; a single word needs neither.
std::string word_of(const text::ClipTokenizer& tokenizer, int64_t id) {
  std::string w = tokenizer.decode({id});
  const size_t end = w.find_last_not_of(' ');
  return end == std::string::npos ? w : w.substr(0, end + 1);
}

}  // namespace

bool is_text_context(const std::string& name, const at::Tensor& tensor, int64_t embed_width) {
  const std::string suffix = ".ctx";
  const bool named =
      name == "ctx" || (name.size() > suffix.size() &&
                        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
  return named && (tensor.dim() == 2 || tensor.dim() == 3) && tensor.size(-1) == embed_width;
}

std::vector<std::vector<WordMatch>> nearest_tokens(const at::Tensor& vectors,
                                                   const at::Tensor& embeddings, int64_t k) {
  if (vectors.dim() != 2 || embeddings.dim() != 2 || vectors.size(1) != embeddings.size(1)) {
    throw Error("nearest words: context vectors " + std::string(c10::str(vectors.sizes())) +
                " and token embeddings " + c10::str(embeddings.sizes()) +
                " must be [N, D] and [V, D] with the same D");
  }
  const int64_t top = std::clamp<int64_t>(k, 1, embeddings.size(0));
  // fp64 so exact matches read as distance 0 rather than cdist's fp32 rounding noise.
  const at::Tensor d =
      at::cdist(vectors.to(at::kDouble).unsqueeze(0), embeddings.to(at::kDouble).unsqueeze(0))
          .squeeze(0);
  const auto [values, indices] = d.topk(top, /*dim=*/1, /*largest=*/false, /*sorted=*/true);
  const auto dist = values.accessor<double, 2>();
  const auto ids = indices.accessor<int64_t, 2>();
  std::vector<std::vector<WordMatch>> out(static_cast<size_t>(vectors.size(0)));
  for (int64_t i = 0; i < vectors.size(0); ++i) {
    for (int64_t j = 0; j < top; ++j) out[i].push_back({ids[i][j], "", "", dist[i][j]});
  }
  return out;
}

std::vector<std::vector<WordMatch>> nearest_words(const at::Tensor& vectors,
                                                  const at::Tensor& embeddings,
                                                  const text::ClipTokenizer& tokenizer, int64_t k) {
  if (embeddings.size(0) > tokenizer.vocab_size()) {
    throw Error("nearest words: the model has " + std::to_string(embeddings.size(0)) +
                " token embeddings but the tokenizer only " +
                std::to_string(tokenizer.vocab_size()) + " entries; pass the model's --vocab");
  }
  std::vector<std::vector<WordMatch>> out = nearest_tokens(vectors, embeddings, k);
  for (auto& row : out) {
    for (WordMatch& m : row) {
      m.token = tokenizer.token(m.id);
      m.word = word_of(tokenizer, m.id);
    }
  }
  return out;
}

}  // namespace vlprompt::prompts
