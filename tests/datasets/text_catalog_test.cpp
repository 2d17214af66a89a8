// Text datasets described by a catalog entry (layout text_files): class names and label words
// from the entry, integer labels indexing the class list, named columns, truncation; and the
// catalog's checks of text entries.
#include <gtest/gtest.h>

#include <cstdlib>

#include "datasets/catalog.h"
#include "datasets/text/text_loader.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::datasets::text_catalog_test {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

// Points $VLPROMPT_CATALOG_DIR at `dir` for one scope.
struct CatalogDirScope {
  explicit CatalogDirScope(const std::string& dir) {
    setenv("VLPROMPT_CATALOG_DIR", dir.c_str(), 1);
  }
  ~CatalogDirScope() { unsetenv("VLPROMPT_CATALOG_DIR"); }
};

TEST(TextCatalog, TextFilesEntryGivesClassesWordsColumnsAndTruncation) {
  const std::string data = fresh_dir("text_catalog_data");
  put(data, "train.tsv",
      "id\tsentence\tlabel\n1\tA great film\t1\n2\tdull\t0\n3\tLoved it\tpositive\n");
  put(data, "dev.tsv", "id\tsentence\tlabel\n4\tmeh\t0\n5\tbad\t2\n");
  const std::string catalog = fresh_dir("text_catalog_yaml");
  put(catalog, "sst.yaml",
      "name: sst\nlayout: text_files\nroot: " + data +
          "\nsplits: {train: train.tsv, test: dev.tsv}\n"
          "classnames: [negative, positive]\nlabel_words: [bad, good]\n"
          "text_fields: [sentence]\nlabel_field: label\nmax_chars: 7\n"
          "template: \"Review: {text} Sentiment:\"\n");
  CatalogDirScope scope(catalog);
  EXPECT_TRUE(is_text_dataset("sst"));
  const TextSplit train = load_text_split("sst", "", "train");
  EXPECT_EQ(train.dataset, "sst");
  EXPECT_EQ(train.classnames, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(train.label_words, (std::vector<std::string>{"bad", "good"}));
  EXPECT_EQ(train.template_text, "Review: {text} Sentiment:");
  ASSERT_EQ(train.items.size(), 3u);
  EXPECT_EQ(train.items[0].text, "A great");  // 7 code points
  EXPECT_EQ(train.items[0].label, 1);         // "1" indexes the class list
  EXPECT_EQ(train.items[1].label, 0);
  EXPECT_EQ(train.items[2].label, 1);  // a class name
  EXPECT_EQ(train.items[2].key, "train.tsv:4");
  EXPECT_EQ(error_of([] { load_text_split("sst", "", "test"); }),
            data +
                "/dev.tsv: line 3: column 'label' is '2', expected one of the classes "
                "(negative, positive) or an index 0..1");
  EXPECT_FALSE(text_split_exists("sst", "", "val"));
  EXPECT_EQ(error_of([] { load_text_split("sst", "", "val"); }),
            "text dataset 'sst' has no 'val' split; it offers: test, train (few-shot runs carve "
            "val out of train)");
}

TEST(TextCatalog, BadTextEntriesNameTheFileAndKey) {
  const std::string dir = fresh_dir("text_catalog_bad");
  const std::string no_text = put(dir, "a.yaml",
                                  "name: a\nlayout: fortune_files\nsplits: {train: t, test: u}\n"
                                  "template: \"{} Topic:\"\n");
  EXPECT_EQ(error_of([&] { parse_catalog_file(no_text); }),
            no_text + ": template '{} Topic:' has no '{text}' for the text");
  const std::string words = put(dir, "b.yaml",
                                "name: b\nlayout: fortune_files\nsplits: {train: t, test: u}\n"
                                "template: \"{text} Topic:\"\nclassnames: [food, law]\n"
                                "label_words: [eat]\n");
  EXPECT_EQ(error_of([&] { parse_catalog_file(words); }),
            words +
                ": label_words has 1 entries but classnames has 2 (one word per class, in "
                "the same order)");
  const std::string fraction = put(dir, "c.yaml",
                                   "name: c\nlayout: fortune_files\nsplits: {train: t, test: u}\n"
                                   "template: \"{text} Topic:\"\ntest_fraction: 1.5\n");
  EXPECT_EQ(error_of([&] { parse_catalog_file(fraction); }),
            fraction + ": layout 'fortune_files' needs 'test_fraction' in (0, 1)");
  const CatalogEntry fortunes = load_catalog_entry("fortunes");
  EXPECT_EQ(fortunes.layout, "fortune_files");
  EXPECT_EQ(fortunes.default_root, "/usr/share/games/fortunes");
  EXPECT_EQ(fortunes.max_chars, 300);
  EXPECT_EQ(fortunes.template_text, "{text} Topic:");
}

}  // namespace vlprompt::datasets::text_catalog_test
