// The target side of domain adaptation (pipeline/domain_adaptation.h) in process, on image folders
// written here: one label set, two domains, a seeded subset chosen without labels, and the
// labelled copy kept apart from what training sees.
#include "pipeline/domain_adaptation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "datasets/loader.h"
#include "tests/test_support.h"

namespace vlprompt::pipeline {
namespace {

namespace fs = std::filesystem;

// root/{train,test}/<class>/<i>.pgm, `per_class` 4x4 gray images per class and split.
std::string image_folder(const std::string& name, const std::vector<std::string>& classes,
                         int per_class) {
  const std::string root = testing::scratch_dir(name);
  for (const char* split : {"train", "test"}) {
    for (const auto& c : classes) {
      fs::create_directories(root + "/" + split + "/" + c);
      for (int i = 0; i < per_class; ++i) {
        std::ofstream f(root + "/" + split + "/" + c + "/" + std::to_string(i) + ".pgm",
                        std::ios::binary);
        f << "P5 4 4 255\n" << std::string(16, static_cast<char>(40 * i));
      }
    }
  }
  return root;
}

TrainArgs args(const std::string& source, const std::string& target, int64_t target_max = 0,
               uint64_t seed = 1) {
  TrainArgs a;
  a.dataset = source;
  a.target = target;
  a.target_max = target_max;
  a.seed = seed;
  return a;
}

TEST(DomainAdaptation, TheTargetMustShareTheLabelSetAndBeAnotherDomain) {
  const std::string source = image_folder("source", {"cat", "dog"}, 2);
  const std::string other = image_folder("other-classes", {"cat", "fox"}, 2);
  const datasets::DatasetSplit train = datasets::load_split(source, "", "train");
  const std::string e1 = testing::error_of([&] { load_target(args(source, other), train); });
  EXPECT_NE(e1.find("--target " + other + " has the classes [cat, fox] but --dataset " + source +
                    " has [cat, dog]; domain adaptation needs one label set"),
            std::string::npos)
      << e1;
  const std::string e2 = testing::error_of([&] { load_target(args(source, source), train); });
  EXPECT_NE(e2.find("are both domain"), std::string::npos) << e2;
  const std::string target = image_folder("target", {"cat", "dog"}, 2);
  const std::string e3 = testing::error_of([&] { load_target(args(source, target, -1), train); });
  EXPECT_NE(e3.find("--target-max must be >= 0"), std::string::npos) << e3;
}

TEST(DomainAdaptation, TrainingSeesTheTargetUnlabelledAndTheSubsetFollowsTheSeedAlone) {
  const std::string source = image_folder("source2", {"cat", "dog"}, 2);
  const std::string target = image_folder("target2", {"cat", "dog"}, 6);
  const datasets::DatasetSplit train = datasets::load_split(source, "", "train");

  const TargetData all = load_target(args(source, target), train);
  EXPECT_EQ(all.unlabelled.items.size(), 12u);
  EXPECT_EQ(all.test.items.size(), 12u);
  EXPECT_EQ(all.domains, (std::vector<std::string>{train.domain, all.reference.domain}));

  const TargetData a = load_target(args(source, target, 5, 1), train);
  const TargetData again = load_target(args(source, target, 5, 1), train);
  const TargetData other_seed = load_target(args(source, target, 5, 2), train);
  ASSERT_EQ(a.unlabelled.items.size(), 5u);
  std::set<std::string> labels_seen;
  std::vector<std::string> paths, paths_again, paths_other;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(a.unlabelled.items[i].label, -1);
    EXPECT_EQ(a.unlabelled.items[i].path, a.reference.items[i].path);
    // The reference keeps each image's true label: its class folder.
    const std::string folder = fs::path(a.reference.items[i].path).parent_path().filename();
    EXPECT_EQ(a.reference.classnames[a.reference.items[i].label], folder);
    paths.push_back(a.unlabelled.items[i].path);
    paths_again.push_back(again.unlabelled.items[i].path);
    paths_other.push_back(other_seed.unlabelled.items[i].path);
  }
  EXPECT_EQ(paths, paths_again);
  EXPECT_NE(paths, paths_other);
  // The target's test split is whole: --target-max only thins what training sees.
  EXPECT_EQ(a.test.items.size(), 12u);
}

}  // namespace
}  // namespace vlprompt::pipeline
