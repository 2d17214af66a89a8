#include "pipeline/train_args.h"

#include "src/core/error.h"

namespace vlprompt::pipeline {

nlohmann::json TrainArgs::to_json() const {
  return {{"method", method},
          {"model", model.model},
          {"vocab", model.vocab},
          {"init_seed", model.seed},
          {"dataset", dataset},
          {"data_root", data_root},
          {"subsample", subsample},
          {"config", config_file},
          {"out", out},
          {"device", device},
          {"overrides", overrides},
          {"shots", shots},
          {"seed", seed},
          {"no_augment", no_augment},
          {"aug_views", aug_views},
          {"eval_batch_size", eval_batch_size},
          {"init_delta", init_delta},
          {"freeze_init", freeze_init},
          {"target", target},
          {"target_data_root", target_data_root},
          {"target_max", target_max},
          {"task", task},
          {"tasks", tasks},
          {"task_order", task_order}};
}

TrainArgs TrainArgs::from_json(const nlohmann::json& j, const std::string& where) {
  TrainArgs a;
  try {
    a.method = j.at("method");
    a.model.model = j.at("model");
    a.model.vocab = j.at("vocab");
    a.model.seed = j.at("init_seed");
    a.dataset = j.at("dataset");
    a.data_root = j.at("data_root");
    a.subsample = j.at("subsample");
    a.config_file = j.at("config");
    a.out = j.at("out");
    a.device = j.at("device");
    a.overrides = j.at("overrides").get<std::vector<std::string>>();
    a.shots = j.at("shots");
    a.seed = j.at("seed");
    a.no_augment = j.at("no_augment");
    a.aug_views = j.at("aug_views");
    a.eval_batch_size = j.at("eval_batch_size");
    // Runs made before sequential composition have neither key.
    a.init_delta = j.value("init_delta", std::string());
    a.freeze_init = j.value("freeze_init", false);
    // Runs made before domain adaptation have none of these.
    a.target = j.value("target", std::string());
    a.target_data_root = j.value("target_data_root", std::string());
    a.target_max = j.value("target_max", int64_t{0});
    a.task = j.value("task", std::string("classify"));  // runs made before text LMs
    a.tasks = j.value("tasks", int64_t{0});             // ... before continual runs
    a.task_order = j.value("task_order", std::string("seeded"));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(where, std::string("not a vlprompt run.json: ") + e.what());
  }
  return a;
}

}  // namespace vlprompt::pipeline
