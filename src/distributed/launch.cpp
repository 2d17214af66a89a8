#include "src/distributed/launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

#include "src/core/error.h"

extern char** environ;

namespace vlprompt::distributed {
namespace {

// A port the kernel has free now on loopback (the rendezvous binds it a moment later).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("--nproc: cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw Error("--nproc: cannot bind a loopback port for the rendezvous");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

}  // namespace

int run_local_ranks(int nproc, const std::vector<std::string>& args) {
  if (nproc < 1) throw Error("--nproc must be at least 1; got " + std::to_string(nproc));
  const int port = free_port();
  std::map<pid_t, int> ranks;
  for (int r = 0; r < nproc; ++r) {
    const auto is_launch_variable = [](const std::string& kv) {
      for (const char* name : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=",
                               "MASTER_PORT=", "LOCAL_WORLD_SIZE="}) {
        if (kv.rfind(name, 0) == 0) return true;
      }
      return false;
    };
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      if (!is_launch_variable(*e)) env_strings.push_back(*e);
    }
    env_strings.push_back("RANK=" + std::to_string(r));
    env_strings.push_back("LOCAL_RANK=" + std::to_string(r));
    env_strings.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env_strings.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    // The machine's cores shared among the ranks, unless the user set the threads.
    if (!std::getenv("OMP_NUM_THREADS")) {
      const long cores = sysconf(_SC_NPROCESSORS_ONLN);
      env_strings.push_back("OMP_NUM_THREADS=" + std::to_string(std::max<long>(1, cores / nproc)));
    }
    env_strings.push_back("MASTER_ADDR=127.0.0.1");
    env_strings.push_back("MASTER_PORT=" + std::to_string(port));
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string self = "/proc/self/exe";
    std::vector<std::string> argv_strings{"vlprompt"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) {
      for (const auto& [p, rank] : ranks) kill(p, SIGTERM);
      throw Error("--nproc: could not start rank " + std::to_string(r));
    }
    ranks[pid] = r;
  }
  int failure = 0;
  while (!ranks.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    const auto it = ranks.find(pid);
    if (it == ranks.end()) continue;
    const int rank = it->second;
    ranks.erase(it);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                       : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code != 0 && failure == 0) {
      failure = code;
      std::cerr << "[vlprompt] --nproc: rank " << rank << " of " << nproc << " exited with status "
                << code << "; stopping the other ranks\n";
      for (const auto& [p, r] : ranks) kill(p, SIGTERM);
    }
  }
  return failure;
}

}  // namespace vlprompt::distributed
