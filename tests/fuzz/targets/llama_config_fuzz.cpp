// A LLaMA folder's small JSON files: the input is config.json, then, after a line "---",
// tokenizer_config.json (absent when there is no such line). config.json is parsed as the model
// loader reads it and the folder (with the fuzz data's tokenizer.model) loaded as the tokenizer
// loader reads it. What parses must hold the bounds the loader promises.
#include <filesystem>
#include <string>

#include "models/llama/llama_config.h"
#include "models/llama/llama_tokenizer.h"
#include "src/core/error.h"
#include "tests/fuzz/fuzz_target.h"

namespace fz = vlprompt::fuzz;
namespace llm = vlprompt::models::llama;

namespace {

void check_config(const llm::LlamaConfig& c) {
  const bool ok = c.hidden_size >= 1 && c.hidden_size <= (1 << 16) && c.num_hidden_layers >= 1 &&
                  c.num_hidden_layers <= 1024 && c.vocab_size >= 1 && c.vocab_size <= (1 << 21) &&
                  c.intermediate_size >= 1 && c.intermediate_size <= (1 << 18) &&
                  c.hidden_size % c.num_attention_heads == 0 && c.head_dim() % 2 == 0 &&
                  c.num_attention_heads % c.num_key_value_heads == 0 && c.rope_theta > 0 &&
                  c.rms_norm_eps >= 0 && c.max_position_embeddings >= 16;
  if (!ok) fz::fail("config.json parsed to sizes outside the loader's bounds");
}

}  // namespace

VLPROMPT_FUZZ_TARGET(llama_config) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t split = text.find("\n---\n");
  const std::string config = text.substr(0, split);
  const std::string folder = fz::scratch_dir();
  std::filesystem::remove(folder + "/tokenizer_config.json");
  std::filesystem::copy_file(VLPROMPT_FUZZ_DATA_DIR "/spm/tokenizer.model",
                             folder + "/tokenizer.model",
                             std::filesystem::copy_options::skip_existing);
  const std::string config_path = fz::write_input(data, config.size(), "config.json");
  if (split != std::string::npos)
    fz::write_input(data + split + 5, size - split - 5, "tokenizer_config.json");
  try {
    check_config(llm::read_llama_config(folder));
  } catch (const vlprompt::Error&) {
    // Refused; the tokenizer reads config.json's ids on its own and must refuse or load too.
  }
  const auto tok = llm::LlamaTokenizer::load(folder);
  const std::vector<int64_t> ids = tok->encode("hello world");
  for (const int64_t id : ids)
    if (id < 0) fz::fail("encode gave id " + std::to_string(id));
  tok->decode(ids, /*skip_special=*/false);
}
