#include "datasets/coop_split.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "datasets/loader.h"
#include "datasets/run_splits.h"
#include "datasets/variant_lists.h"
#include "src/core/error.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::datasets {
namespace {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

// A miniature CoOp OxfordPets folder: <root>/oxford_pets/{split_zhou_OxfordPets.json, images/}.
std::string make_pets(const std::string& name, const std::string& json) {
  const std::string root = fresh_dir(name);
  put(root, "oxford_pets/split_zhou_OxfordPets.json", json);
  for (const char* f : {"abyssinian_1.jpg", "abyssinian_2.jpg", "boxer_1.jpg", "boxer_2.jpg",
                        "great_pyrenees_1.jpg"}) {
    put(root, std::string("oxford_pets/images/") + f);
  }
  return root;
}

const char* kPetsJson = R"({
  "train": [["abyssinian_1.jpg", 0, "abyssinian"], ["boxer_1.jpg", 1, "boxer"]],
  "val": [["great_pyrenees_1.jpg", 2, "great_pyrenees"]],
  "test": [["boxer_2.jpg", 1, "boxer"], ["abyssinian_2.jpg", 0, "abyssinian"]]
})";

TEST(CoopSplit, ReadsEachSplitWithClassNamesFromAllSplitsInLabelOrder) {
  const std::string root = make_pets("pets", kPetsJson);
  const std::string json = root + "/oxford_pets/split_zhou_OxfordPets.json";
  const std::string images = root + "/oxford_pets/images";
  const DatasetSplit test = read_coop_split(json, images, "test", 0, {});
  EXPECT_EQ(test.classnames, (std::vector<std::string>{"abyssinian", "boxer", "great pyrenees"}));
  ASSERT_EQ(test.items.size(), 2u);
  EXPECT_EQ(test.items[0].path, images + "/boxer_2.jpg");
  EXPECT_EQ(test.items[0].label, 1);
  EXPECT_EQ(test.items[1].label, 0);
  const DatasetSplit val = read_coop_split(json, images, "val", 0, {});
  ASSERT_EQ(val.items.size(), 1u);
  EXPECT_EQ(val.items[0].label, 2);
}

TEST(CoopSplit, CatalogEntryFindsTheDatasetUnderCoopsRootOrItsOwnFolder) {
  const std::string root = make_pets("pets_catalog", kPetsJson);
  const std::string bad_count = error_of([&] { load_split("oxford_pets", root, "val"); });
  // The catalog knows OxfordPets has 37 classes; this miniature names only three.
  EXPECT_NE(bad_count.find("no entry has label 3"), std::string::npos) << bad_count;

  // With a catalog whose entry expects three classes, the same folder loads whether the data root
  // is CoOp's root or the dataset's own folder.
  const std::string catalog = fresh_dir("pets_catalog_yaml");
  put(catalog, "oxford_pets.yaml",
      "name: oxford_pets\nlayout: coop_split\ndataset_dir: oxford_pets\n"
      "split_file: split_zhou_OxfordPets.json\nimage_dir: images\nnum_classes: 3\n"
      "template: \"a photo of a {}, a type of pet.\"\n");
  setenv("VLPROMPT_CATALOG_DIR", catalog.c_str(), 1);
  const DatasetSplit test = load_split("oxford_pets", root, "test");
  const DatasetSplit nested = load_split("oxford_pets", root + "/oxford_pets", "val");
  unsetenv("VLPROMPT_CATALOG_DIR");
  EXPECT_EQ(test.dataset, "oxford_pets");
  EXPECT_EQ(test.split, "test");
  EXPECT_EQ(test.root, root + "/oxford_pets");
  EXPECT_EQ(test.template_text, "a photo of a {}, a type of pet.");
  ASSERT_EQ(test.items.size(), 2u);
  EXPECT_EQ(test.items[1].path, root + "/oxford_pets/images/abyssinian_2.jpg");
  ASSERT_EQ(nested.items.size(), 1u);
  EXPECT_EQ(nested.classnames[2], "great pyrenees");

  CatalogEntry e = load_catalog_entry("OxfordPets");
  EXPECT_EQ(e.name, "oxford_pets");
  EXPECT_EQ(e.template_text, "a photo of a {}, a type of pet.");
  EXPECT_EQ(e.split_file, "split_zhou_OxfordPets.json");
  EXPECT_EQ(e.image_dir, "images");
}

TEST(CoopSplit, MalformedEntryErrorNamesFileSplitAndIndex) {
  const std::string root = make_pets("pets_bad", R"({"train": [["a.jpg", 0, "a"]],
    "val": [], "test": [["a.jpg", 0, "a"], ["b.jpg", "zero", "b"]]})");
  const std::string json = root + "/oxford_pets/split_zhou_OxfordPets.json";
  const std::string msg = error_of([&] { read_coop_split(json, root, "train", 0, {}); });
  EXPECT_EQ(msg.rfind(json + ": entry 1 of 'test'", 0), 0u) << msg;
  EXPECT_NE(msg.find("expected [image path, integer label"), std::string::npos) << msg;

  const std::string not_json = put(root, "broken.json", "{\"train\": [");
  EXPECT_NE(error_of([&] {
              read_coop_split(not_json, root, "train", 0, {});
            }).find(not_json + ": not valid JSON"),
            std::string::npos);
}

TEST(CoopSplit, LabelOutOfRangeAndInconsistentNamesAreErrors) {
  const std::string root = fresh_dir("pets_labels");
  const std::string range = put(root, "range.json", R"({"train": [["a.jpg", 0, "a"],
    ["b.jpg", 5, "b"]], "val": [], "test": []})");
  const std::string msg = error_of([&] { read_coop_split(range, root, "train", 2, {}); });
  EXPECT_NE(msg.find(range + ": entry 1 of 'train' ('b.jpg') has label 5, outside [0, 2)"),
            std::string::npos)
      << msg;
  const std::string names = put(root, "names.json", R"({"train": [["a.jpg", 0, "cat"]],
    "val": [], "test": [["b.jpg", 0, "dog"]]})");
  const std::string msg2 = error_of([&] { read_coop_split(names, root, "train", 0, {}); });
  EXPECT_NE(msg2.find("entry 0 of 'test' names label 0 'dog', but entry 0 of 'train' named it "
                      "'cat'"),
            std::string::npos)
      << msg2;
  const std::string nosplit = put(root, "nosplit.json", R"({"train": []})");
  EXPECT_NE(error_of([&] { read_coop_split(nosplit, root, "test", 0, {}); }).find("no 'test' list"),
            std::string::npos);
}

TEST(CoopSplit, MissingImageIsAFileErrorUnlessSkipped) {
  const std::string root = make_pets("pets_missing", R"({"train": [["abyssinian_1.jpg", 0, "a"],
    ["gone.jpg", 0, "a"], ["boxer_1.jpg", 1, "b"]], "val": [], "test": []})");
  const std::string json = root + "/oxford_pets/split_zhou_OxfordPets.json";
  const std::string images = root + "/oxford_pets/images";
  const std::string msg = error_of([&] { read_coop_split(json, images, "train", 0, {}); });
  EXPECT_EQ(msg.rfind(images + "/gone.jpg: image listed in " + json + " (entry 1 of 'train')", 0),
            0u)
      << msg;
  LoadOptions skip;
  skip.skip_missing = true;
  const DatasetSplit s = read_coop_split(json, images, "train", 0, skip);
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[1].label, 1);
  EXPECT_EQ(s.skipped, (std::vector<std::string>{images + "/gone.jpg"}));
}

TEST(VariantLists, FgvcAircraftListsGiveLabelsByVariantLine) {
  const std::string root = fresh_dir("aircraft");
  put(root, "fgvc_aircraft/variants.txt", "707-320\nA300B4\nDC-10\n");
  put(root, "fgvc_aircraft/images_variant_test.txt", "0001 DC-10\n0002 707-320\n");
  put(root, "fgvc_aircraft/images_variant_train.txt", "0003 Boeing 999\n");
  put(root, "fgvc_aircraft/images/0001.jpg");
  put(root, "fgvc_aircraft/images/0002.jpg");
  CatalogEntry e = load_catalog_entry("fgvc_aircraft");
  e.num_classes = 3;  // the real list has 100
  const DatasetSplit s = load_variant_lists(e, root + "/fgvc_aircraft", "test", {});
  EXPECT_EQ(s.classnames, (std::vector<std::string>{"707-320", "A300B4", "DC-10"}));
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].path, root + "/fgvc_aircraft/images/0001.jpg");
  EXPECT_EQ(s.items[0].label, 2);
  EXPECT_EQ(s.items[1].label, 0);
  const std::string msg =
      error_of([&] { load_variant_lists(e, root + "/fgvc_aircraft", "train", {}); });
  EXPECT_NE(msg.find("images_variant_train.txt: line 1: class 'Boeing 999' is not in"),
            std::string::npos)
      << msg;
}

// Regressions: a split file's '../' and absolute paths were followed outside the image
// folder; two classes sharing a name split the probability of that name between them.
TEST(CoopSplit, PathsOutsideTheImageFolderAreRefused) {
  const std::string root = fresh_dir("pets_escape");
  for (const std::string& bad : {"../secret.jpg", "/etc/passwd", "images/../../x.jpg"}) {
    const std::string json =
        put(root, "escape.json",
            R"({"train": [["a.jpg", 0, "a"], [")" + bad + R"(", 1, "b"]], "val": [], "test": []})");
    const std::string msg = error_of([&] { read_coop_split(json, root, "train", 0, {}); });
    EXPECT_NE(msg.find(json + ": entry 1 of 'train' names image '" + bad + "'"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("inside the image folder"), std::string::npos) << msg;
  }
}

TEST(CoopSplit, DuplicateClassNamesAreRefusedNamingDatasetAndName) {
  const std::string root = fresh_dir("dup_names");
  put(root, "sea_lion/a.jpg");
  put(root, "sea lion/b.jpg");
  const std::string msg = error_of([&] { load_split(root, "", "test"); });
  EXPECT_NE(msg.find(root), std::string::npos) << msg;
  EXPECT_NE(msg.find("both named 'sea lion'"), std::string::npos) << msg;
}

TEST(CoopSplit, ASingleClassDatasetIsRefusedForTraining) {
  const std::string root = fresh_dir("one_class");
  put(root, "train/cat/a.jpg");
  put(root, "train/cat/b.jpg");
  put(root, "test/cat/c.jpg");
  const std::string msg =
      error_of([&] { load_run_splits(root, "", 1, 1, "all", fresh_dir("one_class_run")); });
  EXPECT_NE(msg.find(root), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 1 class; training a classifier needs at least two"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace vlprompt::datasets
