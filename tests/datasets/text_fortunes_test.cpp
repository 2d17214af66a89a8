// The fortune_files layout (Debian's fortunes as topic classification) on a fake fortune folder
// written here, and on the real /usr/share/games/fortunes when installed.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "datasets/catalog.h"
#include "datasets/loader.h"
#include "datasets/text/fortunes.h"
#include "datasets/text/text_loader.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::datasets::text_fortunes_test {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

// `n` one-line entries "<name> fact <i>." separated by '%' lines, as strfile's input has them.
std::string entries(const std::string& name, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += name + " fact " + std::to_string(i) + ".\n%\n";
  return out;
}

// The five categories of the catalog entry plus one more, and the files that are not categories.
std::string fake_fortunes(const std::string& name) {
  const std::string dir = fresh_dir(name);
  put(dir, "computers",
      "A computer\nis fast.  \n%\n\n%\n  \nBits and bytes.\n%\n" + entries("computers", 6));
  put(dir, "food", entries("food", 8));
  put(dir, "law", entries("law", 4));
  put(dir, "science", std::string(400, 'x') + "\n%\n" + entries("science", 3));
  put(dir, "sports", entries("sports", 4) + "last entry without a closing percent\n");
  put(dir, "zippy", entries("zippy", 4));
  put(dir, "food.dat", std::string("\x00\x00\x00\x02", 4));
  put(dir, ".hidden", entries("hidden", 2));
  put(dir, "off/food", entries("offensive", 5));
  std::filesystem::create_symlink("food", dir + "/food.u8");
  std::filesystem::create_symlink("law", dir + "/lawlink");
  return dir;
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

TEST(TextFortunes, CategoriesSkipIndexesLinksHiddenAndOffensive) {
  const std::string dir = fake_fortunes("fortunes_categories");
  EXPECT_EQ(fortune_categories(dir),
            (std::vector<std::string>{"computers", "food", "law", "science", "sports", "zippy"}));
}

TEST(TextFortunes, EntriesArePercentSeparatedStrippedAndTruncated) {
  const std::string dir = fake_fortunes("fortunes_entries");
  const auto comp = read_fortune_file(dir + "/computers", "computers", 0);
  ASSERT_EQ(comp.size(), 8u);  // the empty entry is dropped
  EXPECT_EQ(comp[0].text, "A computer\nis fast.");
  EXPECT_EQ(comp[0].key, "computers:1");
  EXPECT_EQ(comp[1].text, "Bits and bytes.");
  EXPECT_EQ(comp[1].key, "computers:7");
  EXPECT_EQ(comp[2].text, "computers fact 0.");
  const auto sports = read_fortune_file(dir + "/sports", "sports", 0);
  ASSERT_EQ(sports.size(), 5u);
  EXPECT_EQ(sports.back().text, "last entry without a closing percent");
  const auto science = read_fortune_file(dir + "/science", "science", 25);
  EXPECT_EQ(science[0].text, std::string(25, 'x'));
  EXPECT_EQ(science[1].text, "science fact 0.");
}

TEST(TextFortunes, CatalogEntryOnAFakeFolderFixedDisjointSplit) {
  const std::string dir = fake_fortunes("fortunes_catalog");
  const TextSplit train = load_text_split("fortunes", dir, "train");
  const TextSplit test = load_text_split("fortunes", dir, "test");
  const std::vector<std::string> classes{"computers", "food", "law", "science", "sports"};
  EXPECT_EQ(train.classnames, classes);
  EXPECT_EQ(train.label_words, classes);
  EXPECT_EQ(test.classnames, classes);
  EXPECT_EQ(train.template_text, "{text} Topic:");
  EXPECT_EQ(train.dataset, "fortunes");
  // Per class n entries, round(n / 4) to test: computers 8 -> 6/2, food 8 -> 6/2, law 4 -> 3/1,
  // science 4 -> 3/1, sports 5 -> 4/1.
  EXPECT_EQ(per_class(train), (std::map<int64_t, int>{{0, 6}, {1, 6}, {2, 3}, {3, 3}, {4, 4}}));
  EXPECT_EQ(per_class(test), (std::map<int64_t, int>{{0, 2}, {1, 2}, {2, 1}, {3, 1}, {4, 1}}));
  // Disjoint, and together every entry.
  const auto tr = keys(train), te = keys(test);
  for (const auto& k : te) EXPECT_EQ(tr.count(k), 0u) << k;
  EXPECT_EQ(tr.size() + te.size(), 29u);
  // The catalog's max_chars (300) cuts the 400-character entry.
  for (const auto& r : train.items) EXPECT_LE(r.text.size(), 300u) << r.key;
  for (const auto& r : test.items) EXPECT_LE(r.text.size(), 300u) << r.key;
  // The same split on every load.
  EXPECT_EQ(keys(load_text_split("fortunes", dir, "test")), te);
}

TEST(TextFortunes, SplitOfACategoryDoesNotDependOnTheOtherClasses) {
  const std::string dir = fake_fortunes("fortunes_independent");
  CatalogEntry e = load_catalog_entry("fortunes");
  e.classnames.clear();  // every category present
  e.label_words.clear();
  const TextSplit all = load_fortune_files(e, dir, "test");
  EXPECT_EQ(all.classnames,
            (std::vector<std::string>{"computers", "food", "law", "science", "sports", "zippy"}));
  e.classnames = {"food"};
  const TextSplit food = load_fortune_files(e, dir, "test");
  std::set<std::string> food_in_all;
  for (const auto& r : all.items) {
    if (r.label == 1) food_in_all.insert(r.key);
  }
  EXPECT_EQ(keys(food), food_in_all);
  for (const auto& r : food.items) EXPECT_EQ(r.label, 0);
}

TEST(TextFortunes, MissingCategoryAndImageLoaderErrors) {
  const std::string dir = fake_fortunes("fortunes_missing");
  CatalogEntry e = load_catalog_entry("fortunes");
  e.classnames = {"food", "startrek"};
  e.label_words.clear();
  EXPECT_EQ(error_of([&] { load_fortune_files(e, dir, "train"); }),
            dir +
                "/startrek: category 'startrek' of dataset 'fortunes' is not a fortune file "
                "here (install Debian's fortunes package; categories present: computers, food, "
                "law, science, sports, zippy)");
  EXPECT_EQ(error_of([&] { load_text_split("fortunes", dir, "val"); }),
            "text dataset 'fortunes' has no 'val' split; it offers: train, test (few-shot runs "
            "carve val out of train)");
  EXPECT_EQ(error_of([&] { load_split("fortunes", dir, "train"); }),
            "dataset 'fortunes' holds text (layout fortune_files), not images: use it with a text "
            "method (datasets::load_text_split)");
}

TEST(TextFortunes, AsLmDataEachEntryIsACompletion) {
  const std::string dir = fake_fortunes("fortunes_lm");
  const TextSplit lm = load_text_split("fortunes", dir, "train", TextTask::kLm);
  EXPECT_TRUE(lm.classnames.empty());
  EXPECT_EQ(lm.items.size(), 22u);
  for (const auto& r : lm.items) {
    EXPECT_EQ(r.label, -1);
    EXPECT_EQ(r.text, "");
    EXPECT_FALSE(r.completion.empty());
  }
}

TEST(TextFortunes, RealDebianFortunes) {
  const std::string root = "/usr/share/games/fortunes";
  if (!std::filesystem::exists(root + "/computers")) {
    GTEST_SKIP() << root << " has no fortunes data (apt install fortunes)";
  }
  const TextSplit train = load_text_split("fortunes", "", "train");
  const TextSplit test = load_text_split("fortunes", "", "test");
  const std::vector<std::string> classes{"computers", "food", "law", "science", "sports"};
  EXPECT_EQ(train.classnames, classes);
  EXPECT_EQ(test.classnames, classes);
  const auto ntrain = per_class(train), ntest = per_class(test);
  for (int64_t c = 0; c < 5; ++c) {
    EXPECT_GT(ntrain.count(c) ? ntrain.at(c) : 0, 0) << classes[c];
    EXPECT_GT(ntest.count(c) ? ntest.at(c) : 0, 0) << classes[c];
  }
  const auto tr = keys(train);
  for (const auto& k : keys(test)) EXPECT_EQ(tr.count(k), 0u) << k;
  // The categories this catalog names exist in the data folder.
  for (const auto& c : classes) {
    EXPECT_TRUE(std::filesystem::is_regular_file(root + "/" + c)) << c;
  }
}

}  // namespace vlprompt::datasets::text_fortunes_test
