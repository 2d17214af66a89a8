// The domain-adaptation datasets: multi-domain layouts on small generated trees (Office-Home
// folders, DomainNet / mini-DomainNet lists, VisDA-2017 image lists), and the digits pair and
// CIFAR-10 sketches from ../shared/data.
#include <gtest/gtest.h>

#include <set>

#include "datasets/digits.h"
#include "datasets/loader.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::domain_layouts_test {

using datasets::load_split;
using datasets::testutil::error_of;
using datasets::testutil::fresh_dir;
using datasets::testutil::put;

int64_t count_label(const datasets::DatasetSplit& s, int64_t label) {
  int64_t n = 0;
  for (const auto& r : s.items) n += r.label == label;
  return n;
}

TEST(DomainLayouts, OfficeHomeFoldersGiveSharedClassesPerDomain) {
  const std::string root = fresh_dir("office_home_tree");
  const std::string dir = root + "/office_home";
  put(dir, "Art/Alarm_Clock/a1.jpg");
  put(dir, "Art/Alarm_Clock/a2.jpg");
  put(dir, "Art/Bike/b1.png");
  put(dir, "Clipart/Bike/c1.jpg");
  put(dir, "Clipart/Calendar/c2.jpg");
  put(dir, "Clipart/Calendar/c3.jpg");
  put(dir, "Clipart/Calendar/notes.txt");
  const auto art = load_split("office_home:Art", root, "train");
  const auto clipart = load_split("office_home:Clipart", root, "test");
  const std::vector<std::string> classes{"Alarm Clock", "Bike", "Calendar"};
  EXPECT_EQ(art.classnames, classes);
  EXPECT_EQ(clipart.classnames, classes);  // the union over domains: one label set
  EXPECT_EQ(art.items.size(), 3u);
  EXPECT_EQ(count_label(art, 0), 2);
  EXPECT_EQ(count_label(art, 1), 1);
  EXPECT_EQ(clipart.items.size(), 3u);
  EXPECT_EQ(count_label(clipart, 2), 2);
  EXPECT_EQ(art.domain, "Art");
  EXPECT_EQ(clipart.items[0].domain, "Clipart");
  EXPECT_EQ(art.dataset, "office_home:Art");
  // train and test are both the whole domain
  EXPECT_EQ(load_split("office_home:Art", root, "test").items.size(), 3u);
  EXPECT_NE(error_of([&] {
              load_split("office_home:Sketch", root, "train");
            }).find("no domain 'Sketch'; its domains: Art, Clipart"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_split("office_home", root, "train");
            }).find("name one: office_home:<domain>"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_split("cifar10:Art", root, "train"); }).find("has one domain"),
            std::string::npos);
}

TEST(DomainLayouts, DomainNetListsNameClassesByLabel) {
  const std::string root = fresh_dir("domainnet_tree");
  const std::string dir = root + "/domainnet";
  for (const char* f : {"clipart/aircraft_carrier/c_001.jpg", "clipart/aircraft_carrier/c_002.jpg",
                        "clipart/zebra/c_003.jpg", "clipart/zebra/c_004.jpg",
                        "sketch/aircraft_carrier/s_001.jpg", "sketch/zebra/s_002.jpg"}) {
    put(dir, f);
  }
  put(dir, "clipart_train.txt",
      "clipart/aircraft_carrier/c_001.jpg 0\nclipart/zebra/c_003.jpg 1\n"
      "clipart/zebra/c_004.jpg 1\n");
  put(dir, "clipart_test.txt", "clipart/aircraft_carrier/c_002.jpg 0\n");
  put(dir, "sketch_train.txt", "sketch/aircraft_carrier/s_001.jpg 0\nsketch/zebra/s_002.jpg 1\n");
  const auto train = load_split("domainnet:clipart", root, "train");
  const auto test = load_split("domainnet:clipart", root, "test");
  EXPECT_EQ(train.classnames, (std::vector<std::string>{"aircraft carrier", "zebra"}));
  EXPECT_EQ(test.classnames, train.classnames);
  EXPECT_EQ(train.items.size(), 3u);
  EXPECT_EQ(count_label(train, 1), 2);
  EXPECT_EQ(test.items.size(), 1u);
  EXPECT_EQ(train.items[0].path, dir + "/clipart/aircraft_carrier/c_001.jpg");
  // A missing list file is an error naming it.
  const std::string message = error_of([&] { load_split("domainnet:sketch", root, "train"); });
  EXPECT_NE(message.find(dir + "/sketch_test.txt"), std::string::npos) << message;
  EXPECT_NE(message.find("image list not found"), std::string::npos) << message;
  // mini-DomainNet: the same images, lists under splits_mini/.
  put(dir, "splits_mini/clipart_train.txt", "clipart/zebra/c_003.jpg 0\n");
  put(dir, "splits_mini/clipart_test.txt", "clipart/zebra/c_004.jpg 0\n");
  const auto mini = load_split("mini_domainnet:clipart", root, "test");
  EXPECT_EQ(mini.classnames, (std::vector<std::string>{"zebra"}));
  EXPECT_EQ(mini.items.size(), 1u);
  EXPECT_NE(error_of([&] {
              load_split("mini_domainnet:infograph", root, "train");
            }).find("clipart, painting, real, sketch"),
            std::string::npos);
  // A line without a label names the file and the line.
  put(dir, "splits_mini/painting_train.txt", "painting/zebra/p.jpg\n");
  put(dir, "splits_mini/painting_test.txt", "painting/zebra/p.jpg 0\n");
  const std::string bad = error_of([&] { load_split("mini_domainnet:painting", root, "train"); });
  EXPECT_NE(bad.find("painting_train.txt"), std::string::npos) << bad;
  EXPECT_NE(bad.find("line 1"), std::string::npos) << bad;
}

TEST(DomainLayouts, VisdaImageListsPerDomainFolder) {
  const std::string root = fresh_dir("visda_tree");
  const std::string dir = root + "/visda17";
  put(dir, "train/aeroplane/src_1.png");
  put(dir, "train/truck/src_2.png");
  put(dir, "validation/aeroplane/v_1.jpg");
  put(dir, "validation/knife/v_2.jpg");
  put(dir, "validation/knife/v_3.jpg");
  put(dir, "train/image_list.txt", "aeroplane/src_1.png 0\ntruck/src_2.png 11\n");
  put(dir, "validation/image_list.txt", "aeroplane/v_1.jpg 0\nknife/v_2.jpg 5\nknife/v_3.jpg 5\n");
  const auto synthetic = load_split("visda17:synthetic", root, "train");
  const auto real = load_split("visda17:real", root, "test");
  EXPECT_EQ(synthetic.classnames.size(), 12u);
  EXPECT_EQ(synthetic.classnames[5], "knife");
  EXPECT_EQ(synthetic.items.size(), 2u);
  EXPECT_EQ(synthetic.items[1].label, 11);
  EXPECT_EQ(real.items.size(), 3u);
  EXPECT_EQ(count_label(real, 5), 2);
  EXPECT_EQ(real.domain, "real");
  std::filesystem::remove(dir + "/validation/image_list.txt");
  const std::string message = error_of([&] { load_split("visda17:real", root, "train"); });
  EXPECT_NE(message.find(dir + "/validation/image_list.txt"), std::string::npos) << message;
}

TEST(DigitsDatasets, TwoRenderingsOneLabelSetFixedSplit) {
  VLP_REQUIRE_SHARED("data/digits/opencv_digits_20x20.png");
  VLP_REQUIRE_SHARED("data/digits/sklearn_digits_8x8.csv.gz");
  const std::string root = testing::shared_path("data/digits");
  const auto cv_train = load_split("digits-opencv", root, "train");
  const auto cv_test = load_split("digits-opencv", root, "test");
  EXPECT_EQ(cv_train.items.size(), 3750u);  // 500 per digit, a quarter held out
  EXPECT_EQ(cv_test.items.size(), 1250u);
  EXPECT_EQ(count_label(cv_train, 7), 375);
  EXPECT_EQ(cv_train.items[0].pixels.sizes(), (std::vector<int64_t>{20, 20, 3}));
  EXPECT_EQ(cv_train.domain, "opencv");
  const auto sk_train = load_split("digits-sklearn", root, "train");
  const auto sk_test = load_split("digits-sklearn", root, "test");
  EXPECT_EQ(sk_train.items.size() + sk_test.items.size(), 1797u);
  EXPECT_EQ(sk_train.items[0].pixels.sizes(), (std::vector<int64_t>{8, 8, 3}));
  EXPECT_EQ(sk_train.classnames, cv_train.classnames);
  EXPECT_EQ(sk_train.classnames[7], "seven");
  EXPECT_EQ(sk_train.domain, "sklearn");
  // The first row of digits.csv.gz (a 0), scaled 0..16 -> 0..255, is one of the zeros.
  const std::vector<int> row{0, 0, 5,  13, 9,  1,  0, 0, 0, 0, 13, 15, 10, 15, 5, 0,
                             0, 3, 15, 2,  0,  11, 8, 0, 0, 4, 12, 0,  0,  8,  8, 0,
                             0, 5, 8,  0,  0,  9,  8, 0, 0, 4, 11, 0,  1,  12, 7, 0,
                             0, 2, 14, 5,  10, 12, 0, 0, 0, 0, 6,  13, 10, 0,  0, 0};
  at::Tensor want = at::empty({8, 8}, at::kByte);
  for (int i = 0; i < 64; ++i) want.view({-1})[i] = (row[i] * 255 + 8) / 16;
  want = want.unsqueeze(2).repeat({1, 1, 3});
  int found = 0;
  for (const auto* split : {&sk_train, &sk_test}) {
    for (const auto& r : split->items) found += r.label == 0 && at::equal(r.pixels, want);
  }
  EXPECT_EQ(found, 1);
  // The split is fixed: loading again gives the same images.
  const auto again = load_split("digits-opencv", root, "test");
  EXPECT_TRUE(at::equal(again.items[17].pixels, cv_test.items[17].pixels));
  // and disjoint from train, with each class's held-out count round(n * 0.25)
  const auto held = datasets::held_out_indices(500, 0.25, 1, 3);
  EXPECT_EQ(held.size(), 125u);
  EXPECT_EQ(std::set<int64_t>(held.begin(), held.end()).size(), 125u);
}

TEST(DigitsDatasets, Cifar10SketchIsBlackLinesOnWhite) {
  VLP_REQUIRE_SHARED("data/cifar10/train");
  const std::string root = testing::shared_path("data");
  const auto photos = load_split("cifar10", root, "train");
  const auto sketches = load_split("cifar10-sketch", root, "train");
  ASSERT_EQ(sketches.items.size(), photos.items.size());
  EXPECT_EQ(sketches.classnames, photos.classnames);
  EXPECT_EQ(sketches.domain, "sketch");
  const at::Tensor s = sketches.items[3].pixels;
  EXPECT_EQ(sketches.items[3].label, photos.items[3].label);
  EXPECT_TRUE(sketches.items[3].path.empty());
  EXPECT_EQ(s.dim(), 3);
  // Only paper (255) and ink (0), mostly paper, some ink; identical on every load.
  EXPECT_EQ((s.eq(0).logical_or(s.eq(255))).all().item<bool>(), true);
  const double ink = s.eq(0).to(at::kFloat).mean().item<double>();
  EXPECT_GT(ink, 0.0);
  EXPECT_LT(ink, 0.5);
  EXPECT_TRUE(at::equal(load_split("cifar10-sketch", root, "train").items[3].pixels, s));
}

}  // namespace vlprompt::domain_layouts_test
