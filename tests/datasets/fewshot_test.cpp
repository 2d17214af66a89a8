#include "datasets/fewshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "datasets/split_file.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::datasets {
namespace {

// A split of file records, class-major as the loaders list them: class c has counts[c] items
// "<root>/c<c>/<split><1000 + i>.jpg" (so path order is index order).
DatasetSplit toy_split(const std::vector<int>& counts, const std::string& split = "train",
                       const std::string& root = "/data/toy") {
  DatasetSplit s;
  s.dataset = "toy";
  s.split = split;
  s.root = root;
  for (size_t c = 0; c < counts.size(); ++c) {
    s.classnames.push_back("class " + std::to_string(c));
    for (int i = 0; i < counts[c]; ++i) {
      ImageRecord r;
      r.path = root + "/c" + std::to_string(c) + "/" + split + std::to_string(1000 + i) + ".jpg";
      r.label = static_cast<int64_t>(c);
      s.items.push_back(r);
    }
  }
  return s;
}

std::map<int64_t, int> per_class(const DatasetSplit& s) {
  std::map<int64_t, int> n;
  for (const auto& r : s.items) ++n[r.label];
  return n;
}

std::string fresh_path(const std::string& name) {
  const std::string path = testing::scratch_dir("fewshot") + "/" + name;
  std::filesystem::remove(path);
  return path;
}

TEST(FewShot, SameSeedGivesIdenticalFilesOtherSeedDiffers) {
  const DatasetSplit train = toy_split({30, 30, 30, 30, 30});
  const std::string a = fresh_path("a.json"), b = fresh_path("b.json"), c = fresh_path("c.json");
  const FewShotSplits fa = load_or_create_fewshot(a, train, nullptr, 8, 1);
  load_or_create_fewshot(b, train, nullptr, 8, 1);
  load_or_create_fewshot(c, train, nullptr, 8, 2);
  EXPECT_EQ(core::read_file(a), core::read_file(b));
  EXPECT_NE(core::read_file(a), core::read_file(c));
  // The file names the same items the call returned, relative to the root.
  const FewShotSplitFile file = read_split_file(a);
  ASSERT_EQ(file.train.size(), fa.train.items.size());
  EXPECT_EQ("/data/toy/" + file.train[0].key, fa.train.items[0].path);
  EXPECT_EQ(file.content_hash, fa.content_hash);
  EXPECT_EQ(file.val_source, "train");
}

TEST(FewShot, ExactlyKPerClassAndCarvedValDisjointFromTrain) {
  const DatasetSplit train = toy_split({30, 20, 25});
  const FewShotSplits fs = sample_fewshot(train, nullptr, 16, 3);
  EXPECT_EQ(per_class(fs.train), (std::map<int64_t, int>{{0, 16}, {1, 16}, {2, 16}}));
  EXPECT_EQ(per_class(fs.val), (std::map<int64_t, int>{{0, 4}, {1, 4}, {2, 4}}));
  std::set<std::string> train_paths;
  for (const auto& r : fs.train.items) train_paths.insert(r.path);
  for (const auto& r : fs.val.items) EXPECT_EQ(train_paths.count(r.path), 0u) << r.path;
  EXPECT_EQ(fs.train.split, "train");
  EXPECT_EQ(fs.val.split, "val");
  EXPECT_TRUE(fs.warnings.empty());
  // Sorted output: the loader's order is kept.
  for (size_t i = 1; i < fs.train.items.size(); ++i) {
    EXPECT_LT(fs.train.items[i - 1].path, fs.train.items[i].path);
  }
}

// Golden draw, computed independently (a Python mt19937_64 + the same Fisher-Yates and
// rejection rule): guards that the split never depends on the standard library or platform.
TEST(FewShot, DrawMatchesGoldenIndices) {
  DatasetSplit train = toy_split({6, 5, 7});
  for (auto& r : train.items) r.path.clear();  // in-memory items: keys are "#<index>"
  const FewShotSplits fs = sample_fewshot(train, nullptr, 2, 7);
  const std::string path = fresh_path("golden.json");
  load_or_create_fewshot(path, train, nullptr, 2, 7);
  const FewShotSplitFile file = read_split_file(path);
  std::vector<std::string> train_keys, val_keys;
  for (const auto& e : file.train) train_keys.push_back(e.key);
  for (const auto& e : file.val) val_keys.push_back(e.key);
  EXPECT_EQ(train_keys, (std::vector<std::string>{"#1", "#5", "#6", "#8", "#13", "#17"}));
  EXPECT_EQ(val_keys, (std::vector<std::string>{"#2", "#4", "#7", "#10", "#14", "#16"}));
  EXPECT_EQ(fs.train.items.size(), 6u);
}

TEST(FewShot, ValComesFromTheDatasetsValSplit) {
  const DatasetSplit train = toy_split({20, 20});
  const DatasetSplit val = toy_split({10, 3}, "val");
  const std::string path = fresh_path("with_val.json");
  const FewShotSplits fs = load_or_create_fewshot(path, train, &val, 8, 1);
  EXPECT_EQ(per_class(fs.val), (std::map<int64_t, int>{{0, 4}, {1, 3}}));
  for (const auto& r : fs.val.items) EXPECT_NE(r.path.find("/val"), std::string::npos) << r.path;
  ASSERT_EQ(fs.warnings.size(), 1u);
  EXPECT_NE(fs.warnings[0].find("class 1"), std::string::npos) << fs.warnings[0];
  EXPECT_EQ(read_split_file(path).val_source, "val");
  // Reused on a second call: same items, file untouched.
  const std::string before = core::read_file(path);
  const FewShotSplits again = load_or_create_fewshot(path, train, &val, 8, 1);
  EXPECT_EQ(core::read_file(path), before);
  ASSERT_EQ(again.val.items.size(), fs.val.items.size());
  for (size_t i = 0; i < fs.val.items.size(); ++i) {
    EXPECT_EQ(again.val.items[i].path, fs.val.items[i].path);
  }
}

TEST(FewShot, SmallClassTakesAllAndTheFileRecordsAWarning) {
  const DatasetSplit train = toy_split({20, 3, 20});
  const std::string path = fresh_path("small.json");
  const FewShotSplits fs = load_or_create_fewshot(path, train, nullptr, 4, 1);
  EXPECT_EQ(per_class(fs.train), (std::map<int64_t, int>{{0, 4}, {1, 3}, {2, 4}}));
  EXPECT_EQ(per_class(fs.val), (std::map<int64_t, int>{{0, 4}, {2, 4}}));
  const FewShotSplitFile file = read_split_file(path);
  ASSERT_EQ(file.warnings.size(), 2u);  // too few shots, and none left for val
  EXPECT_NE(file.warnings[0].find("class 1 'class 1' has 3 train items, fewer than 4"),
            std::string::npos)
      << file.warnings[0];
}

TEST(FewShot, InMemoryItemsResolveToTheSameRecords) {
  DatasetSplit train = toy_split({10, 10});
  for (auto& r : train.items) {
    r.path.clear();
    r.pixels = at::full({2, 2, 3}, static_cast<int64_t>(r.label), at::kByte);
  }
  const std::string path = fresh_path("memory.json");
  load_or_create_fewshot(path, train, nullptr, 2, 5);
  const FewShotSplits fs = load_or_create_fewshot(path, train, nullptr, 2, 5);
  ASSERT_EQ(fs.train.items.size(), 4u);
  for (const auto& r : fs.train.items) {
    ASSERT_TRUE(r.pixels.defined());
    EXPECT_EQ(r.pixels[0][0][0].item<int64_t>(), r.label);
  }
}

TEST(FewShot, MismatchedFileNamesTheFileAndTheKey) {
  const DatasetSplit train = toy_split({10, 10});
  const std::string path = fresh_path("mismatch.json");
  load_or_create_fewshot(path, train, nullptr, 4, 1);
  auto message_of = [&](auto call) {
    try {
      call();
    } catch (const FileError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string seed_msg =
      message_of([&] { load_or_create_fewshot(path, train, nullptr, 4, 2); });
  EXPECT_NE(seed_msg.find(path), std::string::npos) << seed_msg;
  EXPECT_NE(seed_msg.find("key 'seed' is 1"), std::string::npos) << seed_msg;
  const std::string shots_msg =
      message_of([&] { load_or_create_fewshot(path, train, nullptr, 8, 1); });
  EXPECT_NE(shots_msg.find("key 'shots' is 4"), std::string::npos) << shots_msg;
  DatasetSplit other = train;
  other.dataset = "other";
  const std::string ds_msg =
      message_of([&] { load_or_create_fewshot(path, other, nullptr, 4, 1); });
  EXPECT_NE(ds_msg.find("key 'dataset' is 'toy'"), std::string::npos) << ds_msg;
  const DatasetSplit val = toy_split({5, 5}, "val");
  const std::string val_msg = message_of([&] { load_or_create_fewshot(path, train, &val, 4, 1); });
  EXPECT_NE(val_msg.find("key 'val_source'"), std::string::npos) << val_msg;
}

TEST(FewShot, EditedFileAndMissingItemsAreRefused) {
  const DatasetSplit train = toy_split({10, 10});
  const std::string path = fresh_path("edited.json");
  load_or_create_fewshot(path, train, nullptr, 2, 1);
  FewShotSplitFile file = read_split_file(path);
  std::string text = core::read_file(path);
  const std::string first = "\"" + file.train[0].key + "\"";
  text.replace(text.find(first), first.size(), "\"c0/elsewhere.jpg\"");
  core::atomic_write(path, text);
  try {
    read_split_file(path);
    FAIL() << "an edited file was accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("content_hash"), std::string::npos) << e.what();
  }
  // A consistent file that names an item the dataset lacks.
  file.train[0].key = "c0/elsewhere.jpg";
  write_split_file(path, file);
  try {
    load_or_create_fewshot(path, train, nullptr, 2, 1);
    FAIL() << "a missing item was accepted";
  } catch (const FileError& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         ": 'train' entry 0 'c0/elsewhere.jpg' is not an item of "
                                         "the train split of 'toy' (root /data/toy)");
  }
}

// Unlike text records, images may repeat a file: its key names the first of its items.
TEST(FewShot, ARepeatedImagePathIsNotAnError) {
  DatasetSplit train = toy_split({4, 4});
  train.items[3].path = train.items[2].path;
  const FewShotSplits fs = sample_fewshot(train, nullptr, 4, 1);
  EXPECT_EQ(per_class(fs.train), (std::map<int64_t, int>{{0, 4}, {1, 4}}));
  EXPECT_EQ(fs.train.items[3].path, train.items[2].path);
}

TEST(FewShot, RejectsZeroShots) {
  EXPECT_THROW(sample_fewshot(toy_split({3}), nullptr, 0, 1), Error);
}

TEST(BaseToNew, TenClassesSplitFiveAndFive) {
  const DatasetSplit all = toy_split({2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, "test");
  const DatasetSplit base = subsample_classes(all, "base");
  const DatasetSplit novel = subsample_classes(all, "new");
  ASSERT_EQ(base.classnames.size(), 5u);
  ASSERT_EQ(novel.classnames.size(), 5u);
  for (int64_t y = 0; y < 5; ++y) {
    EXPECT_EQ(base.classnames[y], "class " + std::to_string(y));
    EXPECT_EQ(novel.classnames[y], "class " + std::to_string(y + 5));
  }
  ASSERT_EQ(base.items.size(), 10u);
  ASSERT_EQ(novel.items.size(), 10u);
  for (const auto& r : base.items) {
    EXPECT_EQ(r.path.find("/data/toy/c" + std::to_string(r.label) + "/"), 0u) << r.path;
  }
  for (const auto& r : novel.items) {
    EXPECT_GE(r.label, 0);
    EXPECT_LT(r.label, 5);
    EXPECT_EQ(r.path.find("/data/toy/c" + std::to_string(r.label + 5) + "/"), 0u) << r.path;
  }
  EXPECT_EQ(subsample_classes(all, "all").items.size(), 20u);
  EXPECT_THROW(subsample_classes(all, "novel"), Error);
}

TEST(BaseToNew, OddClassCountGivesBaseTheExtraClass) {
  const DatasetSplit all = toy_split({1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(subsample_classes(all, "base").classnames.size(), 4u);
  EXPECT_EQ(subsample_classes(all, "new").classnames.size(), 3u);
  EXPECT_EQ(subsample_classes(all, "new").classnames[0], "class 4");
}

TEST(BaseToNew, HarmonicMean) {
  EXPECT_DOUBLE_EQ(harmonic_mean(80.0, 60.0), 2.0 * 80 * 60 / 140);
  EXPECT_DOUBLE_EQ(harmonic_mean(50.0, 50.0), 50.0);
  EXPECT_DOUBLE_EQ(harmonic_mean(0.0, 0.0), 0.0);
}

}  // namespace
}  // namespace vlprompt::datasets
