// The vlprompt_spm module: Debian's libsentencepiece behind the C interface of spm_c_api.h. It is
// loaded with dlopen by SentencePieceTokenizer and never linked into a process with LibTorch
// (see spm_c_api.h for why). Every entry point catches everything: no C++ exception may unwind
// into the caller, which was built against none of this module's types.
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "src/text/sentencepiece/spm_c_api.h"

#define VLP_SPM_EXPORT extern "C" __attribute__((visibility("default")))

struct vlp_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

char* copy_message(const std::string& message) {
  char* out = static_cast<char*>(std::malloc(message.size() + 1));
  if (out) std::memcpy(out, message.c_str(), message.size() + 1);
  return out;
}

char* status_message(const sentencepiece::util::Status& status) {
  return copy_message(status.ToString());
}

template <typename F>
char* guarded(F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return copy_message(std::string("sentencepiece: ") + e.what());
  } catch (...) {
    return copy_message("sentencepiece: unknown exception");
  }
}

}  // namespace

VLP_SPM_EXPORT int vlp_spm_abi_version(void) { return VLP_SPM_ABI_VERSION; }

VLP_SPM_EXPORT char* vlp_spm_load(const char* path, vlp_spm** out) {
  return guarded([&]() -> char* {
    *out = nullptr;
    auto model = std::make_unique<vlp_spm>();
    const auto status = model->processor.Load(path);
    if (!status.ok()) return status_message(status);
    *out = model.release();
    return nullptr;
  });
}

VLP_SPM_EXPORT void vlp_spm_free(vlp_spm* model) { delete model; }

VLP_SPM_EXPORT void vlp_spm_free_buffer(void* buffer) { std::free(buffer); }

VLP_SPM_EXPORT char* vlp_spm_encode(const vlp_spm* model, const char* text, size_t size,
                                    int32_t** ids, size_t* count) {
  return guarded([&]() -> char* {
    *ids = nullptr;
    *count = 0;
    std::vector<int> result;
    const auto status = model->processor.Encode(std::string(text, size), &result);
    if (!status.ok()) return status_message(status);
    // malloc(0) may return NULL; one spare slot keeps "no ids" distinct from "out of memory".
    *ids = static_cast<int32_t*>(std::malloc((result.size() + 1) * sizeof(int32_t)));
    if (!*ids) return copy_message("sentencepiece: out of memory");
    for (size_t i = 0; i < result.size(); ++i) (*ids)[i] = result[i];
    *count = result.size();
    return nullptr;
  });
}

VLP_SPM_EXPORT char* vlp_spm_decode(const vlp_spm* model, const int32_t* ids, size_t count,
                                    char** text, size_t* size) {
  return guarded([&]() -> char* {
    *text = nullptr;
    *size = 0;
    const std::vector<int> input(ids, ids + count);
    std::string result;
    const auto status = model->processor.Decode(input, &result);
    if (!status.ok()) return status_message(status);
    *text = static_cast<char*>(std::malloc(result.size() + 1));
    if (!*text) return copy_message("sentencepiece: out of memory");
    std::memcpy(*text, result.data(), result.size() + 1);
    *size = result.size();
    return nullptr;
  });
}

VLP_SPM_EXPORT int32_t vlp_spm_vocab_size(const vlp_spm* model) {
  return model->processor.GetPieceSize();
}

VLP_SPM_EXPORT const char* vlp_spm_id_to_piece(const vlp_spm* model, int32_t id, size_t* size) {
  const std::string& piece = model->processor.IdToPiece(id);
  *size = piece.size();
  return piece.data();
}

VLP_SPM_EXPORT int32_t vlp_spm_piece_to_id(const vlp_spm* model, const char* piece, size_t size) {
  return model->processor.PieceToId(std::string(piece, size));
}

VLP_SPM_EXPORT int vlp_spm_piece_flags(const vlp_spm* model, int32_t id) {
  const auto& p = model->processor;
  return (p.IsUnknown(id) ? VLP_SPM_UNKNOWN : 0) | (p.IsControl(id) ? VLP_SPM_CONTROL : 0) |
         (p.IsUnused(id) ? VLP_SPM_UNUSED : 0) | (p.IsByte(id) ? VLP_SPM_BYTE : 0);
}

VLP_SPM_EXPORT int32_t vlp_spm_bos_id(const vlp_spm* model) { return model->processor.bos_id(); }
VLP_SPM_EXPORT int32_t vlp_spm_eos_id(const vlp_spm* model) { return model->processor.eos_id(); }
VLP_SPM_EXPORT int32_t vlp_spm_unk_id(const vlp_spm* model) { return model->processor.unk_id(); }
VLP_SPM_EXPORT int32_t vlp_spm_pad_id(const vlp_spm* model) { return model->processor.pad_id(); }

// The definitions above must match the pointer types the loader casts dlsym's results to.
static_assert(std::is_same_v<decltype(&vlp_spm_abi_version), vlp_spm_abi_version_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_load), vlp_spm_load_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_free), vlp_spm_free_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_free_buffer), vlp_spm_free_buffer_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_encode), vlp_spm_encode_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_decode), vlp_spm_decode_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_vocab_size), vlp_spm_vocab_size_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_id_to_piece), vlp_spm_id_to_piece_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_piece_to_id), vlp_spm_piece_to_id_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_piece_flags), vlp_spm_piece_flags_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_bos_id), vlp_spm_special_id_fn>);
static_assert(std::is_same_v<decltype(&vlp_spm_pad_id), vlp_spm_special_id_fn>);
