// Few-shot sampling of text splits: K per class with seeds exactly as the image protocol, the
// split file reused and checked, and the run splits of a text dataset.
#include "datasets/text/text_fewshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "datasets/fewshot.h"
#include "datasets/text/text_run_splits.h"
#include "src/core/file_io.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::datasets::text_fewshot_test {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

// Class-major records "c<c>.txt:<line>" with counts[c] records in class c.
TextSplit toy_text(const std::vector<int>& counts, const std::string& split = "train") {
  TextSplit s;
  s.dataset = "toytext";
  s.split = split;
  for (size_t c = 0; c < counts.size(); ++c) {
    s.classnames.push_back("class" + std::to_string(c));
    for (int i = 0; i < counts[c]; ++i) {
      TextRecord r;
      r.text = "text " + std::to_string(c) + "/" + std::to_string(i);
      r.label = static_cast<int64_t>(c);
      r.key = "c" + std::to_string(c) + ".txt:" + std::to_string(i + 1);
      s.items.push_back(r);
    }
  }
  s.label_words = s.classnames;
  return s;
}

std::map<int64_t, int> per_class(const TextSplit& s) {
  std::map<int64_t, int> n;
  for (const auto& r : s.items) ++n[r.label];
  return n;
}

std::set<std::string> keys(const TextSplit& s) {
  std::set<std::string> out;
  for (const auto& r : s.items) out.insert(r.key);
  return out;
}

std::string fresh_file(const std::string& name) {
  const std::string path = testing::scratch_dir("text_fewshot") + "/" + name;
  std::filesystem::remove(path);
  return path;
}

TEST(TextFewShot, KPerClassValCarvedFromUnpickedTrainWithWarnings) {
  const TextSplit train = toy_text({10, 7, 3});
  const TextFewShotSplits fs = sample_text_fewshot(train, nullptr, 4, 1);
  // class 0: 4 shots + 4 val; class 1: 4 + the 3 left; class 2: all 3, none left for val.
  EXPECT_EQ(per_class(fs.train), (std::map<int64_t, int>{{0, 4}, {1, 4}, {2, 3}}));
  EXPECT_EQ(per_class(fs.val), (std::map<int64_t, int>{{0, 4}, {1, 3}}));
  const auto tr = keys(fs.train);
  for (const auto& k : keys(fs.val)) EXPECT_EQ(tr.count(k), 0u) << k;
  ASSERT_EQ(fs.warnings.size(), 3u);
  EXPECT_EQ(fs.warnings[0],
            "class 1 'class1' has 3 train items left after the shots for val, fewer than 4: took "
            "all of them");
  EXPECT_EQ(fs.warnings[1],
            "class 2 'class2' has 3 train items, fewer than 4 shots: took all of them");
  EXPECT_EQ(fs.train.split, "train");
  EXPECT_EQ(fs.val.split, "val");
  EXPECT_EQ(fs.train.classnames, train.classnames);
  // A record keeps its text with its label.
  for (const auto& r : fs.train.items) {
    EXPECT_EQ(r.text.substr(5, 1), std::to_string(r.label)) << r.key;
  }
}

TEST(TextFewShot, SeedsDifferAndK1GivesOneValPerClass) {
  const TextSplit train = toy_text({20, 20});
  const auto a = sample_text_fewshot(train, nullptr, 2, 1);
  const auto b = sample_text_fewshot(train, nullptr, 2, 2);
  EXPECT_NE(keys(a.train), keys(b.train));
  EXPECT_EQ(keys(a.train), keys(sample_text_fewshot(train, nullptr, 2, 1).train));
  const auto one = sample_text_fewshot(train, nullptr, 1, 3);
  EXPECT_EQ(per_class(one.train), (std::map<int64_t, int>{{0, 1}, {1, 1}}));
  EXPECT_EQ(per_class(one.val), (std::map<int64_t, int>{{0, 1}, {1, 1}}));
  EXPECT_EQ(error_of([&] { sample_text_fewshot(train, nullptr, 0, 1); }),
            "few-shot sampling of 'toytext': shots is 0, expected 1 or more");
}

// The image split with the same labels in the same order: item i is "/img/<1000 + i>.jpg".
DatasetSplit image_twin(const TextSplit& text) {
  DatasetSplit image;
  image.dataset = text.dataset;
  image.split = text.split;
  image.classnames = text.classnames;
  image.root = "/img";
  for (size_t i = 0; i < text.items.size(); ++i) {
    ImageRecord r;
    r.path = "/img/" + std::to_string(1000 + i) + ".jpg";  // index order = path order
    r.label = text.items[i].label;
    image.items.push_back(r);
  }
  return image;
}

// The texts of `source` at the indices an image_twin's picks name.
std::vector<std::string> texts_at(const TextSplit& source, const DatasetSplit& picked) {
  std::vector<std::string> out;
  for (const auto& r : picked.items)
    out.push_back(source.items[std::stoul(r.path.substr(5, 4)) - 1000].text);
  return out;
}

std::vector<std::string> texts_of(const TextSplit& picked) {
  std::vector<std::string> out;
  for (const auto& r : picked.items) out.push_back(r.text);
  return out;
}

TEST(TextFewShot, DrawsTheSameItemsAsTheImageProtocol) {
  const TextSplit text = toy_text({9, 12, 5, 7});
  const DatasetSplit image = image_twin(text);
  for (uint64_t seed : {1u, 2u, 3u}) {
    const auto t = sample_text_fewshot(text, nullptr, 3, seed);
    const auto im = sample_fewshot(image, nullptr, 3, seed);
    EXPECT_EQ(texts_of(t.train), texts_at(text, im.train)) << "seed " << seed;
    EXPECT_EQ(texts_of(t.val), texts_at(text, im.val)) << "seed " << seed;
  }
}

// With a val split of its own, the one generator then shuffles val too: both modalities must
// take the same val items as well.
TEST(TextFewShot, OwnValSplitDrawsTheSameItemsAsTheImageProtocol) {
  const TextSplit text = toy_text({9, 12, 5});
  const TextSplit text_val = toy_text({6, 3, 8}, "val");
  const DatasetSplit image = image_twin(text), image_val = image_twin(text_val);
  for (uint64_t seed : {1u, 2u, 3u}) {
    const auto t = sample_text_fewshot(text, &text_val, 4, seed);
    const auto im = sample_fewshot(image, &image_val, 4, seed);
    EXPECT_EQ(texts_of(t.train), texts_at(text, im.train)) << "seed " << seed;
    EXPECT_EQ(texts_of(t.val), texts_at(text_val, im.val)) << "seed " << seed;
    EXPECT_EQ(t.warnings, im.warnings) << "seed " << seed;
  }
}

TEST(TextFewShot, RepeatedKeysAreRefusedBeforeDrawing) {
  TextSplit train = toy_text({3, 3});
  train.items[4].key = train.items[1].key;
  EXPECT_EQ(error_of([&] { sample_text_fewshot(train, nullptr, 0, 1); }),
            "text dataset 'toytext' split 'train': two records have the key 'c0.txt:2' "
            "(expected unique <file>:<line> keys)");
}

// The image protocol's golden draw (tests/datasets/fewshot_test.cpp, DrawMatchesGoldenIndices:
// classes of 6, 5, 7 items, K = 2, seed 7 -> train #1 #5 #6 #8 #13 #17, val #2 #4 #7 #10 #14
// #16), here as the records at those indices.
TEST(TextFewShot, DrawMatchesTheImageGoldenIndices) {
  const TextSplit train = toy_text({6, 5, 7});
  const auto fs = sample_text_fewshot(train, nullptr, 2, 7);
  std::vector<std::string> train_keys, val_keys;
  for (const auto& r : fs.train.items) train_keys.push_back(r.key);
  for (const auto& r : fs.val.items) val_keys.push_back(r.key);
  EXPECT_EQ(train_keys, (std::vector<std::string>{"c0.txt:2", "c0.txt:6", "c1.txt:1", "c1.txt:3",
                                                  "c2.txt:3", "c2.txt:7"}));
  EXPECT_EQ(val_keys, (std::vector<std::string>{"c0.txt:3", "c0.txt:5", "c1.txt:2", "c1.txt:5",
                                                "c2.txt:4", "c2.txt:6"}));
}

TEST(TextFewShot, OwnValSplitIsSampledNotCarved) {
  const TextSplit train = toy_text({6, 6});
  const TextSplit val = toy_text({5, 1}, "val");
  const auto fs = sample_text_fewshot(train, &val, 8, 1);
  EXPECT_EQ(per_class(fs.train), (std::map<int64_t, int>{{0, 6}, {1, 6}}));
  EXPECT_EQ(per_class(fs.val), (std::map<int64_t, int>{{0, 4}, {1, 1}}));
}

TEST(TextFewShot, SplitFileIsReusedAndMismatchesNamed) {
  const TextSplit train = toy_text({10, 10, 10});
  const std::string path = fresh_file("split_fewshot.json");
  const auto first = load_or_create_text_fewshot(path, train, nullptr, 4, 7);
  const std::string bytes = core::read_file(path);
  EXPECT_NE(bytes.find("\"c0.txt:"), std::string::npos) << bytes;
  const auto again = load_or_create_text_fewshot(path, train, nullptr, 4, 7);
  EXPECT_EQ(core::read_file(path), bytes);
  EXPECT_EQ(keys(again.train), keys(first.train));
  EXPECT_EQ(again.content_hash, first.content_hash);
  EXPECT_EQ(error_of([&] { load_or_create_text_fewshot(path, train, nullptr, 8, 7); }),
            path +
                ": key 'shots' is 4 in this few-shot split file, but this run has 8: pass the "
                "matching value, or use another split file to draw a new split");
  EXPECT_EQ(error_of([&] { load_or_create_text_fewshot(path, train, nullptr, 4, 8); }),
            path +
                ": key 'seed' is 7 in this few-shot split file, but this run has 8: pass the "
                "matching value, or use another split file to draw a new split");
  // The data changed under the file: a record it names is gone.
  TextSplit fewer = toy_text({10, 10, 10});
  const std::string gone = first.train.items[0].key;
  for (auto& r : fewer.items) {
    if (r.key == gone) r.key = "renamed:1";
  }
  const std::string msg =
      error_of([&] { load_or_create_text_fewshot(path, fewer, nullptr, 4, 7); });
  EXPECT_EQ(msg, path + ": 'train' entry 0 '" + gone +
                     "' is not a record of the train split of 'toytext' (root )");
}

TEST(TextFewShot, LmDocumentsAreDrawnAsOneClass) {
  TextSplit lm;
  lm.dataset = "docs";
  lm.split = "train";
  lm.task = TextTask::kLm;
  for (int i = 0; i < 12; ++i) {
    TextRecord r;
    r.completion = "doc " + std::to_string(i);
    r.key = "train.txt:" + std::to_string(2 * i + 1);
    lm.items.push_back(r);
  }
  const auto fs = sample_text_fewshot(lm, nullptr, 5, 1);
  EXPECT_EQ(fs.train.items.size(), 5u);
  EXPECT_EQ(fs.val.items.size(), 4u);
  for (const auto& r : fs.train.items) EXPECT_EQ(r.label, -1);
}

TEST(TextRunSplits, AdhocFolderFewShotAndAll) {
  const std::string data = fresh_dir("text_run_data");
  std::string train_csv = "text,label\n", test_csv = "text,label\n";
  for (int i = 0; i < 12; ++i) {
    train_csv += "\"good, " + std::to_string(i) + "\",pos\n\"bad " + std::to_string(i) + "\",neg\n";
  }
  test_csv += "fine,pos\nawful,neg\nnice,pos\n";
  put(data, "train.csv", train_csv);
  put(data, "test.csv", test_csv);
  const std::string run = fresh_dir("text_run_out");
  const TextRunSplits r = load_text_run_splits(data, "", 4, 1, run);
  EXPECT_EQ(r.split_file, run + "/split_fewshot.json");
  EXPECT_TRUE(core::file_exists(r.split_file));
  EXPECT_EQ(r.train.classnames, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(per_class(r.train), (std::map<int64_t, int>{{0, 4}, {1, 4}}));
  EXPECT_EQ(per_class(r.val), (std::map<int64_t, int>{{0, 4}, {1, 4}}));
  EXPECT_EQ(per_class(r.test), (std::map<int64_t, int>{{0, 1}, {1, 2}}));
  EXPECT_TRUE(r.warnings.empty());
  // Resume: the same file, the same records.
  const TextRunSplits again = load_text_run_splits(data, "", 4, 1, run);
  EXPECT_EQ(keys(again.train), keys(r.train));
  EXPECT_EQ(again.split_hash, r.split_hash);

  const TextRunSplits all = load_text_run_splits(data, "", 0, 1, fresh_dir("text_run_all"));
  EXPECT_EQ(all.train.items.size(), 24u);
  EXPECT_TRUE(all.val.items.empty());
  EXPECT_EQ(all.split_file, "");
  ASSERT_EQ(all.warnings.size(), 1u);
  EXPECT_EQ(all.warnings[0],
            "text dataset '" + data + "' has no val split and all of train is used: val is empty");
  // With a val file, "all" uses it.
  put(data, "val.csv", "text,label\nok,pos\n");
  const TextRunSplits with_val = load_text_run_splits(data, "", -1, 1, fresh_dir("text_run_val"));
  EXPECT_EQ(with_val.val.items.size(), 1u);
  EXPECT_TRUE(with_val.warnings.empty());
}

}  // namespace vlprompt::datasets::text_fewshot_test
