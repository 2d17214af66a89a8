// The class-incremental protocol's tasks: a dataset's classes split into T disjoint tasks of
// equal size, learned one after the other (Split CIFAR-100 10 x 10, Split Fashion-MNIST 5 x 2).
// Labels stay the dataset's own across tasks: task t holds some of the C classes, and a model
// classifies among every class seen so far.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace vlprompt::datasets {

struct ClassTasks {
  // "seeded": the classes shuffled by the run seed (the L2P code's `shuffle` with its seed),
  // then cut in order; "given": the dataset's own label order.
  std::string order;
  uint64_t seed = 0;
  std::vector<std::vector<int64_t>> tasks;  // the class ids of each task, ascending

  int64_t size() const { return static_cast<int64_t>(tasks.size()); }
  // The classes of tasks 0..t, ascending.
  std::vector<int64_t> seen_through(int64_t t) const;
  nlohmann::json to_json(const std::vector<std::string>& classnames) const;
};

// T tasks of C / T classes each. Errors: T < 2, T > C, C not a multiple of T (each names the
// numbers), an order other than seeded | given.
ClassTasks split_class_tasks(int64_t num_classes, int64_t tasks, const std::string& order,
                             uint64_t seed);

// The items of `split` whose label is one of `classes`, labels and class names unchanged.
DatasetSplit keep_classes(const DatasetSplit& split, const std::vector<int64_t>& classes);

}  // namespace vlprompt::datasets
