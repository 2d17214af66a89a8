#include "datasets/image_folder.h"

#include <gtest/gtest.h>

#include "datasets/catalog.h"
#include "datasets/loader.h"
#include "src/core/error.h"
#include "tests/datasets/dataset_test_util.h"
#include "tests/test_support.h"

namespace vlprompt::datasets {
namespace {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

TEST(ImageFolder, ListsSortedImagesWithSortedFolderLabelsAndReadableNames) {
  const std::string root = fresh_dir("flat");
  put(root, "golden_retriever/b.JPG");
  put(root, "golden_retriever/a.png");
  put(root, "golden_retriever/nested/c.jpeg");
  put(root, "golden_retriever/notes.txt");  // not an image
  put(root, "golden_retriever/.hidden.jpg");
  put(root, "cat/z.bmp");
  put(root, ".cache/ignored.jpg");
  const DatasetSplit s = load_split(root, "", "test");
  EXPECT_EQ(s.dataset, root);
  EXPECT_EQ(s.classnames, (std::vector<std::string>{"cat", "golden retriever"}));
  EXPECT_EQ(s.template_text, "a photo of a {}.");
  ASSERT_EQ(s.items.size(), 4u);
  EXPECT_EQ(s.items[0].path, root + "/cat/z.bmp");
  EXPECT_EQ(s.items[0].label, 0);
  EXPECT_EQ(s.items[1].path, root + "/golden_retriever/a.png");
  EXPECT_EQ(s.items[2].path, root + "/golden_retriever/b.JPG");
  EXPECT_EQ(s.items[3].path, root + "/golden_retriever/nested/c.jpeg");
  EXPECT_EQ(s.items[3].label, 1);
  EXPECT_FALSE(s.items[0].pixels.defined());
}

TEST(ImageFolder, TrainAndTestSubfoldersShareLabelsOverTheUnionOfClasses) {
  const std::string root = fresh_dir("split");
  put(root, "train/ant/1.jpg");
  put(root, "train/bee/1.jpg");
  put(root, "test/bee/2.jpg");
  put(root, "test/cow/3.jpg");  // a class only the test split has
  const DatasetSplit train = load_split(root, "", "train");
  const DatasetSplit test = load_split(root, "", "test");
  EXPECT_EQ(train.classnames, (std::vector<std::string>{"ant", "bee", "cow"}));
  EXPECT_EQ(test.classnames, train.classnames);
  ASSERT_EQ(test.items.size(), 2u);
  EXPECT_EQ(test.items[0].label, 1);
  EXPECT_EQ(test.items[1].label, 2);
  EXPECT_EQ(train.items.size(), 2u);
}

TEST(ImageFolder, ValIsRefusedWithAMessageAboutVal) {
  const std::string root = fresh_dir("noval");
  put(root, "train/ant/1.jpg");
  put(root, "test/ant/2.jpg");
  const std::string msg = error_of([&] { load_split(root, "", "val"); });
  EXPECT_NE(msg.find("no 'val' split"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train, test"), std::string::npos) << msg;
  // A flat folder has no val either, and never falls back to serving test.
  const std::string flat = fresh_dir("noval_flat");
  put(flat, "ant/1.jpg");
  EXPECT_NE(error_of([&] { load_split(flat, "", "val"); }).find("'val'"), std::string::npos);
}

TEST(ImageFolder, MissingFolderAndEmptyFolderAreFileErrors) {
  const std::string missing = fresh_dir("gone") + "/nothing_here";
  EXPECT_NE(error_of([&] { load_split(missing, "", "test"); }).find(missing), std::string::npos);
  const std::string empty = fresh_dir("empty");
  put(empty, "ant/readme.txt");
  const std::string msg = error_of([&] { load_split(empty, "", "test"); });
  EXPECT_NE(msg.find("no image files"), std::string::npos) << msg;
}

TEST(ImageFolder, Cifar10CatalogEntryChecksTheClassFolders) {
  const std::string root = fresh_dir("cifar_bad");
  put(root, "test/airplane/0.jpg");
  put(root, "test/car/0.jpg");
  const std::string msg = error_of([&] { load_split("cifar10", root, "test"); });
  EXPECT_NE(msg.find("unexpected [car]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("automobile"), std::string::npos) << msg;
}

// Split CIFAR-100's data: the 100 fine-class folders, labels in their order, readable names.
TEST(ImageFolder, Cifar100ReadsItsHundredClassFolders) {
  const std::string root = fresh_dir("cifar100");
  const CatalogEntry entry = load_catalog_entry("cifar100");
  ASSERT_EQ(entry.class_folders.size(), 100u);
  for (const auto& f : entry.class_folders) put(root, "train/" + f + "/0.png");
  const DatasetSplit train = load_split("cifar100", root, "train");
  ASSERT_EQ(train.items.size(), 100u);
  EXPECT_EQ(train.classnames[1], "aquarium fish");
  EXPECT_EQ(train.classnames[99], "worm");
  EXPECT_NE(train.items[1].path.find("/train/aquarium_fish/"), std::string::npos);
  EXPECT_EQ(train.items[1].label, 1);
  std::filesystem::remove_all(root + "/train/worm");
  EXPECT_NE(error_of([&] { load_split("cifar100", root, "train"); }).find("missing [worm]"),
            std::string::npos);
}

TEST(ImageFolder, SharedCifar10HasTenClassesOf300TestImages) {
  VLP_REQUIRE_SHARED("data/cifar10");
  const std::string root = vlprompt::testing::shared_path("data/cifar10");
  const DatasetSplit test = load_split("cifar10", root, "test");
  ASSERT_EQ(test.classnames.size(), 10u);
  EXPECT_EQ(test.classnames[1], "automobile");
  EXPECT_EQ(test.template_text, "a photo of a {}.");
  ASSERT_EQ(test.items.size(), 3000u);
  std::vector<int> per_class(10, 0);
  for (const auto& r : test.items) ++per_class[static_cast<size_t>(r.label)];
  EXPECT_EQ(per_class, std::vector<int>(10, 300));
  EXPECT_EQ(test.items[300].label, 1);
  EXPECT_NE(test.items[300].path.find("/test/automobile/"), std::string::npos);
  // The parent folder works as the data root too (cifar10/ is the catalog's dataset_dir).
  const DatasetSplit train = load_split("CIFAR10", root + "/..", "train");
  EXPECT_EQ(train.items.size(), 1000u);
  EXPECT_NE(error_of([&] { load_split("cifar10", root, "val"); }).find("'val'"), std::string::npos);
}

}  // namespace
}  // namespace vlprompt::datasets
