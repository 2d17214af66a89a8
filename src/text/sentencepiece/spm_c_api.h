// The plain C interface of the vlprompt_spm module (spm_module.cpp), the only code that links
// Debian's libsentencepiece. That library carries its own protobuf-lite, which clashes with the
// protobuf LibTorch loads: linked into one process with LibTorch it crashes before main. So the
// module is a separate MODULE library that SentencePieceTokenizer dlopen()s with RTLD_LOCAL |
// RTLD_DEEPBIND, and nothing C++ (no exception, no std::string) crosses this boundary.
//
// Conventions: functions that can fail return NULL on success or an error message allocated by
// the module, which the caller frees with vlp_spm_free_buffer (as every returned buffer).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes; the loader refuses a module of another version.
#define VLP_SPM_ABI_VERSION 1

typedef struct vlp_spm vlp_spm;  // one loaded sentencepiece model

// Piece kinds, as bits of vlp_spm_piece_flags.
#define VLP_SPM_UNKNOWN 1
#define VLP_SPM_CONTROL 2
#define VLP_SPM_UNUSED 4
#define VLP_SPM_BYTE 8

typedef int (*vlp_spm_abi_version_fn)(void);
// Loads a serialized ModelProto (tokenizer.model); *out is set on success.
typedef char* (*vlp_spm_load_fn)(const char* path, vlp_spm** out);
typedef void (*vlp_spm_free_fn)(vlp_spm* model);
typedef void (*vlp_spm_free_buffer_fn)(void* buffer);
// Ids of `text` (`size` bytes, UTF-8), without BOS/EOS; *ids is a module buffer of *count ids.
typedef char* (*vlp_spm_encode_fn)(const vlp_spm* model, const char* text, size_t size,
                                   int32_t** ids, size_t* count);
// Text of `count` ids (each in [0, vocab size)); *text is a module buffer of *size bytes.
typedef char* (*vlp_spm_decode_fn)(const vlp_spm* model, const int32_t* ids, size_t count,
                                   char** text, size_t* size);
typedef int32_t (*vlp_spm_vocab_size_fn)(const vlp_spm* model);
// The piece of an id in [0, vocab size): a pointer into the model, valid until vlp_spm_free.
typedef const char* (*vlp_spm_id_to_piece_fn)(const vlp_spm* model, int32_t id, size_t* size);
// The id of a piece, or the unknown id when the vocabulary has no such piece.
typedef int32_t (*vlp_spm_piece_to_id_fn)(const vlp_spm* model, const char* piece, size_t size);
typedef int (*vlp_spm_piece_flags_fn)(const vlp_spm* model, int32_t id);
// bos, eos, unk, pad ids in the model; -1 when the model disables one.
typedef int32_t (*vlp_spm_special_id_fn)(const vlp_spm* model);

#ifdef __cplusplus
}
#endif
