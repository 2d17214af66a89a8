#include "models/llama/llama_tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "models/llama/llama_files.h"
#include "src/core/error.h"

namespace vlprompt::models::llama {
namespace llama_tokenizer_detail {

namespace fs = std::filesystem;
using json = nlohmann::json;

// An id key as transformers writes it: an integer, null/absent (none), or a list whose first
// entry is the one that counts (eos_token_id in newer configs).
std::optional<int64_t> optional_id(const json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key].is_array() && !j[key].empty() ? j[key][0] : j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    throw FileError(file,
                    "key '" + key + "' is " + j[key].dump() + ", expected a non-negative integer");
  }
  return v.get<int64_t>();
}

bool optional_bool(const json& j, const std::string& key, bool fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) {
    throw FileError(file, "key '" + key + "' is " + j[key].dump() + ", expected true or false");
  }
  return j[key].get<bool>();
}

struct SpecialIds {
  int64_t bos = -1, eos = -1, pad = -1;  // -1: none
};

// The ids as transformers takes them: config.json's, else the sentencepiece model's own. Each
// must index the embedding, whose rows are config.json's vocab_size (never fewer than the
// model's pieces) or, without one, the model's pieces.
SpecialIds special_ids(const text::SentencePieceTokenizer& spm, const fs::path& root,
                       const std::string& model_file) {
  const int64_t model_vocab = spm.vocab_size();
  const std::string config_file = (root / "config.json").string();
  std::optional<int64_t> bos, eos, pad;
  int64_t id_limit = model_vocab;
  if (const auto config = read_optional_json_object(config_file)) {
    bos = optional_id(*config, "bos_token_id", config_file);
    eos = optional_id(*config, "eos_token_id", config_file);
    pad = optional_id(*config, "pad_token_id", config_file);
    if (const auto vocab = optional_id(*config, "vocab_size", config_file)) {
      if (model_vocab > *vocab) {
        throw FileError(model_file, "has " + std::to_string(model_vocab) + " pieces, more than " +
                                        config_file + "'s vocab_size " + std::to_string(*vocab) +
                                        ": the tokenizer does not belong to this model");
      }
      id_limit = *vocab;
    }
  }
  auto spm_id = [](int64_t id) { return id >= 0 ? std::optional<int64_t>(id) : std::nullopt; };
  SpecialIds ids;
  ids.bos = bos.value_or(spm_id(spm.bos_id()).value_or(-1));
  ids.eos = eos.value_or(spm_id(spm.eos_id()).value_or(-1));
  ids.pad = pad.value_or(spm_id(spm.pad_id()).value_or(-1));
  for (const auto& [key, id] : {std::pair<const char*, int64_t>{"bos_token_id", ids.bos},
                                {"eos_token_id", ids.eos},
                                {"pad_token_id", ids.pad}}) {
    if (id >= id_limit) {
      throw FileError(config_file, "key '" + std::string(key) + "' is " + std::to_string(id) +
                                       ", outside the vocabulary of " + std::to_string(id_limit));
    }
  }
  return ids;
}

// bos_token / eos_token as transformers writes them: a string, or an AddedToken {"content": ...}.
std::optional<std::string> token_text(const json& tc, const std::string& key,
                                      const std::string& file) {
  if (!tc.contains(key) || tc[key].is_null()) return std::nullopt;
  const json& v = tc[key].is_object() && tc[key].contains("content") ? tc[key]["content"] : tc[key];
  if (!v.is_string())
    throw FileError(file, "key '" + key + "' is " + tc[key].dump() +
                              ", expected a string or {\"content\": a string}");
  return v.get<std::string>();
}

// The special tokens tokenizer_config.json names must be the pieces the ids point at: a folder
// whose bos_token is "<|begin|>" while id 1 is "<s>" mixes two tokenizers.
void check_token_strings(const json& tc, const text::SentencePieceTokenizer& spm,
                         const SpecialIds& ids, const std::string& file,
                         const std::string& model_file) {
  for (const auto& [key, id] :
       {std::pair<std::string, int64_t>{"bos_token", ids.bos}, {"eos_token", ids.eos}}) {
    const std::optional<std::string> want = token_text(tc, key, file);
    if (!want) continue;
    if (id >= 0 && id < spm.vocab_size() && spm.piece(id) == *want) continue;
    const std::string actual =
        id < 0 ? "defines none"
               : (id < spm.vocab_size() ? "has '" + spm.piece(id) + "'"
                                        : "has no piece (its " + std::to_string(spm.vocab_size()) +
                                              " pieces end before it)") +
                     " at id " + std::to_string(id);
    throw FileError(file, "key '" + key + "' is " + tc[key].dump() + ", but " + model_file + " " +
                              actual + " (expected the piece at " + key + "_id, or no " + key +
                              " key)");
  }
}

// add_prefix_space must say what the sentencepiece model does (it prepends "▁" to the text or it
// does not), read off the encoding of one letter. `legacy` only changes how text right after a
// special token is split, and vlprompt never splits special tokens out of text (it encodes text
// literally), so either value encodes the same; it must still be a boolean.
void check_spacing(const json& tc, const text::SentencePieceTokenizer& spm, const std::string& file,
                   const std::string& model_file) {
  optional_bool(tc, "legacy", true, file);
  if (!tc.contains("add_prefix_space") || tc["add_prefix_space"].is_null()) return;
  const bool want = optional_bool(tc, "add_prefix_space", true, file);
  const std::vector<int64_t> ids = spm.encode("a");
  const bool prepends = !ids.empty() && spm.piece(ids[0]).rfind("\xe2\x96\x81", 0) == 0;
  if (want != prepends)
    throw FileError(file, std::string("key 'add_prefix_space' is ") + (want ? "true" : "false") +
                              ", but " + model_file +
                              (prepends ? " prepends" : " does not prepend") +
                              " a space to the text (expected " + (prepends ? "true" : "false") +
                              " or no key)");
}

struct AddFlags {
  bool bos = true, eos = false;  // transformers' defaults without tokenizer_config.json
};

// add_bos_token / add_eos_token from tokenizer_config.json; a token to be added needs an id.
AddFlags add_flags(const fs::path& root, const text::SentencePieceTokenizer& spm,
                   const SpecialIds& ids, const std::string& model_file) {
  const std::string tok_config_file = (root / "tokenizer_config.json").string();
  AddFlags add;
  if (const auto tc = read_optional_json_object(tok_config_file)) {
    add.bos = optional_bool(*tc, "add_bos_token", true, tok_config_file);
    add.eos = optional_bool(*tc, "add_eos_token", false, tok_config_file);
    check_token_strings(*tc, spm, ids, tok_config_file, model_file);
    check_spacing(*tc, spm, tok_config_file, model_file);
  }
  if (add.bos && ids.bos < 0) {
    throw FileError(model_file,
                    "defines no BOS piece and config.json no bos_token_id, but BOS "
                    "is to be added (set add_bos_token false in " +
                        tok_config_file + ")");
  }
  if (add.eos && ids.eos < 0) {
    throw FileError(model_file,
                    "defines no EOS piece and config.json no eos_token_id, but "
                    "add_eos_token is true in " +
                        tok_config_file);
  }
  return add;
}

}  // namespace llama_tokenizer_detail

std::shared_ptr<LlamaTokenizer> LlamaTokenizer::load(const std::string& dir) {
  using namespace llama_tokenizer_detail;
  if (!fs::is_directory(dir)) {
    throw FileError(dir,
                    "not a folder (expected a Hugging Face LLaMA folder with tokenizer.model)");
  }
  const fs::path root(dir);
  const std::string model_file = (root / "tokenizer.model").string();
  auto tok =
      std::make_shared<LlamaTokenizer>(Key(), text::SentencePieceTokenizer::from_file(model_file));
  tok->path_ = model_file;
  const SpecialIds ids = special_ids(tok->spm_, root, model_file);
  tok->bos_id_ = ids.bos;
  tok->eos_id_ = ids.eos;
  tok->pad_id_ = ids.pad;
  const AddFlags add = add_flags(root, tok->spm_, ids, model_file);
  tok->add_bos_ = add.bos;
  tok->add_eos_ = add.eos;
  return tok;
}

std::vector<int64_t> LlamaTokenizer::encode(const std::string& text, bool add_special) const {
  std::vector<int64_t> ids = spm_.encode(text);
  if (!add_special) return ids;
  if (add_bos_) ids.insert(ids.begin(), bos_id_);
  if (add_eos_) ids.push_back(eos_id_);
  return ids;
}

std::string LlamaTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  // Special ids may come from config.json rather than the model's control pieces: treat both.
  auto special = [&](int64_t id) {
    return id == bos_id_ || id == eos_id_ || id == pad_id_ || spm_.is_control(id);
  };
  std::string out;
  std::vector<int64_t> run;  // ordinary ids since the last special one
  for (const int64_t id : ids) {
    if (!special(id)) {
      run.push_back(id);
      continue;
    }
    if (skip_special) continue;
    out += spm_.decode(run) + spm_.piece(id);
    run.clear();
  }
  return out + spm_.decode(run);
}

std::string LlamaTokenizer::piece(int64_t id) const { return spm_.piece(id); }

int64_t LlamaTokenizer::vocab_size() const { return spm_.vocab_size(); }

std::string LlamaTokenizer::decode_continuation(const std::vector<int64_t>& prompt,
                                                const std::vector<int64_t>& generated) const {
  std::vector<int64_t> all = prompt;
  all.insert(all.end(), generated.begin(), generated.end());
  const std::string head = decode(prompt), whole = decode(all);
  if (whole.compare(0, head.size(), head) == 0) return whole.substr(head.size());
  return decode(generated);  // pieces that merge across the boundary: no common prefix
}

}  // namespace vlprompt::models::llama
