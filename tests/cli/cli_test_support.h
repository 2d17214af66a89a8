// Running the `vlprompt` binary from tests: a scratch feature cache (never ~/.cache), the tiny
// demo model, and training runs shared between tests. A shared run is made once (under a file
// lock, since ctest may run tests in parallel) and reused while it is newer than the binary.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::testing {

inline constexpr const char* kFashionMnistFile =
    "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

struct CliResult {
  int status = -1;     // exit status; -1 when the process did not exit normally
  std::string output;  // stdout and stderr together
};

inline std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Image features and prepared stores go to the scratch folder, shared by every test of a run.
// One intra-op thread: with ctest running tests side by side on a small machine, OpenMP threads
// that spin-wait for a busy core make a tiny run 100x slower; it also fixes the reduction order.
inline void set_cli_environment() {
  setenv("VLPROMPT_CACHE_DIR", scratch_dir("cache").c_str(), 1);
  setenv("OMP_NUM_THREADS", "1", 1);
}

inline CliResult run_cli(const std::string& args) {
  set_cli_environment();
  const std::string cmd = std::string(VLPROMPT_CLI) + " " + args + " 2>&1";
  CliResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(core::read_file(path));
}

// The JSON a command printed on stdout: from the first line that opens an object (the
// "[vlprompt] ..." log lines on stderr come before it).
inline nlohmann::json printed_json(const std::string& output) {
  size_t start = 0;
  while (start < output.size() && output[start] != '{') {
    const size_t next = output.find('\n', start);
    if (next == std::string::npos) return nullptr;
    start = next + 1;
  }
  return nlohmann::json::parse(output.substr(start));
}

// Held while a shared file is made, so parallel tests wait rather than race.
class ScratchLock {
 public:
  explicit ScratchLock(const std::string& name)
      : fd_(open((scratch_dir("locks") + "/" + name + ".lock").c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~ScratchLock() {
    if (fd_ >= 0) {
      flock(fd_, LOCK_UN);
      close(fd_);
    }
  }
  ScratchLock(const ScratchLock&) = delete;
  ScratchLock& operator=(const ScratchLock&) = delete;

 private:
  int fd_;
};

// Made by this build of the binary (a rebuilt binary remakes shared files).
inline bool is_fresh(const std::string& path) {
  std::error_code ec;
  const auto made = std::filesystem::last_write_time(path, ec);
  return !ec && made >= std::filesystem::last_write_time(VLPROMPT_CLI);
}

// `vlprompt init --config tiny --seed N`, made once.
inline std::string tiny_model(int seed = 0) {
  const std::string path =
      scratch_dir("models") + "/tiny-seed" + std::to_string(seed) + ".safetensors";
  ScratchLock lock("model-" + std::to_string(seed));
  if (!is_fresh(path)) {
    const CliResult r =
        run_cli("init --config tiny --seed " + std::to_string(seed) + " --out " + quoted(path));
    if (r.status != 0) ADD_FAILURE() << "vlprompt init failed:\n" << r.output;
  }
  return path;
}

// The shipped demonstration model (models/pretrained/tiny-pretrained.safetensors, made by
// tools/pretrain_tiny_clip.sh): the one to use wherever a test claims that a method learns, since
// on random weights such a test passes at chance.
inline std::string pretrained_model() {
  return source_path("models/pretrained/tiny-pretrained.safetensors");
}

// The shipped demonstration language model (models/pretrained/tiny-pretrained-lm, made by
// tools/pretrain_tiny_lm.sh), for the tests that claim a text delta learns.
inline std::string pretrained_lm() { return source_path("models/pretrained/tiny-pretrained-lm"); }

inline std::string vocab() { return clip_vocab(); }

// The training loss of each epoch, from a run's metrics.jsonl.
inline std::vector<double> losses_in(const std::string& metrics_file) {
  std::vector<double> out;
  std::istringstream lines(core::read_file(metrics_file));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  }
  return out;
}

// `vlprompt train` on 16-shot Fashion-MNIST with the tiny model, to `dir`.
inline std::string train_args(const std::string& dir, const std::string& extra) {
  return "train --method coop --model " + quoted(tiny_model()) + " --vocab " + quoted(vocab()) +
         " --dataset fashion_mnist --shots 16 --out " + quoted(dir) + " " + extra;
}

// A finished run shared between tests: made once, then reused. Returns the run folder; the
// failure (if any) is reported to the calling test.
inline std::string shared_run(const std::string& name, const std::string& extra) {
  const std::string dir = scratch_dir("runs") + "/" + name;
  ScratchLock lock("run-" + name);
  if (!is_fresh(dir + "/results.json")) {
    std::filesystem::remove_all(dir);
    const CliResult r = run_cli(train_args(dir, extra));
    if (r.status != 0) ADD_FAILURE() << "vlprompt train (" << name << ") failed:\n" << r.output;
  }
  return dir;
}

// The runs several tests read: class-specific and unified CoOp, two seeds of the latter.
inline std::string csc_run() {
  return shared_run("coop-csc-seed1",
                    "--seed 1 --aug-views 4 coop.csc=true optim.lr=0.05 train.max_epoch=60");
}
inline std::string unified_run(int seed) {
  return shared_run("coop-unified-seed" + std::to_string(seed),
                    "--seed " + std::to_string(seed) +
                        " --no-augment coop.n_ctx=4 optim.lr=0.02 train.max_epoch=20");
}

}  // namespace vlprompt::testing

// Fashion-MNIST comes from Debian's package (/usr/share/datasets/fashion-mnist): skip without it,
// except under CI, where it must be installed.
#define VLP_REQUIRE_FASHION_MNIST()                                                         \
  do {                                                                                      \
    if (!std::filesystem::exists(::vlprompt::testing::kFashionMnistFile)) {                 \
      if (::vlprompt::testing::running_in_ci()) FAIL() << "Fashion-MNIST is not installed"; \
      GTEST_SKIP() << "Fashion-MNIST absent: " << ::vlprompt::testing::kFashionMnistFile;   \
    }                                                                                       \
  } while (0)

// Debian's fortunes (installed by tools/setup.sh): skip without them, except under CI.
#define VLP_REQUIRE_FORTUNES()                                                                   \
  do {                                                                                           \
    if (!std::filesystem::exists("/usr/share/games/fortunes/computers")) {                       \
      if (::vlprompt::testing::running_in_ci()) FAIL() << "Debian's fortunes are not installed"; \
      GTEST_SKIP() << "Debian's fortunes package is not installed (tools/setup.sh)";             \
    }                                                                                            \
  } while (0)
