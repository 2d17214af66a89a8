#include <ATen/Parallel.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "src/core/error.h"
#include "tests/fuzz/fuzz_target.h"

namespace vlprompt::fuzz {
namespace {

std::map<std::string, TargetFn>& registry() {
  static std::map<std::string, TargetFn> all;
  return all;
}

// On tmpfs when there is one: the readers' atomic writes fsync, which a disk makes the slowest
// part of an execution.
std::string scratch_path() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = tmp && *tmp                                 ? tmp
                           : std::filesystem::is_directory("/dev/shm") ? "/dev/shm"
                                                                       : "/tmp";
  return base + "/vlprompt-fuzz-" + std::to_string(static_cast<long>(getpid()));
}

// Recomputes the path: at exit, scratch_dir()'s static string may already be destroyed.
void remove_scratch() {
  std::error_code ignored;
  std::filesystem::remove_all(scratch_path(), ignored);
}

}  // namespace

Registrar::Registrar(const char* name, TargetFn fn) { registry()[name] = fn; }

const std::map<std::string, TargetFn>& targets() { return registry(); }

const std::string& scratch_dir() {
  static const std::string dir = [] {
    const std::string d = scratch_path();
    std::filesystem::create_directories(d);
    std::atexit(remove_scratch);
    return d;
  }();
  return dir;
}

std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) fail("cannot write the fuzz input to " + path);
  return path;
}

size_t refused = 0;

int run_one(TargetFn fn, const uint8_t* data, size_t size) {
  // One thread: inputs are tiny, and OpenMP's spinning workers would only steal the fuzzer's CPU.
  static const bool single_thread = [] {
    at::set_num_threads(1);
    return true;
  }();
  (void)single_thread;
  try {
    fn(data, size);
  } catch (const Error&) {
    // The reader refused the input with a message naming it: the behaviour we want.
    ++refused;
  }
  return 0;
}

void fail(const std::string& what) {
  std::cerr << "fuzz invariant broken: " << what << std::endl;
  std::abort();
}

}  // namespace vlprompt::fuzz
