#include "datasets/class_tasks.h"

#include <algorithm>
#include <random>
#include <set>

#include "src/core/error.h"

namespace vlprompt::datasets {

std::vector<int64_t> ClassTasks::seen_through(int64_t t) const {
  std::vector<int64_t> out;
  for (int64_t i = 0; i <= t && i < size(); ++i) {
    out.insert(out.end(), tasks[i].begin(), tasks[i].end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json ClassTasks::to_json(const std::vector<std::string>& classnames) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& task : tasks) {
    nlohmann::json names = nlohmann::json::array();
    for (int64_t c : task) {
      names.push_back(c < static_cast<int64_t>(classnames.size()) ? classnames[c]
                                                                  : std::to_string(c));
    }
    list.push_back({{"classes", task}, {"classnames", names}});
  }
  return {{"order", order}, {"seed", seed}, {"tasks", list}};
}

ClassTasks split_class_tasks(int64_t num_classes, int64_t tasks, const std::string& order,
                             uint64_t seed) {
  if (order != "seeded" && order != "given") {
    throw Error("--task-order must be seeded or given; got '" + order + "'");
  }
  if (tasks < 2) {
    throw Error("--tasks must be at least 2 (a sequence of tasks); got " + std::to_string(tasks));
  }
  if (tasks > num_classes || num_classes % tasks != 0) {
    throw Error("--tasks " + std::to_string(tasks) + " cannot split " +
                std::to_string(num_classes) + " classes into tasks of equal size; choose a " +
                "divisor of " + std::to_string(num_classes));
  }
  std::vector<int64_t> classes(num_classes);
  for (int64_t c = 0; c < num_classes; ++c) classes[c] = c;
  if (order == "seeded") {
    // Fisher-Yates from the top, by one generator of the seed: the same order on every machine
    // (std::shuffle's use of the generator is not specified by the standard).
    std::mt19937_64 generator(seed);
    for (int64_t i = num_classes - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(generator() % static_cast<uint64_t>(i + 1));
      std::swap(classes[i], classes[j]);
    }
  }
  ClassTasks out{order, seed, {}};
  const int64_t per = num_classes / tasks;
  for (int64_t t = 0; t < tasks; ++t) {
    std::vector<int64_t> task(classes.begin() + t * per, classes.begin() + (t + 1) * per);
    std::sort(task.begin(), task.end());
    out.tasks.push_back(task);
  }
  return out;
}

DatasetSplit keep_classes(const DatasetSplit& split, const std::vector<int64_t>& classes) {
  const std::set<int64_t> keep(classes.begin(), classes.end());
  DatasetSplit out = split;
  out.items.clear();
  for (const auto& r : split.items) {
    if (keep.count(r.label)) out.items.push_back(r);
  }
  return out;
}

}  // namespace vlprompt::datasets
