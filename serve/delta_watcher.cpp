#include "serve/delta_watcher.h"

#include <iostream>

#include "src/core/error.h"

namespace vlprompt::serve {

namespace fs = std::filesystem;

DeltaWatcher::DeltaWatcher(std::string dir, int64_t interval_ms, DeltaRegistry& registry,
                           FrozenModels models, Metrics* metrics, std::set<std::string> fixed)
    : dir_(std::move(dir)),
      interval_ms_(interval_ms),
      registry_(registry),
      models_(models),
      metrics_(metrics),
      fixed_(std::move(fixed)) {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) throw FileError(dir_, "--delta-dir is not a folder");
  scan();
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (
        !wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stopping_; })) {
      lock.unlock();
      scan();
      lock.lock();
    }
  });
}

DeltaWatcher::~DeltaWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeltaWatcher::scan() {
  std::map<std::string, std::pair<std::string, Seen>> present;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".safetensors" || !it->is_regular_file(ec)) continue;
    const std::string name = p.stem().string();
    Seen seen{fs::last_write_time(p, ec), fs::file_size(p, ec)};
    if (ec) continue;  // vanished between listing and stat: the next poll sees it
    present[name] = {p.string(), seen};
  }
  for (const auto& [name, entry] : present) {
    const auto& [path, now] = entry;
    const auto it = seen_.find(name);
    if (it != seen_.end() && it->second.mtime == now.mtime && it->second.bytes == now.bytes)
      continue;
    seen_[name] = now;
    try {
      check_delta_name(name, path);
      if (fixed_.count(name))
        throw Error(path + ": delta '" + name +
                    "' is given with --delta; the folder cannot replace it");
      registry_.put(load_served_delta(name, path, models_));
      loaded_.insert(name);
      if (metrics_) metrics_->count_reload("loaded");
      std::cerr << "[vlprompt serve] loaded delta '" << name << "' from " << path << "\n";
    } catch (const std::exception& e) {
      if (metrics_) metrics_->count_reload("failed");
      std::cerr << "[vlprompt serve] cannot load " << path << ": " << e.what() << "\n";
    }
  }
  for (auto it = seen_.begin(); it != seen_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    if (loaded_.erase(it->first)) {
      registry_.remove(it->first);
      if (metrics_) metrics_->count_reload("removed");
      std::cerr << "[vlprompt serve] dropped delta '" << it->first << "' (file removed)\n";
    }
    it = seen_.erase(it);
  }
}

}  // namespace vlprompt::serve
