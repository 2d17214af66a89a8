// `vlprompt train --nproc N`: torchrun's --nproc-per-node on one machine. Starts N copies of this
// executable with the same arguments and RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and
// a free MASTER_PORT set, waits for all, and when one fails stops the others.
#pragma once

#include <string>
#include <vector>

namespace vlprompt::distributed {

// `args`: the arguments every rank gets (without --nproc). Returns 0 when every rank exited 0,
// else the first failure's status (128 + signal for a killed rank), after naming it on stderr.
int run_local_ranks(int nproc, const std::vector<std::string>& args);

}  // namespace vlprompt::distributed
