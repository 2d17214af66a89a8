// The class-incremental task split: disjoint tasks covering every class, seeded or in the given
// order, the same for the same seed, and clear errors for splits that cannot be equal.
#include "datasets/class_tasks.h"

#include <gtest/gtest.h>

#include <set>

#include "src/core/error.h"

namespace vlprompt::datasets {
namespace {

TEST(ClassTasks, GivenOrderCutsTheLabelsInOrder) {
  const ClassTasks t = split_class_tasks(10, 5, "given", 3);
  ASSERT_EQ(t.size(), 5);
  EXPECT_EQ(t.tasks[0], (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(t.tasks[4], (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(t.seen_through(1), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(ClassTasks, SeededOrderIsAPartitionThatDependsOnTheSeedOnly) {
  const ClassTasks a = split_class_tasks(100, 10, "seeded", 1);
  const ClassTasks b = split_class_tasks(100, 10, "seeded", 1);
  const ClassTasks c = split_class_tasks(100, 10, "seeded", 2);
  EXPECT_EQ(a.tasks, b.tasks);
  EXPECT_NE(a.tasks, c.tasks);
  std::set<int64_t> all;
  for (const auto& task : a.tasks) {
    EXPECT_EQ(task.size(), 10u);
    all.insert(task.begin(), task.end());
  }
  EXPECT_EQ(all.size(), 100u);
  EXPECT_NE(a.tasks[0], (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ClassTasks, UnequalOrTooFewTasksAreErrorsNamingTheNumbers) {
  try {
    split_class_tasks(10, 3, "given", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--tasks 3 cannot split 10 classes"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(split_class_tasks(10, 1, "given", 1), Error);
  EXPECT_THROW(split_class_tasks(10, 2, "shuffled", 1), Error);
}

TEST(ClassTasks, KeepClassesKeepsLabelsAndNames) {
  DatasetSplit split;
  split.classnames = {"a", "b", "c"};
  for (int64_t l : {0, 1, 2, 1, 0}) split.items.push_back({"", {}, l, ""});
  const DatasetSplit kept = keep_classes(split, {1, 2});
  ASSERT_EQ(kept.items.size(), 3u);
  EXPECT_EQ(kept.items[0].label, 1);
  EXPECT_EQ(kept.items[1].label, 2);
  EXPECT_EQ(kept.classnames.size(), 3u);
}

}  // namespace
}  // namespace vlprompt::datasets
