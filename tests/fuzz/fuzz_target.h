// A fuzz target is one function of (bytes, size) that must return for every input. Refusing with a
// vlprompt::Error (the clear message a user gets) is the expected way out; anything else that
// escapes (another exception, a crash, a sanitizer report, a hang, memory past the limit) is a
// finding. The same target sources build two ways:
// - with VLPROMPT_LIBFUZZER (tools/fuzz.sh, clang -fsanitize=fuzzer,address,undefined): each
//   target is its own libFuzzer executable, fuzz_<name>;
// - otherwise: every target registers itself in vlprompt_fuzz_replay, which replays the seed
//   corpora of tests/fuzz/corpus/ under ctest (CI), in seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace vlprompt::fuzz {

using TargetFn = void (*)(const uint8_t* data, size_t size);

struct Registrar {
  Registrar(const char* name, TargetFn fn);
};
const std::map<std::string, TargetFn>& targets();

// Runs `fn`, swallowing vlprompt::Error; returns 0 (libFuzzer's "keep going").
int run_one(TargetFn fn, const uint8_t* data, size_t size);
extern size_t refused;  // inputs run_one saw refused with an Error

// Writes the input to `name` in this process's scratch folder and returns the path: every reader
// under test takes a file, as users give it one.
std::string write_input(const uint8_t* data, size_t size, const std::string& name);
// The scratch folder itself (created on first use, removed at exit).
const std::string& scratch_dir();

// A broken invariant (not an input the reader should refuse): prints and aborts, which libFuzzer
// and the replay driver both report as a finding.
[[noreturn]] void fail(const std::string& what);

}  // namespace vlprompt::fuzz

#ifdef VLPROMPT_LIBFUZZER
#define VLPROMPT_FUZZ_TARGET(name)                                          \
  static void name##_fuzz(const uint8_t* data, size_t size);                \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return ::vlprompt::fuzz::run_one(name##_fuzz, data, size);              \
  }                                                                         \
  static void name##_fuzz(const uint8_t* data, size_t size)
#else
#define VLPROMPT_FUZZ_TARGET(name)                                               \
  static void name##_fuzz(const uint8_t* data, size_t size);                     \
  static const ::vlprompt::fuzz::Registrar name##_registrar(#name, name##_fuzz); \
  static void name##_fuzz(const uint8_t* data, size_t size)
#endif
