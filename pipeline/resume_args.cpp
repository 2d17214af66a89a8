#include "pipeline/resume_args.h"

#include <algorithm>
#include <filesystem>

#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::pipeline {
namespace {

// "--target-max" -> "target_max", the option's key in run.json.
std::string json_key(const std::string& option) {
  std::string key = option.rfind("--", 0) == 0 ? option.substr(2) : option;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ec;
  const auto ca = std::filesystem::weakly_canonical(a, ec);
  const auto cb = std::filesystem::weakly_canonical(b, ec);
  return ca == cb;
}

}  // namespace

TrainArgs read_run_json(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(core::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("not valid JSON (expected the run's arguments, written by "
                                      "vlprompt train): ") +
                              e.what());
  }
  if (!j.is_object()) throw FileError(path, "expected a JSON object of the run's arguments");
  return TrainArgs::from_json(j, path);
}

void check_resume_arguments(const TrainArgs& given, const std::vector<std::string>& given_options,
                            const TrainArgs& saved, const std::string& run_dir,
                            const std::string& run_json) {
  static const std::vector<std::string> kMayChange = {"--resume", "--device", "--data-root",
                                                      "--target-data-root", "--help"};
  const nlohmann::json now = given.to_json(), then = saved.to_json();
  for (const std::string& option : given_options) {
    if (std::find(kMayChange.begin(), kMayChange.end(), option) != kMayChange.end()) continue;
    if (option == "--out") {
      if (same_folder(given.out, run_dir)) continue;
      throw Error("train --resume " + run_dir + ": --out is '" + given.out +
                  "', but a resumed run stays in its folder '" + run_dir +
                  "'; drop --out, or start a new run there without --resume");
    }
    const std::string key = json_key(option);
    if (!now.contains(key) || !then.contains(key)) {
      throw Error("train --resume " + run_dir + ": " + option +
                  " cannot be given with --resume (the run's arguments are in " + run_json + ")");
    }
    if (now[key] == then[key]) continue;
    throw FileError(run_json, "train --resume: " + option + " is " + now[key].dump() +
                                  " on the command line but " + then[key].dump() +
                                  " in this run; a resumed run keeps the arguments it started "
                                  "with (drop " +
                                  option + ", or start a new run with another --out)");
  }
}

}  // namespace vlprompt::pipeline
