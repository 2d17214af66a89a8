// The files of a LLaMA folder: every one (config.json, tokenizer_config.json, the shard
// index, each shard, tokenizer.model) must be a regular file within a size bound, so a FIFO is
// refused at once instead of blocking and a link to /dev/zero instead of read without end; NaN
// and infinite weights are refused naming file and tensor; tokenizer_config.json's special-token
// strings and spacing must say what the tokenizer does; a bundle's vocab_size must equal the
// tokenizer's pieces.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/llama/llama_tokenizer.h"
#include "models/llama/llama_weights.h"
#include "pipeline/lm_bundle.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"
#include "tests/test_support.h"

namespace llama_folder_files_test {

namespace fs = std::filesystem;
using json = nlohmann::json;
using vlprompt::models::llama::LlamaTokenizer;
using vlprompt::models::llama::load_llama;
using vlprompt::testing::error_of;

std::string fixture(const std::string& rel) {
  return std::string(VLPROMPT_FIXTURE_DIR) + "/" + rel;
}

// A fresh copy of a fixture folder.
std::string copy_of(const std::string& rel, const std::string& name) {
  const std::string dir = vlprompt::testing::scratch_dir(name);
  fs::remove_all(dir);
  fs::copy(fixture(rel), dir, fs::copy_options::recursive);
  return dir;
}

void expect_has(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "expected '" << part << "' in\n" << message;
}

void make_fifo(const std::string& path) {
  fs::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0) << path;
}

void link_to(const std::string& path, const std::string& target) {
  fs::remove(path);
  fs::create_symlink(target, path);
}

TEST(LlamaFolderFiles, AFifoIsRefusedAtOnceWhereverItStands) {
  const std::string model = copy_of("llama/untied", "fifo_model");
  make_fifo(model + "/config.json");
  expect_has(error_of([&] { load_llama(model); }),
             {model + "/config.json: is a FIFO; expected a regular file"});
  const std::string weights = copy_of("llama/untied", "fifo_weights");
  make_fifo(weights + "/model.safetensors");
  expect_has(error_of([&] { load_llama(weights); }),
             {weights + "/model.safetensors: is a FIFO; expected a regular file"});
  const std::string index = copy_of("llama/sharded", "fifo_index");
  make_fifo(index + "/model.safetensors.index.json");
  expect_has(error_of([&] { load_llama(index); }),
             {index + "/model.safetensors.index.json: is a FIFO"});
  const std::string tok = copy_of("spm/llama", "fifo_tok_config");
  make_fifo(tok + "/tokenizer_config.json");
  expect_has(error_of([&] { LlamaTokenizer::load(tok); }),
             {tok + "/tokenizer_config.json: is a FIFO; expected a regular file"});
  make_fifo(tok + "/config.json");
  expect_has(error_of([&] { LlamaTokenizer::load(tok); }), {tok + "/config.json: is a FIFO"});
  make_fifo(tok + "/tokenizer.model");
  expect_has(error_of([&] { LlamaTokenizer::load(tok); }), {tok + "/tokenizer.model: is a FIFO"});
}

TEST(LlamaFolderFiles, ALinkToADeviceOrAnOversizedFileIsRefused) {
  const std::string tok = copy_of("spm/llama", "zero_tok_config");
  link_to(tok + "/tokenizer_config.json", "/dev/zero");
  expect_has(error_of([&] { LlamaTokenizer::load(tok); }),
             {tok + "/tokenizer_config.json: is a character device; expected a regular file"});
  const std::string model = copy_of("llama/sharded", "zero_shard");
  for (const auto& entry : fs::directory_iterator(model)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("model-", 0) == 0) link_to(entry.path().string(), "/dev/zero");
  }
  expect_has(error_of([&] { load_llama(model); }), {"is a character device"});
  const std::string big = copy_of("llama/untied", "big_config");
  fs::resize_file(big + "/config.json", 17 << 20);  // sparse: costs no disk
  expect_has(error_of([&] { load_llama(big); }),
             {big + "/config.json: is 17825792 bytes, more than the 16777216"});
}

TEST(LlamaFolderFiles, NonFiniteWeightsAreNamedWithTheirFile) {
  const std::string dir = copy_of("llama/untied", "nan_f32");
  auto tensors = vlprompt::core::read_safetensors(dir + "/model.safetensors").tensors;
  tensors["model.layers.1.mlp.up_proj.weight"][3][4] = std::nan("");
  vlprompt::core::write_safetensors(dir + "/model.safetensors", tensors);
  expect_has(error_of([&] { load_llama(dir); }),
             {dir + "/model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight' holds 1 "
                    "non-finite value (NaN)"});
  for (const auto type : {at::kBFloat16, at::kHalf}) {
    const std::string half = copy_of("llama/untied", std::string("inf_") + c10::toString(type));
    auto t = vlprompt::core::read_safetensors(half + "/model.safetensors").tensors;
    for (auto& [name, tensor] : t) tensor = tensor.to(type);
    t["model.norm.weight"][0] = std::numeric_limits<float>::infinity();
    vlprompt::core::write_safetensors(half + "/model.safetensors", t);
    expect_has(error_of([&] { load_llama(half); }),
               {half + "/model.safetensors: tensor 'model.norm.weight' holds 1 non-finite value "
                       "(infinity)"});
  }
}

// The spm fixture folder with `patch` merged into its tokenizer_config.json.
std::string tokenizer_with(const std::string& name, const json& patch) {
  const std::string dir = copy_of("spm/llama", name);
  json tc = json::parse(vlprompt::core::read_file(dir + "/tokenizer_config.json"));
  tc.merge_patch(patch);
  vlprompt::core::atomic_write(dir + "/tokenizer_config.json", tc.dump());
  return dir;
}

TEST(LlamaFolderFiles, TokenizerConfigMustSayWhatTheTokenizerDoes) {
  EXPECT_NO_THROW(LlamaTokenizer::load(
      tokenizer_with("tc_ok", {{"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                               {"eos_token", "</s>"},
                               {"legacy", false},
                               {"add_prefix_space", true}})));
  const std::string bos = tokenizer_with("tc_bos", {{"bos_token", "<|begin_of_text|>"}});
  expect_has(error_of([&] { LlamaTokenizer::load(bos); }),
             {bos + "/tokenizer_config.json: key 'bos_token' is \"<|begin_of_text|>\", but " + bos +
              "/tokenizer.model has '<s>' at id 1"});
  const std::string eos = tokenizer_with("tc_eos", {{"eos_token", {{"content", "<eos>"}}}});
  expect_has(error_of([&] { LlamaTokenizer::load(eos); }),
             {"key 'eos_token' is {\"content\":\"<eos>\"}, but ", "has '</s>' at id 2"});
  const std::string space = tokenizer_with("tc_space", {{"add_prefix_space", false}});
  expect_has(error_of([&] { LlamaTokenizer::load(space); }),
             {space + "/tokenizer_config.json: key 'add_prefix_space' is false, but ",
              "prepends a space to the text (expected true or no key)"});
  const std::string legacy = tokenizer_with("tc_legacy", {{"legacy", "yes"}});
  expect_has(error_of([&] { LlamaTokenizer::load(legacy); }),
             {"key 'legacy' is \"yes\", expected true or false"});
}

TEST(LlamaFolderFiles, ABundleRefusesAVocabularyFarPastTheTokenizersPieces) {
  const std::string dir = copy_of("lm/tiny", "vocab_past_pieces");
  json config = json::parse(vlprompt::core::read_file(dir + "/config.json"));
  config["vocab_size"] = 1300;
  vlprompt::core::atomic_write(dir + "/config.json", config.dump());
  expect_has(error_of([&] { vlprompt::pipeline::load_lm_bundle(dir); }),
             {dir + "/config.json: key 'vocab_size' is 1300, but " + dir +
              "/tokenizer.model has 1000 pieces (expected equal, or padded by at most 256"});
}

}  // namespace llama_folder_files_test
