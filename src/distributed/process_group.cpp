#include "src/distributed/process_group.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "src/core/error.h"

namespace vlprompt::distributed {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

int64_t env_integer(const char* name, int64_t min, int64_t max, std::optional<int64_t> fallback) {
  const std::optional<std::string> v = env(name);
  if (!v) {
    if (fallback) return *fallback;
    throw Error(std::string("distributed launch: ") + name +
                " is not set (RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT go together, as "
                "torchrun sets them)");
  }
  char* end = nullptr;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (*end != '\0' || n < min || n > max) {
    throw Error(std::string("distributed launch: ") + name + "='" + *v +
                "'; expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                "]");
  }
  return n;
}

class GlooCollective : public engine::Collective {
 public:
  GlooCollective(c10::intrusive_ptr<c10d::ProcessGroupGloo> group, int64_t rank, int64_t world)
      : group_(std::move(group)), rank_(rank), world_(world) {}
  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return world_; }
  void all_reduce_sum(at::Tensor& flat) override {
    std::vector<at::Tensor> tensors{flat};
    try {
      group_->allreduce(tensors)->wait();
    } catch (const std::exception& e) {
      throw Error("distributed: rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
                  " lost the others during an all-reduce (a rank died, or stalled past the "
                  "timeout): " +
                  first_line(e.what()));
    }
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  int64_t rank_, world_;
};

}  // namespace

std::optional<LaunchEnvironment> launch_environment() {
  if (!env("RANK") && !env("WORLD_SIZE")) return std::nullopt;
  LaunchEnvironment e;
  e.world_size = env_integer("WORLD_SIZE", 1, 1 << 16, std::nullopt);
  e.rank = env_integer("RANK", 0, e.world_size - 1, std::nullopt);
  e.local_rank = env_integer("LOCAL_RANK", 0, e.world_size - 1, e.rank);
  if (e.world_size > 1) {
    e.master_addr = env("MASTER_ADDR").value_or("");
    if (e.master_addr.empty()) {
      throw Error("distributed launch: MASTER_ADDR is not set (the host of rank 0)");
    }
    e.master_port = env_integer("MASTER_PORT", 1, 65535, std::nullopt);
  }
  return e;
}

std::shared_ptr<engine::Collective> join_group(const LaunchEnvironment& e,
                                               std::chrono::seconds timeout) {
  if (const auto t = env("VLPROMPT_DIST_TIMEOUT_S")) {
    timeout = std::chrono::seconds(env_integer("VLPROMPT_DIST_TIMEOUT_S", 1, 86400, std::nullopt));
  }
  const std::string where = e.master_addr + ":" + std::to_string(e.master_port);
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(e.master_port);
    o.isServer = e.rank == 0;
    o.numWorkers = static_cast<size_t>(e.world_size);
    o.waitWorkers = true;
    o.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(e.master_addr, o);
  } catch (const std::exception& ex) {
    throw Error("distributed: rank " + std::to_string(e.rank) + " could not meet the others at " +
                where + " (MASTER_ADDR:MASTER_PORT) within " + std::to_string(timeout.count()) +
                " s: " + GlooCollective::first_line(ex.what()));
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(
        e.master_addr == "localhost" ? "127.0.0.1" : e.master_addr));
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, e.rank, e.world_size, options);
    return std::make_shared<GlooCollective>(group, e.rank, e.world_size);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error("distributed: rank " + std::to_string(e.rank) + " could not form the Gloo group " +
                "through " + where + ": " + GlooCollective::first_line(ex.what()));
  }
}

}  // namespace vlprompt::distributed
