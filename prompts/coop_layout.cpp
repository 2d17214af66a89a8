#include "prompts/coop_layout.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "src/core/error.h"
#include "src/core/strings.h"

namespace vlprompt::prompts {
namespace {
using core::spaces_for_underscores;

using text::ClipTokenizer;

// How many context vectors come before the class tokens: every layout is
// [SOS][ctx 0..h-1][class][ctx h..n-1][. EOS], with h = n (end), n / 2 (middle) or 0 (front).
int64_t context_before_class(const std::string& position, int64_t n_ctx) {
  if (position == "end") return n_ctx;
  if (position == "middle") return n_ctx / 2;
  return 0;
}

}  // namespace

const std::vector<std::string>& class_token_positions() {
  static const std::vector<std::string> positions{"end", "middle", "front"};
  return positions;
}

void check_text_tokens(const std::string& key, int64_t n, int64_t context_length) {
  if (n > context_length - 3) {
    throw Error(key + " is " + std::to_string(n) + "; expected at most " +
                std::to_string(context_length - 3) + " (the text context length " +
                std::to_string(context_length) +
                " also holds the start and end tokens and at least one class token)");
  }
}

void check_visual_tokens(const std::string& key, int64_t n) {
  if (n > kMaxVisualPromptTokens) {
    throw Error(key + " is " + std::to_string(n) + "; expected at most " +
                std::to_string(kMaxVisualPromptTokens) + " visual prompt tokens");
  }
}

void check_class_token_position(const std::string& position) {
  if (position != "end" && position != "middle" && position != "front") {
    throw Error("coop: class_token_position is '" + position +
                "', expected one of: end, middle, front");
  }
}

ContextStart context_start(const std::string& method, const std::string& ctx_init, int64_t n_ctx,
                           double init_std, uint64_t seed, int64_t copies, models::Clip& clip,
                           const ClipTokenizer& tokenizer) {
  if (!(init_std > 0)) {
    throw Error(method + ": init_std is " + c10::str(init_std) + ", expected > 0");
  }
  const at::Device device = models::weights_device(clip);
  ContextStart out;
  at::NoGradGuard no_grad;
  if (!ctx_init.empty()) {
    out.prefix_text = spaces_for_underscores(ctx_init);
    const std::vector<int64_t> ids = tokenizer.encode(out.prefix_text);
    if (ids.empty()) throw Error(method + ": ctx_init '" + out.prefix_text + "' has no tokens");
    check_text_tokens(method + ".ctx_init ('" + out.prefix_text + "') token count",
                      static_cast<int64_t>(ids.size()), clip->config().text.context_length);
    out.n_ctx = static_cast<int64_t>(ids.size());
    // The words' own embeddings. (With one set per class each starts from them; the reference
    // code silently drops class-specific context when ctx_init is set.)
    out.vectors = clip->embed_tokens(at::tensor(ids, at::kLong).view({1, out.n_ctx}).to(device))[0]
                      .to(at::kFloat)
                      .clone();
    if (copies > 0) out.vectors = out.vectors.unsqueeze(0).repeat({copies, 1, 1});
    return out;
  }
  if (n_ctx <= 0) {
    throw Error(method + ": n_ctx is " + std::to_string(n_ctx) + ", expected >= 1");
  }
  check_text_tokens(method + ".n_ctx", n_ctx, clip->config().text.context_length);
  // The reference's placeholder words; their ids sit under the context and are overwritten.
  out.prefix_text = "X";
  for (int64_t i = 1; i < n_ctx; ++i) out.prefix_text += " X";
  out.n_ctx = n_ctx;
  const int64_t width = clip->config().text.width;
  const std::vector<int64_t> shape =
      copies > 0 ? std::vector<int64_t>{copies, n_ctx, width} : std::vector<int64_t>{n_ctx, width};
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  out.vectors = at::empty(shape, at::kFloat).normal_(0.0, init_std, generator).to(device);
  return out;
}

at::Tensor write_context(const at::Tensor& tokens, const at::Tensor& values,
                         const at::Tensor& cols) {
  const int64_t batch = tokens.size(0), n_ctx = cols.size(1);
  c10::List<c10::optional<at::Tensor>> index;
  index.push_back(at::arange(batch, cols.options()).repeat_interleave(n_ctx));
  index.push_back(cols.reshape({-1}));
  return at::index_put(tokens, index, values.to(tokens.scalar_type()));
}

int64_t shared_context_columns(const at::Tensor& cols, bool class_specific) {
  const at::Tensor c = cols.to(at::kCPU, at::kLong).contiguous();
  const int64_t rows = c.size(0), n = c.size(1);
  if (rows == 0 || n == 0) return nn::SharedPrefix::kUnlimited;
  const int64_t width = c.max().item<int64_t>() + 1;
  // What stands at each column of each row: a vector's number, or -1 where the id decides.
  std::vector<int64_t> what(rows * width, -1);
  const int64_t* col = c.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < n; ++k)
      what[r * width + col[r * n + k]] = class_specific ? r * n + k : k;
  }
  for (int64_t j = 0; j < width; ++j) {
    for (int64_t r = 1; r < rows; ++r) {
      if (what[r * width + j] != what[j]) return j;
    }
  }
  return nn::SharedPrefix::kUnlimited;
}

namespace {

// "<prefix> <name>." for each class, each checked to fit the context. The reference tokenizes
// these and takes the class as the first len(encode(name)) tokens after the prefix; doing the
// same keeps names ending in punctuation identical.
std::vector<std::string> class_prompts(const ClipTokenizer& tokenizer,
                                       const std::string& prefix_text,
                                       const std::vector<std::string>& names, int64_t n_ctx,
                                       int64_t context_length) {
  std::vector<std::string> prompts;
  for (const auto& name : names) prompts.push_back(prefix_text + " " + name + ".");
  for (size_t c = 0; c < prompts.size(); ++c) {
    // Said here, with the key to change, rather than as the tokenizer's "text too long".
    const size_t length = tokenizer.encode(prompts[c]).size() + 2;
    if (static_cast<int64_t>(length) > context_length) {
      throw Error("coop: the prompt for class '" + names[c] + "' is " + std::to_string(length) +
                  " tokens with n_ctx = " + std::to_string(n_ctx) +
                  " context tokens, longer than the context length " +
                  std::to_string(context_length) + " (lower n_ctx or shorten the class name)");
    }
  }
  return prompts;
}

}  // namespace

CoOpLayout coop_layout(const ClipTokenizer& tokenizer, const std::string& prefix_text,
                       int64_t n_ctx, const std::vector<std::string>& classnames,
                       const std::string& position, int64_t context_length) {
  check_class_token_position(position);
  if (classnames.empty()) throw Error("coop: the class list is empty");
  const std::vector<int64_t> prefix_ids = tokenizer.encode(prefix_text);
  if (static_cast<int64_t>(prefix_ids.size()) != n_ctx) {
    throw Error("coop: context text '" + prefix_text + "' is " + std::to_string(prefix_ids.size()) +
                " tokens, expected n_ctx = " + std::to_string(n_ctx));
  }
  std::vector<std::string> names;
  for (const auto& raw : classnames) names.push_back(spaces_for_underscores(raw));
  const std::vector<std::string> prompts =
      class_prompts(tokenizer, prefix_text, names, n_ctx, context_length);
  const at::Tensor end_ids = tokenizer.tokenize(prompts, context_length, /*truncate=*/false);
  const int64_t num_classes = end_ids.size(0);
  const int64_t length = end_ids.size(1);
  at::Tensor ids = at::zeros_like(end_ids);
  auto src = end_ids.accessor<int64_t, 2>();
  auto dst = ids.accessor<int64_t, 2>();
  std::vector<int64_t> rows, cols;
  rows.reserve(num_classes * n_ctx);
  cols.reserve(num_classes * n_ctx);
  const int64_t before = context_before_class(position, n_ctx);
  const int64_t tail_begin = 1 + n_ctx;
  for (int64_t c = 0; c < num_classes; ++c) {
    int64_t eos = 0;
    while (eos < length && src[c][eos] != ClipTokenizer::kEndOfText) ++eos;
    bool prefix_intact = eos < length && eos >= tail_begin;
    for (int64_t j = 0; prefix_intact && j < n_ctx; ++j) {
      prefix_intact = src[c][1 + j] == prefix_ids[j];
    }
    if (!prefix_intact) {
      throw Error("coop: prompt '" + prompts[c] + "' does not start with the " +
                  std::to_string(n_ctx) + " tokens of '" + prefix_text + "'");
    }
    const int64_t name_len = std::min<int64_t>(tokenizer.encode(names[c]).size(), eos - tail_begin);
    int64_t p = 0;
    dst[c][p++] = ClipTokenizer::kStartOfText;
    auto place_context = [&](int64_t j) {
      dst[c][p] = src[c][1 + j];
      rows.push_back(c);
      cols.push_back(p++);
    };
    for (int64_t j = 0; j < before; ++j) place_context(j);
    for (int64_t k = 0; k < name_len; ++k) dst[c][p++] = src[c][tail_begin + k];
    for (int64_t j = before; j < n_ctx; ++j) place_context(j);
    for (int64_t q = tail_begin + name_len; q <= eos; ++q) dst[c][p++] = src[c][q];
  }
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  return {ids, at::tensor(rows, long_opts), at::tensor(cols, long_opts)};
}

}  // namespace vlprompt::prompts
