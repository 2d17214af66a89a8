// Data-parallel runs on PyTorch's c10d, launched as torchrun and SLURM launch: every process
// reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them a run is one
// process. The processes meet at a c10d::TCPStore on MASTER_ADDR:MASTER_PORT (rank 0 serves it)
// and talk through c10d::ProcessGroupGloo (CPU tensors); a rank that dies or stalls makes the
// others fail with an Error naming the group within the timeout, never hang.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "src/engine/collective.h"

namespace vlprompt::distributed {

struct LaunchEnvironment {
  int64_t rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;
  int64_t master_port = 0;
};

// The launch variables, or nullopt when RANK and WORLD_SIZE are both unset (one process). A
// partial or malformed set is an Error naming the variable and its value.
std::optional<LaunchEnvironment> launch_environment();

// Joins the group; the Error for an unreachable MASTER_ADDR:MASTER_PORT names both. `timeout`
// bounds the rendezvous and every collective; $VLPROMPT_DIST_TIMEOUT_S (seconds) overrides it.
std::shared_ptr<engine::Collective> join_group(const LaunchEnvironment& env,
                                               std::chrono::seconds timeout);

}  // namespace vlprompt::distributed
