#include "src/engine/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::engine {
namespace {

namespace fs = std::filesystem;

constexpr int kFormatVersion = 1;
constexpr char kIndexFile[] = "checkpoint.json";
// Tensor name prefixes inside the state file.
constexpr char kMethodPrefix[] = "method/";
constexpr char kOptimizerPrefix[] = "optimizer/";
constexpr char kBestPrefix[] = "best/";

std::string state_file_name(int64_t epoch) {
  char name[64];
  std::snprintf(name, sizeof(name), "epoch-%04lld.safetensors", static_cast<long long>(epoch));
  return name;
}

void add_prefixed(core::TensorMap& out, const char* prefix, const core::TensorMap& tensors) {
  for (const auto& [name, tensor] : tensors) out[prefix + name] = tensor;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

void split_state(const std::string& path, const core::TensorMap& all, Checkpoint& out) {
  for (const auto& [name, tensor] : all) {
    if (starts_with(name, kMethodPrefix)) {
      out.method_state[name.substr(sizeof(kMethodPrefix) - 1)] = tensor;
    } else if (starts_with(name, kOptimizerPrefix)) {
      out.optimizer_state[name.substr(sizeof(kOptimizerPrefix) - 1)] = tensor;
    } else if (starts_with(name, kBestPrefix)) {
      out.best_state[name.substr(sizeof(kBestPrefix) - 1)] = tensor;
    } else {
      throw FileError(path, "tensor '" + name + "' belongs to no part of a checkpoint " +
                                "(expected method/, optimizer/ or best/)");
    }
  }
}

// Older tensor files are garbage once checkpoint.json names the new one.
void remove_stale_state_files(const std::string& dir, const std::string& keep) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != keep && starts_with(name, "epoch-") && entry.path().extension() == ".safetensors") {
      fs::remove(entry.path(), ec);
    }
  }
}

Checkpoint parse_index(const std::string& path, const nlohmann::json& j) {
  Checkpoint out;
  if (j.value("format", 0) != kFormatVersion) {
    throw FileError(path, "unsupported checkpoint format " +
                              j.value("format", nlohmann::json()).dump() + "; expected " +
                              std::to_string(kFormatVersion));
  }
  out.method = j.at("method").get<std::string>();
  out.epoch = j.at("epoch").get<int64_t>();
  out.best_epoch = j.at("best_epoch").get<int64_t>();
  out.best_val_top1 = j.at("best_val_top1").get<double>();
  out.options = j.at("options");
  for (const nlohmann::json& record : j.at("history")) {
    out.history.push_back(EpochRecord::from_json(record, path));
  }
  if (static_cast<int64_t>(out.history.size()) != out.epoch) {
    throw FileError(path, "history has " + std::to_string(out.history.size()) +
                              " epochs but the checkpoint is at epoch " +
                              std::to_string(out.epoch));
  }
  return out;
}

}  // namespace

nlohmann::json EpochRecord::to_json() const {
  nlohmann::json j = {{"epoch", epoch},
                      {"lr", lr},
                      {"loss", loss},
                      {"train_acc", train_acc},
                      {"val_top1", val_top1 ? nlohmann::json(*val_top1) : nlohmann::json(nullptr)},
                      {"seconds", seconds},
                      {"steps", steps},
                      {"step_seconds", step_seconds}};
  for (const auto& [key, value] : extra) j[key] = value;
  return j;
}

EpochRecord EpochRecord::from_json(const nlohmann::json& j, const std::string& where) {
  EpochRecord r;
  try {
    r.epoch = j.at("epoch").get<int64_t>();
    r.lr = j.at("lr").get<double>();
    r.loss = j.at("loss").get<double>();
    r.train_acc = j.at("train_acc").get<double>();
    if (!j.at("val_top1").is_null()) r.val_top1 = j.at("val_top1").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.steps = j.value("steps", int64_t{0});
    r.step_seconds = j.value("step_seconds", 0.0);
    for (const auto& [key, value] : j.items()) {
      static const std::set<std::string> kFixed{"epoch",    "lr",      "loss",  "train_acc",
                                                "val_top1", "seconds", "steps", "step_seconds"};
      if (!kFixed.count(key) && value.is_number()) r.extra[key] = value.get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw FileError(where, std::string("bad epoch record ") + j.dump() + ": " + e.what());
  }
  return r;
}

std::string checkpoint_dir(const std::string& run_dir) { return run_dir + "/checkpoint"; }

bool has_checkpoint(const std::string& run_dir) {
  return core::file_exists(checkpoint_dir(run_dir) + "/" + kIndexFile);
}

void save_checkpoint(const std::string& run_dir, const Checkpoint& c) {
  const std::string dir = checkpoint_dir(run_dir);
  const std::string state_file = state_file_name(c.epoch);
  core::TensorMap all;
  add_prefixed(all, kMethodPrefix, c.method_state);
  add_prefixed(all, kOptimizerPrefix, c.optimizer_state);
  add_prefixed(all, kBestPrefix, c.best_state);
  core::write_safetensors(dir + "/" + state_file, all, {{"format", "vlprompt checkpoint"}});

  nlohmann::json history = nlohmann::json::array();
  for (const EpochRecord& r : c.history) history.push_back(r.to_json());
  const nlohmann::json index = {{"format", kFormatVersion},   {"method", c.method},
                                {"epoch", c.epoch},           {"state_file", state_file},
                                {"best_epoch", c.best_epoch}, {"best_val_top1", c.best_val_top1},
                                {"options", c.options},       {"history", history}};
  core::atomic_write(dir + "/" + kIndexFile, index.dump(2) + "\n");
  remove_stale_state_files(dir, state_file);
}

Checkpoint load_checkpoint(const std::string& run_dir) {
  const std::string dir = checkpoint_dir(run_dir);
  const std::string path = dir + "/" + kIndexFile;
  if (!core::file_exists(path)) throw FileError(path, "no checkpoint here to resume from");
  Checkpoint out;
  std::string state_file;
  try {
    const nlohmann::json j = nlohmann::json::parse(core::read_file(path));
    out = parse_index(path, j);
    state_file = j.at("state_file").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("malformed checkpoint index: ") + e.what());
  }
  if (state_file.find('/') != std::string::npos) {
    throw FileError(path, "state_file '" + state_file + "' must be a file name in " + dir);
  }
  const std::string state_path = dir + "/" + state_file;
  split_state(state_path, core::read_safetensors(state_path).tensors, out);
  return out;
}

void write_metrics(const std::string& run_dir, const std::vector<EpochRecord>& history) {
  std::string text;
  for (const EpochRecord& r : history) text += r.to_json().dump() + "\n";
  core::atomic_write(run_dir + "/metrics.jsonl", text);
}

}  // namespace vlprompt::engine
