// `vlprompt tokenize`: CLIP token ids for texts given on the command line or in a JSONL file, one
// JSON object per line, so prompts can be checked against other tokenizers with plain diff. With
// --model DIR (a Hugging Face LLaMA folder with tokenizer.model), the text LM's sentencepiece ids.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/llama/llama_tokenizer.h"
#include "pipeline/jsonl_texts.h"
#include "pipeline/lm_bundle.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/text/clip_tokenizer.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

struct TokenizeArgs {
  std::string vocab;
  std::string model;  // a LLaMA folder: sentencepiece instead of CLIP
  bool pieces = false;
  CLI::Option* context_option = nullptr;  // to refuse CLIP-only options with --model
  std::string jsonl;
  std::vector<std::string> texts;
  bool raw = false;
  bool truncate = false;
  int64_t context_length = 77;
};

void print_line(const std::string& text, const std::vector<int64_t>& ids,
                const std::vector<std::string>* pieces = nullptr) {
  nlohmann::ordered_json line = {{"text", text}, {"ids", ids}};
  if (pieces) line["pieces"] = *pieces;
  std::cout << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

// Sentencepiece ids of a LLaMA folder: BOS/EOS as its tokenizer_config.json says (none with
// --raw), never padded.
int run_llama_tokenize(const TokenizeArgs& args, const std::vector<std::string>& texts) {
  if (!args.vocab.empty() || args.truncate || args.context_option->count() > 0) {
    throw Error("--vocab, --truncate and --context-length are for CLIP; --model " + args.model +
                " uses its tokenizer.model and does not pad");
  }
  const auto tokenizer =
      models::llama::LlamaTokenizer::load(pipeline::resolve_lm_folder(args.model));
  for (const std::string& t : texts) {
    const std::vector<int64_t> ids = tokenizer->encode(t, !args.raw);
    std::vector<std::string> pieces;
    for (const int64_t id : ids) pieces.push_back(tokenizer->piece(id));
    print_line(t, ids, args.pieces ? &pieces : nullptr);
  }
  return 0;
}

int run_tokenize(const TokenizeArgs& args) {
  std::vector<std::string> texts = args.texts;
  if (!args.jsonl.empty()) {
    const std::vector<std::string> from_file = pipeline::read_jsonl_texts(args.jsonl);
    texts.insert(texts.end(), from_file.begin(), from_file.end());
  }
  if (texts.empty()) throw Error("nothing to tokenize: give TEXT arguments or --jsonl FILE");
  if (!args.model.empty()) return run_llama_tokenize(args, texts);
  if (args.pieces) throw Error("--pieces needs --model DIR (sentencepiece pieces of a text LM)");
  const auto tokenizer = text::ClipTokenizer::from_file(text::find_vocab(args.vocab, ""));
  if (args.raw) {
    for (const std::string& t : texts) print_line(t, tokenizer.encode(t));
    return 0;
  }
  const at::Tensor ids = tokenizer.tokenize(texts, args.context_length, args.truncate);
  for (size_t i = 0; i < texts.size(); ++i) {
    const at::Tensor row = ids[static_cast<int64_t>(i)].contiguous();
    print_line(texts[i], std::vector<int64_t>(row.data_ptr<int64_t>(),
                                              row.data_ptr<int64_t>() + row.numel()));
  }
  return 0;
}

Runner setup_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  app.add_option("text", args->texts, "Texts to tokenize");
  app.add_option("--vocab", args->vocab,
                 "bpe_simple_vocab_16e6.txt.gz, or a Hugging Face vocab.json / its folder "
                 "(default: $VLPROMPT_HOME/bpe_simple_vocab_16e6.txt.gz)");
  app.add_option("--jsonl", args->jsonl, "File with one JSON string per line")
      ->check(CLI::ExistingFile);
  app.add_flag("--raw", args->raw,
               "Ids only: no start/end tokens, no padding (with --model: no BOS/EOS)");
  app.add_flag("--truncate", args->truncate,
               "Cut texts longer than the context (the last kept token becomes end-of-text)");
  app.add_option("--model", args->model,
                 "Hugging Face LLaMA folder (tokenizer.model) or a shipped language model's name: "
                 "its sentencepiece ids instead");
  app.add_flag("--pieces", args->pieces, "With --model: also print each id's piece");
  args->context_option =
      app.add_option("--context-length", args->context_length, "Padded length of each row")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  app.footer(
      "Example:\n  vlprompt tokenize \"a photo of a cat.\"\n"
      "  vlprompt tokenize --raw --vocab bpe_simple_vocab_16e6.txt.gz --jsonl prompts.jsonl\n"
      "  vlprompt tokenize --model llama-folder --pieces \"a photo of a cat.\"");
  return [args] { return run_tokenize(*args); };
}

}  // namespace

VLPROMPT_COMMAND(tokenize,
                 "CLIP (or, with --model, text LM) token ids of texts, one JSON line each",
                 setup_tokenize);

}  // namespace vlprompt::cli
