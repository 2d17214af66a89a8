#include "datasets/catalog.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "datasets/loader.h"
#include "src/core/error.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::datasets {
namespace {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

TEST(Catalog, ListsEveryKnownDatasetAndEachFileParses) {
  const std::vector<std::string> names = list_catalog();
  const std::vector<std::string> expected{
      "caltech101",     "cifar10",        "cifar10-sketch", "cifar100",
      "digits-opencv",  "digits-sklearn", "domainnet",      "dtd",
      "eurosat",        "fashion_mnist",  "fgvc_aircraft",  "food101",
      "fortunes",       "imagenet",       "mini_domainnet", "office_home",
      "oxford_flowers", "oxford_pets",    "stanford_cars",  "sun397",
      "ucf101",         "visda17"};
  EXPECT_EQ(names, expected);
  for (const auto& n : names) {
    const CatalogEntry e = load_catalog_entry(n);
    EXPECT_EQ(e.name, n);
    // Text layouts put the text at "{text}"; image templates put the class name at "{}".
    EXPECT_NE(e.template_text.find(is_text_layout(e) ? "{text}" : "{}"), std::string::npos) << n;
  }
}

TEST(Catalog, CarriesCoopTemplatesSplitFilesAndClassNames) {
  EXPECT_EQ(load_catalog_entry("dtd").template_text, "{} texture.");
  EXPECT_EQ(load_catalog_entry("eurosat").template_text, "a centered satellite photo of {}.");
  EXPECT_EQ(load_catalog_entry("food101").template_text, "a photo of {}, a type of food.");
  EXPECT_EQ(load_catalog_entry("ucf101").template_text, "a photo of a person doing {}.");
  const CatalogEntry sun = load_catalog_entry("SUN397");
  EXPECT_EQ(sun.split_file, "split_zhou_SUN397.json");
  EXPECT_EQ(sun.image_dir, "SUN397");
  EXPECT_EQ(sun.num_classes, 397);
  EXPECT_EQ(load_catalog_entry("caltech101").dataset_dir, "caltech-101");
  EXPECT_EQ(load_catalog_entry("stanford_cars").image_dir, "");
  const CatalogEntry fm = load_catalog_entry("fashion_mnist");
  EXPECT_EQ(fm.default_root, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(fm.classnames.front(), "t-shirt");
  EXPECT_EQ(fm.classnames.back(), "ankle boot");
  EXPECT_EQ(load_catalog_entry("cifar10").default_root, "");
}

TEST(Catalog, UnknownNameSuggestsTheClosestAndListsKnownNames) {
  const std::string msg = error_of([] { load_catalog_entry("oxford_pet"); });
  EXPECT_NE(msg.find("unknown dataset 'oxford_pet'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'oxford_pets'?"), std::string::npos) << msg;
  EXPECT_NE(msg.find("known datasets: caltech101, cifar10,"), std::string::npos) << msg;
  const std::string via_loader = error_of([] { load_split("cifar1O", "", "test"); });
  EXPECT_NE(via_loader.find("did you mean 'cifar10'?"), std::string::npos) << via_loader;
}

TEST(Catalog, CoopDatasetWithoutARootAsksForOne) {
  const std::string msg = error_of([] { load_split("dtd", "", "test"); });
  EXPECT_NE(msg.find("dataset 'dtd' has no default location"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { load_split("dtd", "", "dev"); }).find("unknown split 'dev'"),
            std::string::npos);
}

TEST(Catalog, BadCatalogFileNamesTheFileAndKey) {
  const std::string dir = fresh_dir("catalog");
  const std::string typo = put(dir, "typo.yaml",
                               "name: typo\nlayout: cifar10\nsplits: {train: a, test: b}\n"
                               "classnames: [a]\ntemplat: \"{}\"\n");
  EXPECT_EQ(error_of([&] { parse_catalog_file(typo); }), typo + ": unknown key 'templat'");
  const std::string layout =
      put(dir, "layout.yaml", "name: layout\nlayout: folders\ntemplate: \"{}\"\n");
  EXPECT_NE(error_of([&] { parse_catalog_file(layout); }).find("unknown layout 'folders'"),
            std::string::npos);

  // $VLPROMPT_CATALOG_DIR replaces the built-in catalog.
  put(dir, "mine.yaml",
      "name: mine\nlayout: image_folder\nsplits: {train: tr, test: te}\ntemplate: \"a {}.\"\n");
  setenv("VLPROMPT_CATALOG_DIR", dir.c_str(), 1);
  const CatalogEntry mine = load_catalog_entry("mine");
  unsetenv("VLPROMPT_CATALOG_DIR");
  EXPECT_EQ(mine.splits.at("test"), "te");
}

}  // namespace
}  // namespace vlprompt::datasets
