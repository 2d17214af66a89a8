// --delta-dir: every NAME.safetensors in the folder is served as delta NAME, and the folder is
// polled: a file added or replaced (its modification time or size changed) is loaded and swapped
// in, a file removed is dropped. Requests already holding the old delta finish on it. A file that
// fails to load (half-written, another model's) is reported and retried once it changes again;
// the delta it would replace stays. Write new versions under another name and rename them into
// place, so a poll never sees half a file.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "serve/metrics.h"
#include "serve/served_delta.h"

namespace vlprompt::serve {

class DeltaWatcher {
 public:
  // Scans once before returning (so the folder's deltas are served from the start), then polls
  // every `interval_ms`. `fixed` names deltas given with --delta, which the folder cannot replace.
  DeltaWatcher(std::string dir, int64_t interval_ms, DeltaRegistry& registry, FrozenModels models,
               Metrics* metrics, std::set<std::string> fixed);
  ~DeltaWatcher();

  void scan();

 private:
  struct Seen {
    std::filesystem::file_time_type mtime;
    std::uintmax_t bytes = 0;
  };
  std::string dir_;
  int64_t interval_ms_;
  DeltaRegistry& registry_;
  FrozenModels models_;
  Metrics* metrics_;
  std::set<std::string> fixed_;
  std::map<std::string, Seen> seen_;  // by name: the version last tried (loaded or not)
  std::set<std::string> loaded_;      // names this watcher put in the registry

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vlprompt::serve
