// `vlprompt lm score` and `vlprompt lm generate`: a frozen LLaMA-family model from a Hugging Face
// folder, with or without a trained text delta (prompt/prefix/P-tuning), scoring texts as JSON
// lines or generating from a prompt, streamed to the terminal.
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/llama/llama_generate.h"
#include "pipeline/jsonl_texts.h"
#include "pipeline/lm_bundle.h"
#include "pipeline/lm_score.h"
#include "pipeline/text_delta.h"
#include "src/core/device.h"
#include "src/core/error.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

struct LmArgs {
  std::string model, delta, device = "cpu";
  // score
  std::vector<std::string> texts;
  std::string jsonl;
  int64_t batch_size = 16;
  // generate
  std::string prompt;
  int64_t max_new_tokens = 64;
  double temperature = 0, top_p = 1;
  uint64_t seed = 0;
  bool no_cache = false, json = false;
};

// The model on its device, and the delta's sites (null without --delta). The delta is kept alive
// by `holder`.
struct Loaded {
  pipeline::LmBundle lm;
  std::shared_ptr<delta::Delta> holder;
  nn::DeltaSites* sites = nullptr;
  delta::SiteContext context;
};

std::unique_ptr<Loaded> load(const LmArgs& a) {
  auto l = std::make_unique<Loaded>();
  l->lm = pipeline::load_lm_bundle(a.model);
  const at::Device device = core::parse_device(a.device);
  l->lm.model->to(device);
  if (!a.delta.empty()) {
    l->holder = pipeline::load_text_delta(a.delta, l->lm).delta;
    l->holder->to(device);
    l->holder->eval();
    l->sites = l->holder->sites(delta::Tower::kText, l->context);
  }
  return l;
}

int run_score(const LmArgs& a) {
  if (a.texts.empty() == a.jsonl.empty())
    throw Error("lm score: give the texts either with --texts or with --jsonl (one of them)");
  const std::vector<std::string> texts =
      a.jsonl.empty() ? a.texts : pipeline::read_jsonl_texts(a.jsonl);
  if (texts.empty()) throw FileError(a.jsonl, "holds no texts; expected one per line");
  auto l = load(a);
  std::vector<std::vector<int64_t>> ids;
  const int64_t positions = l->lm.model->config().max_position_embeddings;
  for (const auto& t : texts) {
    ids.push_back(l->lm.tokenizer->encode(t));
    if (static_cast<int64_t>(ids.back().size()) > positions)
      throw Error("lm score: text " + std::to_string(ids.size()) + " is " +
                  std::to_string(ids.back().size()) +
                  " tokens, more than the model's max_position_embeddings (" +
                  std::to_string(positions) + ")");
  }
  const auto records = pipeline::score_sequences(l->lm.model, l->sites, ids, a.batch_size);
  for (size_t i = 0; i < records.size(); ++i) {
    nlohmann::json r{{"text", texts[i]}};
    r.update(records[i]);
    std::cout << r.dump() << "\n";
  }
  return 0;
}

int run_generate(const LmArgs& a) {
  auto l = load(a);
  const auto& tok = *l->lm.tokenizer;
  const std::vector<int64_t> prompt = tok.encode(a.prompt);
  // Positions past the model's table have no trained rotary meaning: refuse before generating.
  const int64_t positions = l->lm.model->config().max_position_embeddings;
  if (static_cast<int64_t>(prompt.size()) + a.max_new_tokens > positions)
    throw Error("lm generate: the prompt's " + std::to_string(prompt.size()) +
                " tokens + --max-new-tokens " + std::to_string(a.max_new_tokens) +
                " exceed the model's max_position_embeddings (" + std::to_string(positions) + ")");
  const auto options = models::llama::GenerateOptions()
                           .max_new_tokens(a.max_new_tokens)
                           .temperature(a.temperature)
                           .top_p(a.top_p)
                           .seed(a.seed)
                           .use_cache(!a.no_cache)
                           .stop_token(tok.eos_id())
                           .vocab_limit(tok.vocab_size());
  // Streams the text decoded so far, holding back an unfinished UTF-8 character (byte-fallback
  // pieces arrive one byte at a time).
  std::vector<int64_t> generated;
  std::string shown;
  const auto stream = [&](int64_t token) {
    generated.push_back(token);
    if (a.json) return;
    const std::string text = tok.decode_continuation(prompt, generated);
    if (text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0) return;
    if (text.size() > shown.size() && text.compare(0, shown.size(), shown) == 0) {
      std::cout << text.substr(shown.size()) << std::flush;
      shown = text;
    }
  };
  if (!a.json) std::cout << a.prompt << std::flush;
  const auto start = std::chrono::steady_clock::now();
  models::llama::generate(l->lm.model, prompt, l->sites, options, stream);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.json) {
    std::cout << nlohmann::json{{"prompt", a.prompt},
                                {"prompt_ids", prompt},
                                {"ids", generated},
                                {"text", tok.decode_continuation(prompt, generated)},
                                {"seconds", seconds},
                                {"cache", !a.no_cache}}
                     .dump()
              << "\n";
  } else {
    const std::string text = tok.decode_continuation(prompt, generated);
    if (text.size() > shown.size()) std::cout << text.substr(shown.size());
    std::cout << "\n";
    std::cerr << "[vlprompt] " << generated.size() << " tokens in " << seconds << " s\n";
  }
  return 0;
}

void add_common(CLI::App* app, LmArgs& a) {
  app->add_option("--model", a.model, "Hugging Face LLaMA-family folder")->required();
  app->add_option("--delta", a.delta, "a trained text delta (RUN/delta.safetensors)")
      ->check(CLI::ExistingFile);
  app->add_option("--device", a.device, "cpu | cuda | cuda:N")->default_val("cpu");
}

Runner setup_lm(CLI::App& app) {
  auto a = std::make_shared<LmArgs>();
  app.require_subcommand(1);
  CLI::App* score = app.add_subcommand(
      "score", "one JSON line per text: ids, log p of each token, top 5 next tokens, perplexity");
  add_common(score, *a);
  score->add_option("--texts", a->texts, "texts to score");
  score->add_option("--jsonl", a->jsonl, "a file of texts (JSON strings or {\"text\": ...})")
      ->check(CLI::ExistingFile);
  score->add_option("--batch-size", a->batch_size, "texts per forward pass")
      ->default_val(16)
      ->check(at_least(1));
  CLI::App* gen = app.add_subcommand("generate", "continue a prompt (greedy by default), streamed");
  add_common(gen, *a);
  gen->add_option("--prompt", a->prompt, "text to continue")->required();
  gen->add_option("--max-new-tokens", a->max_new_tokens,
                  "at most this many tokens (prompt + these must fit max_position_embeddings)")
      ->default_val(64)
      ->check(at_least(1));
  gen->add_option("--temperature", a->temperature, "0 = greedy")
      ->default_val(0.0)
      ->check(number_in(0, std::numeric_limits<double>::infinity()));
  gen->add_option("--top-p", a->top_p, "nucleus sampling mass")
      ->default_val(1.0)
      ->check(number_in(0, 1, /*min_open=*/true));
  gen->add_option("--seed", a->seed, "sampling seed")->default_val(0)->check(at_least(0));
  gen->add_flag("--no-cache", a->no_cache, "rerun the whole sequence per token (for checks)");
  gen->add_flag("--json", a->json, "print one JSON record instead of streaming text");
  app.footer(
      "Examples:\n  vlprompt lm score --model llama-folder --texts \"Hello world\"\n"
      "  vlprompt lm generate --model llama-folder --delta runs/pt/delta.safetensors --prompt "
      "\"Why\"");
  return [a, score] { return score->parsed() ? run_score(*a) : run_generate(*a); };
}

}  // namespace

VLPROMPT_COMMAND(lm, "score texts or generate with a frozen LLaMA-family model (+ a text delta)",
                 setup_lm);

}  // namespace vlprompt::cli
