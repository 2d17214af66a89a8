#include "study/cell_runner.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "study/cell_lock.h"

namespace vlprompt::study {
namespace {

std::string quoted(const std::vector<std::string>& argv) {
  std::string out = "vlprompt";
  for (const auto& a : argv) {
    const bool plain = a.find_first_of(" '\"$\\") == std::string::npos && !a.empty();
    out += " " + (plain ? a : "'" + a + "'");
  }
  return out;
}

struct ChildResult {
  int exit_code = 0;  // 128 + signal for a child killed by one
  double seconds = 0;
  int64_t peak_rss_bytes = 0;
};

// fork + exec with stdout and stderr appended to `log`. The child gets SIGTERM when the study
// process dies (PR_SET_PDEATHSIG): a study killed with SIGKILL leaves no orphan training on, and
// the cell resumes from its checkpoint on the next run.
ChildResult run_child(const std::string& executable, const std::vector<std::string>& args,
                      const std::string& log) {
  std::vector<std::string> argv_storage = {executable};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    throw FileError(log, std::string("cannot open the cell's log: ") + strerror(errno));
  const std::string header = "\n[study] " + quoted(args) + "\n";
  (void)!::write(log_fd, header.data(), header.size());
  const pid_t parent = ::getpid();
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw Error(std::string("study: fork failed: ") + strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the study died before prctl
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(executable.c_str(), argv.data());
    const std::string message = "study: cannot run " + executable + ": " + strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    ::_exit(127);
  }
  ::close(log_fd);
  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw Error(std::string("study: wait4 failed: ") + strerror(errno));
  }
  ChildResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
  return r;
}

}  // namespace

std::string StudyPaths::flat(const Cell& cell) const {
  std::string out;
  for (char c : cell.id) out += c == '/' ? std::string("__") : std::string(1, c);
  return out;
}

bool cell_finished(const std::vector<CellStep>& steps) {
  for (const auto& s : steps) {
    if (!core::file_exists(s.out + "/results.json")) return false;
  }
  return true;
}

nlohmann::json read_cell_record(const StudyPaths& paths, const Cell& cell) {
  const std::string path = paths.record(cell);
  if (!core::file_exists(path)) return nullptr;
  try {
    return nlohmann::json::parse(core::read_regular_file(path, 16 << 20));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("not a cell record: ") + e.what());
  }
}

CellRun run_cell(const StudyPaths& paths, const Cell& cell, const std::vector<CellStep>& steps) {
  CellRun run;
  run.log = paths.log(cell);
  if (cell_finished(steps)) {
    run.outcome = CellOutcome::kAlreadyDone;
    return run;
  }
  const CellLock lock(paths.lock(cell));
  if (!lock.held()) {
    run.outcome = CellOutcome::kRunningElsewhere;
    return run;
  }
  // Another process may have finished it between the check and the lock.
  if (cell_finished(steps)) {
    run.outcome = CellOutcome::kAlreadyDone;
    return run;
  }
  std::filesystem::create_directories(std::filesystem::path(run.log).parent_path());
  nlohmann::json record = read_cell_record(paths, cell);
  if (record.is_null()) record = {{"cell", cell.id}, {"commands", nlohmann::json::array()}};
  for (const auto& step : steps) {
    if (core::file_exists(step.out + "/results.json")) continue;
    const bool resume =
        step.kind == CellStep::Kind::kTrain && core::file_exists(step.out + "/run.json");
    const std::vector<std::string> argv = resume ? resume_argv(step) : step.argv;
    // Recorded before it starts, so a study killed meanwhile leaves the command in the record
    // with no exit code.
    record["commands"].push_back({{"argv", argv}, {"resumed", resume}, {"exit_code", nullptr}});
    core::atomic_write(paths.record(cell), record.dump(2) + "\n");
    const ChildResult child = run_child(paths.executable, argv, run.log);
    run.seconds += child.seconds;
    record["commands"].back().update({{"exit_code", child.exit_code},
                                      {"seconds", child.seconds},
                                      {"peak_rss_bytes", child.peak_rss_bytes}});
    core::atomic_write(paths.record(cell), record.dump(2) + "\n");
    if (child.exit_code != 0) {
      run.exit_code = child.exit_code;
      run.failed_command = quoted(argv);
      run.outcome = child.exit_code == 130 ? CellOutcome::kInterrupted : CellOutcome::kFailed;
      return run;
    }
  }
  run.outcome = CellOutcome::kDone;
  return run;
}

}  // namespace vlprompt::study
