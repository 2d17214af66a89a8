#include "src/text/sentencepiece_tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/text/sentencepiece/spm_c_api.h"

namespace vlprompt::text {
namespace fs = std::filesystem;

// A named (not anonymous) namespace: SentencePieceTokenizer::State points to an SpmModule, and a
// unity build would otherwise give State a member of internal linkage.
namespace spm_detail {

constexpr const char* kModuleName = "libvlprompt_spm.so";
// LLaMA's tokenizer.model is 0.5 MB, Gemma's 256k-piece one 4 MB.
constexpr uint64_t kMaxModelBytes = 64ull << 20;

// The module's entry points, resolved once per process. The module is never dlclose()d: the
// tokenizers it made may live until exit.
struct SpmModule {
  std::string path;
  vlp_spm_load_fn load = nullptr;
  vlp_spm_free_fn free_model = nullptr;
  vlp_spm_free_buffer_fn free_buffer = nullptr;
  vlp_spm_encode_fn encode = nullptr;
  vlp_spm_decode_fn decode = nullptr;
  vlp_spm_vocab_size_fn vocab_size = nullptr;
  vlp_spm_id_to_piece_fn id_to_piece = nullptr;
  vlp_spm_piece_to_id_fn piece_to_id = nullptr;
  vlp_spm_piece_flags_fn piece_flags = nullptr;
  vlp_spm_special_id_fn bos_id = nullptr, eos_id = nullptr, unk_id = nullptr, pad_id = nullptr;
};

template <typename Fn>
void resolve(void* handle, const std::string& path, const char* name, Fn& out) {
  out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (!out) throw FileError(path, std::string("not a vlprompt_spm module: no symbol ") + name);
}

// AddressSanitizer's runtime refuses RTLD_DEEPBIND, and without it libsentencepiece binds to
// LibTorch's libprotobuf and crashes. Sanitized builds (tools/test.sh --sanitize, tools/fuzz.sh)
// load the module into a link-map namespace of its own instead, where it sees only its own
// dependencies; it is built without sanitizers for that (src/text/CMakeLists.txt).
#if defined(__SANITIZE_ADDRESS__)
#define VLPROMPT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VLPROMPT_ASAN 1
#endif
#endif

void* open_module(const std::string& path) {
#ifdef VLPROMPT_ASAN
  return dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
  // RTLD_LOCAL keeps sentencepiece's protobuf symbols out of the global scope (where LibTorch's
  // protobuf would bind to them); RTLD_DEEPBIND makes the module bind to its own copies first.
  return dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
}

const SpmModule& spm_module() {
  static std::mutex mutex;
  static std::unique_ptr<SpmModule> loaded;  // only a successful load is kept
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded) return *loaded;
  auto m = std::make_unique<SpmModule>();
  m->path = find_spm_module();
  void* handle = open_module(m->path);
  if (!handle) throw FileError(m->path, std::string("cannot load the module: ") + dlerror());
  vlp_spm_abi_version_fn abi = nullptr;
  resolve(handle, m->path, "vlp_spm_abi_version", abi);
  if (abi() != VLP_SPM_ABI_VERSION) {
    throw FileError(m->path, "module interface version " + std::to_string(abi()) + ", expected " +
                                 std::to_string(VLP_SPM_ABI_VERSION) + " (a stale build?)");
  }
  resolve(handle, m->path, "vlp_spm_load", m->load);
  resolve(handle, m->path, "vlp_spm_free", m->free_model);
  resolve(handle, m->path, "vlp_spm_free_buffer", m->free_buffer);
  resolve(handle, m->path, "vlp_spm_encode", m->encode);
  resolve(handle, m->path, "vlp_spm_decode", m->decode);
  resolve(handle, m->path, "vlp_spm_vocab_size", m->vocab_size);
  resolve(handle, m->path, "vlp_spm_id_to_piece", m->id_to_piece);
  resolve(handle, m->path, "vlp_spm_piece_to_id", m->piece_to_id);
  resolve(handle, m->path, "vlp_spm_piece_flags", m->piece_flags);
  resolve(handle, m->path, "vlp_spm_bos_id", m->bos_id);
  resolve(handle, m->path, "vlp_spm_eos_id", m->eos_id);
  resolve(handle, m->path, "vlp_spm_unk_id", m->unk_id);
  resolve(handle, m->path, "vlp_spm_pad_id", m->pad_id);
  loaded = std::move(m);
  return *loaded;
}

// Takes ownership of a message the module allocated; empty when `message` is NULL.
std::string take_message(const SpmModule& m, char* message) {
  if (!message) return {};
  std::string text(message);
  m.free_buffer(message);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text.empty() ? "unknown error" : text;
}

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace spm_detail

using spm_detail::kMaxModelBytes;
using spm_detail::kModuleName;
using spm_detail::SpmModule;

std::string find_spm_module() {
  if (const char* env = std::getenv("VLPROMPT_SPM_MODULE"); env && *env) {
    // Set on purpose: a wrong value is an error, not a reason to load some other build's module.
    if (!fs::is_regular_file(env)) {
      throw FileError(env, "not found (named by $VLPROMPT_SPM_MODULE, the vlprompt_spm module)");
    }
    return env;
  }
  std::vector<std::string> candidates;
  if (const std::string dir = spm_detail::executable_dir(); !dir.empty()) {
    // Beside the executable, then the build's and an install's library folders.
    for (const char* sub : {"", "/../lib", "/../lib/vlprompt"}) {
      candidates.push_back(fs::path(dir + sub + "/" + kModuleName).lexically_normal().string());
    }
  }
#ifdef VLPROMPT_SPM_MODULE_BUILD_PATH
  candidates.push_back(VLPROMPT_SPM_MODULE_BUILD_PATH);
#endif
  std::string looked;
  std::vector<std::string> seen;
  for (const std::string& c : candidates) {
    if (fs::is_regular_file(c)) return c;
    if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;
    seen.push_back(c);
    looked += "\n  " + c;
  }
  throw Error(std::string("the sentencepiece module ") + kModuleName +
              " was not found; looked in $VLPROMPT_SPM_MODULE (unset) and:" + looked +
              "\nBuild the vlprompt_spm target, or set VLPROMPT_SPM_MODULE to its path.");
}

struct SentencePieceTokenizer::State {
  const SpmModule* module = nullptr;
  vlp_spm* model = nullptr;
  std::string path;
  int64_t vocab_size = 0;
  ~State() {
    if (model) module->free_model(model);
  }
};

SentencePieceTokenizer::SentencePieceTokenizer(std::shared_ptr<const State> state)
    : state_(std::move(state)) {}

#ifdef VLPROMPT_NO_SENTENCEPIECE
bool sentencepiece_built() { return false; }
#else
bool sentencepiece_built() { return true; }
#endif

SentencePieceTokenizer SentencePieceTokenizer::from_file(const std::string& model_path) {
  if (!sentencepiece_built()) {
    throw FileError(model_path,
                    "cannot be read: this build has no sentencepiece (configured with "
                    "-DVLPROMPT_WITH_SENTENCEPIECE=OFF; install libsentencepiece-dev "
                    "and reconfigure)");
  }
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(model_path, ec)))
    throw FileError(model_path, "not found (a sentencepiece model)");
  // The module opens the path itself; this refuses a FIFO, a device or an oversized file first.
  const core::RegularFile checked(model_path, kMaxModelBytes);
  const SpmModule& m = spm_detail::spm_module();
  auto state = std::make_shared<State>();
  state->module = &m;
  state->path = model_path;
  const std::string error = spm_detail::take_message(m, m.load(model_path.c_str(), &state->model));
  if (!error.empty() || !state->model) {
    throw FileError(model_path, "not a readable sentencepiece model (" + error + ")");
  }
  state->vocab_size = m.vocab_size(state->model);
  if (state->vocab_size <= 0) throw FileError(model_path, "sentencepiece model with no pieces");
  return SentencePieceTokenizer(std::move(state));
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text) const {
  const SpmModule& m = *state_->module;
  int32_t* ids = nullptr;
  size_t count = 0;
  const std::string error =
      spm_detail::take_message(m, m.encode(state_->model, text.data(), text.size(), &ids, &count));
  if (!error.empty()) throw FileError(state_->path, "cannot encode text: " + error);
  std::vector<int64_t> out(ids, ids + count);
  m.free_buffer(ids);
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int32_t> narrow;
  narrow.reserve(ids.size());
  for (const int64_t id : ids) {
    check_id(id);
    narrow.push_back(static_cast<int32_t>(id));
  }
  const SpmModule& m = *state_->module;
  char* text = nullptr;
  size_t size = 0;
  const std::string error = spm_detail::take_message(
      m, m.decode(state_->model, narrow.data(), narrow.size(), &text, &size));
  if (!error.empty()) throw FileError(state_->path, "cannot decode ids: " + error);
  std::string out(text, size);
  m.free_buffer(text);
  return out;
}

void SentencePieceTokenizer::check_id(int64_t id) const {
  if (id < 0 || id >= state_->vocab_size) {
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + state_->path +
                " (expected 0.." + std::to_string(state_->vocab_size - 1) + ")");
  }
}

std::string SentencePieceTokenizer::piece(int64_t id) const {
  check_id(id);
  size_t size = 0;
  const char* p = state_->module->id_to_piece(state_->model, static_cast<int32_t>(id), &size);
  return std::string(p, size);
}

int64_t SentencePieceTokenizer::piece_id(const std::string& piece) const {
  return state_->module->piece_to_id(state_->model, piece.data(), piece.size());
}

int64_t SentencePieceTokenizer::vocab_size() const { return state_->vocab_size; }

bool SentencePieceTokenizer::is_control(int64_t id) const {
  check_id(id);
  return state_->module->piece_flags(state_->model, static_cast<int32_t>(id)) & VLP_SPM_CONTROL;
}

bool SentencePieceTokenizer::is_byte(int64_t id) const {
  check_id(id);
  return state_->module->piece_flags(state_->model, static_cast<int32_t>(id)) & VLP_SPM_BYTE;
}

bool SentencePieceTokenizer::is_unknown(int64_t id) const {
  check_id(id);
  return state_->module->piece_flags(state_->model, static_cast<int32_t>(id)) & VLP_SPM_UNKNOWN;
}

int64_t SentencePieceTokenizer::bos_id() const { return state_->module->bos_id(state_->model); }
int64_t SentencePieceTokenizer::eos_id() const { return state_->module->eos_id(state_->model); }
int64_t SentencePieceTokenizer::unk_id() const { return state_->module->unk_id(state_->model); }
int64_t SentencePieceTokenizer::pad_id() const { return state_->module->pad_id(state_->model); }

const std::string& SentencePieceTokenizer::path() const { return state_->path; }

}  // namespace vlprompt::text
