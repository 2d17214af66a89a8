#include "src/engine/run_records.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"

namespace vlprompt::engine {
namespace {

using nlohmann::json;

const json& field(const json& j, const std::string& key, const std::string& file) {
  if (!j.is_object() || !j.contains(key)) {
    throw FileError(file, "no '" + key + "' in this results.json");
  }
  return j[key];
}

template <class T>
T typed(const json& j, const std::string& key, const std::string& file) {
  const json& v = field(j, key, file);
  try {
    return v.get<T>();
  } catch (const json::exception&) {
    throw FileError(file, "'" + key + "' is " + v.dump() + ", of the wrong type");
  }
}

std::map<std::string, std::string> without_seed(const json& hyperparameters) {
  std::map<std::string, std::string> out;
  if (!hyperparameters.is_object()) return out;
  for (const auto& [k, v] : hyperparameters.items()) {
    // A stack's members each have one ("coop.seed"): all follow the run seed.
    const bool seed = k == "seed" || (k.size() > 5 && k.compare(k.size() - 5, 5, ".seed") == 0);
    if (!seed) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

// A train run's results.json does not repeat the delta's hyper-parameters; its delta file does.
std::map<std::string, std::string> train_settings(const std::string& results_file) {
  const auto delta = std::filesystem::path(results_file).parent_path() / "delta.safetensors";
  if (!std::filesystem::exists(delta)) return {};
  core::Metadata metadata;
  core::read_safetensors_header(delta.string(), &metadata);
  auto it = metadata.find("hyperparameters");
  if (it == metadata.end()) return {};
  try {
    return without_seed(json::parse(it->second));
  } catch (const json::exception& e) {
    throw FileError(delta.string(), std::string("metadata 'hyperparameters': ") + e.what());
  }
}

}  // namespace

RunRecord read_run_record(const std::string& path) {
  std::string file = path;
  if (std::filesystem::is_directory(path)) {
    file = (std::filesystem::path(path) / "results.json").string();
    if (!std::filesystem::exists(file)) {
      throw FileError(file, "missing: the run has not finished (or this is not a run folder)");
    }
  } else if (!std::filesystem::exists(path)) {
    throw FileError(path, "no such run folder or results.json");
  }
  json j;
  try {
    j = json::parse(core::read_file(file));
  } catch (const json::exception& e) {
    throw FileError(file, std::string("not valid JSON: ") + e.what());
  }
  RunRecord r;
  r.file = file;
  r.command = j.is_object() ? j.value("command", std::string()) : "";
  if (r.command != "train" && r.command != "eval") {
    throw FileError(file, "'command' is '" + r.command +
                              "'; only the results.json of train and eval runs can be summarized");
  }
  r.dataset = typed<std::string>(j, "dataset", file);
  r.trained_on = j.value("trained_on", r.dataset);
  r.backbone = typed<std::string>(field(j, "model", file), "architecture", file);
  r.method = typed<std::string>(j, "method", file);
  r.settings = r.command == "eval"
                   ? without_seed(field(j, "delta", file).value("hyperparameters", json()))
                   : train_settings(file);
  if (j.value("task", std::string()) == "lm") {
    throw FileError(file,
                    "a causal-LM run (perplexity, no top-1); summarize averages the top-1 of "
                    "classification runs");
  }
  r.subsample = typed<std::string>(j, "subsample", file);
  r.shots = typed<int64_t>(j, "shots", file);
  r.seed = typed<int64_t>(j, "seed", file);
  r.test_top1 = typed<double>(field(j, "test", file), "top1", file);
  // Image runs compare with the dataset's hand-written prompt; text-LM runs with the zero-prompt
  // model on the same template.
  const char* baseline = j.contains("zero_prompt") ? "zero_prompt" : "zeroshot_manual";
  r.manual_top1 = typed<double>(field(j, baseline, file), "top1", file);
  return r;
}

std::vector<std::string> method_labels(const std::vector<RunRecord>& records) {
  // Per method: the settings keys whose value is not the same in every record of it (a key
  // some records lack varies too).
  std::map<std::string, std::map<std::string, std::set<std::string>>> values;
  std::map<std::string, std::map<std::string, size_t>> holders;
  std::map<std::string, size_t> count;
  for (const auto& r : records) {
    ++count[r.method];
    for (const auto& [k, v] : r.settings) {
      values[r.method][k].insert(v);
      ++holders[r.method][k];
    }
  }
  std::vector<std::string> labels;
  for (const auto& r : records) {
    std::string varying;
    for (const auto& [k, seen] : values[r.method]) {
      if (seen.size() < 2 && holders[r.method][k] == count[r.method]) continue;
      auto it = r.settings.find(k);
      varying +=
          (varying.empty() ? "" : " ") + k + "=" + (it == r.settings.end() ? "?" : it->second);
    }
    std::string label = r.method + (varying.empty() ? "" : " [" + varying + "]");
    if (!r.trained_on.empty() && r.trained_on != r.dataset) label += " (from " + r.trained_on + ")";
    labels.push_back(label);
  }
  return labels;
}

}  // namespace vlprompt::engine
