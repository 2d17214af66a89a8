// Stopping a `vlprompt train` run part-way (SIGKILL, or SIGINT as Ctrl-C) once it has
// checkpointed some epochs, for the resume tests of every kind of run.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/cli/cli_test_support.h"

extern char** environ;

namespace vlprompt::testing {

// Epochs completed according to the run's checkpoint.json (0 while there is none).
inline int64_t checkpoint_epoch(const std::string& run) {
  const std::string file = run + "/checkpoint/checkpoint.json";
  if (!std::filesystem::exists(file)) return 0;
  try {
    return read_json(file).value("epoch", int64_t{0});
  } catch (const std::exception&) {
    return 0;  // replaced between exists() and the read: look again
  }
}

// Starts `vlprompt train` in the background and sends it `sig` once `kill_after` epochs are
// checkpointed. SIGKILL must kill it; SIGINT (Ctrl-C) must make it save, say how to resume and
// exit with 130. Returns false (with the reason) otherwise.
inline bool train_and_stop(const std::string& args, const std::string& run, int64_t kill_after,
                           int sig, std::string* why) {
  set_cli_environment();
  const std::string cmd =
      "exec " + std::string(VLPROMPT_CLI) + " " + args + " >" + quoted(run + ".log") + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    *why = "could not start " + cmd;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (checkpoint_epoch(run) < kill_after) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      *why = "the run ended before epoch " + std::to_string(kill_after) + ":\n" +
             core::read_file(run + ".log");
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, sig);
  waitpid(pid, &status, 0);
  const std::string log = core::read_file(run + ".log");
  if (sig == SIGKILL && !WIFSIGNALED(status)) {
    *why = "the run was not killed (it had finished):\n" + log;
    return false;
  }
  if (sig == SIGINT) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 130) {
      *why = "Ctrl-C did not end the run with status 130:\n" + log;
      return false;
    }
    if (log.find("vlprompt train --resume " + run) == std::string::npos) {
      *why = "Ctrl-C output does not say how to resume:\n" + log;
      return false;
    }
  }
  return true;
}

}  // namespace vlprompt::testing
