// vlprompt zeroshot and predict on an ad-hoc image folder with one unreadable file.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace {

// root/{cat,dog}/ with two CIFAR JPEGs each, plus a corrupt "image" in dog/.
std::string folder_with_a_bad_image() {
  const std::string root = scratch_dir("zs_folder");
  const std::string cifar = shared_path("data/cifar10/test/");
  for (const auto& [cls, src] :
       {std::pair<std::string, std::string>{"cat", "cat"}, {"dog", "dog"}}) {
    std::filesystem::create_directories(root + "/" + cls);
    for (const char* f : {"0001.jpg", "0002.jpg"}) {
      std::filesystem::copy_file(cifar + src + "/" + f, root + "/" + cls + "/" + f,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
  core::atomic_write(root + "/dog/broken.jpg", "these bytes are not a JPEG");
  return root;
}

TEST(ZeroshotCli, UnreadableImageFailsNamingItOrIsSkippedAndListed) {
  VLP_REQUIRE_SHARED("data/cifar10/test/cat/0001.jpg");
  const std::string root = folder_with_a_bad_image();
  const std::string model = tiny_model();
  const std::string vocab_arg = quoted(vocab());
  const std::string out = scratch_dir("zs_skip");
  const std::string base = "zeroshot --model " + quoted(model) + " --vocab " + vocab_arg +
                           " --dataset " + quoted(root) + " --no-cache --out " + quoted(out);
  const CliResult failed = run_cli(base);
  EXPECT_NE(failed.status, 0);
  EXPECT_NE(failed.output.find("broken.jpg"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("--skip-unreadable"), std::string::npos) << failed.output;

  const CliResult ok = run_cli(base + " --skip-unreadable");
  ASSERT_EQ(ok.status, 0) << ok.output;
  const auto results = read_json(out + "/results.json");
  EXPECT_EQ(results["skipped_unreadable"]["count"], 1);
  EXPECT_NE(results["skipped_unreadable"]["files"][0].get<std::string>().find("broken.jpg"),
            std::string::npos);
  EXPECT_EQ(results["dataset"]["n"], 4);
  EXPECT_EQ(results["results"][0]["confusion"].size(), 2u);

  const CliResult predicted =
      run_cli("predict --model " + quoted(model) + " --vocab " + vocab_arg +
              " --classes 'cat, dog' --json " + quoted(root + "/cat/0001.jpg"));
  ASSERT_EQ(predicted.status, 0) << predicted.output;
  const auto line = printed_json(predicted.output);
  ASSERT_EQ(line["top"].size(), 2u);
  const double p = line["top"][0]["prob"].get<double>() + line["top"][1]["prob"].get<double>();
  EXPECT_NEAR(p, 1.0, 1e-5);
}

// A miniature CoOp split dataset (catalog entry oxford_pets with three classes) whose test list
// names one image that is not on disk.
std::string pets_with_a_missing_image() {
  const std::string root = scratch_dir("zs_pets");
  const std::string cifar = shared_path("data/cifar10/test/");
  std::filesystem::create_directories(root + "/oxford_pets/images");
  for (const auto& [dst, src] :
       {std::pair<std::string, std::string>{"abyssinian_1.jpg", "cat"}, {"boxer_1.jpg", "dog"}}) {
    std::filesystem::copy_file(cifar + src + "/0001.jpg", root + "/oxford_pets/images/" + dst,
                               std::filesystem::copy_options::overwrite_existing);
  }
  core::atomic_write(root + "/oxford_pets/split_zhou_OxfordPets.json", R"({
    "train": [["abyssinian_1.jpg", 0, "abyssinian"]],
    "val": [["boxer_1.jpg", 1, "boxer"]],
    "test": [["abyssinian_1.jpg", 0, "abyssinian"], ["boxer_1.jpg", 1, "boxer"],
             ["great_pyrenees_9.jpg", 2, "great_pyrenees"]]
  })");
  const std::string catalog = scratch_dir("zs_pets_catalog");
  core::atomic_write(catalog + "/oxford_pets.yaml",
                     "name: oxford_pets\nlayout: coop_split\ndataset_dir: oxford_pets\n"
                     "split_file: split_zhou_OxfordPets.json\nimage_dir: images\nnum_classes: 3\n"
                     "template: \"a photo of a {}, a type of pet.\"\n");
  setenv("VLPROMPT_CATALOG_DIR", catalog.c_str(), 1);  // inherited by the CLI
  return root;
}

TEST(ZeroshotCli, ImageMissingFromASplitFileIsNamedOrSkippedAndListed) {
  VLP_REQUIRE_SHARED("data/cifar10/test/cat/0001.jpg");
  const std::string root = pets_with_a_missing_image();
  const std::string model = tiny_model();
  const std::string vocab_arg = quoted(vocab());
  const std::string out = scratch_dir("zs_pets_out");
  const std::string base = "zeroshot --model " + quoted(model) + " --vocab " + vocab_arg +
                           " --dataset oxford_pets --data-root " + quoted(root) +
                           " --no-cache --out " + quoted(out);
  const CliResult failed = run_cli(base);
  EXPECT_NE(failed.status, 0);
  EXPECT_NE(failed.output.find("great_pyrenees_9.jpg"), std::string::npos) << failed.output;

  const CliResult ok = run_cli(base + " --skip-unreadable");
  ASSERT_EQ(ok.status, 0) << ok.output;
  const auto results = read_json(out + "/results.json");
  EXPECT_EQ(results["skipped_unreadable"]["count"], 1);
  EXPECT_NE(
      results["skipped_unreadable"]["files"][0].get<std::string>().find("great_pyrenees_9.jpg"),
      std::string::npos);
  EXPECT_EQ(results["dataset"]["n"], 2);

  // predict takes the class names from the split file; the missing image does not matter there.
  const CliResult predicted =
      run_cli("predict --model " + quoted(model) + " --vocab " + vocab_arg +
              " --dataset oxford_pets --data-root " + quoted(root) + " --json " +
              quoted(root + "/oxford_pets/images/boxer_1.jpg"));
  unsetenv("VLPROMPT_CATALOG_DIR");
  ASSERT_EQ(predicted.status, 0) << predicted.output;
  const auto line = printed_json(predicted.output);
  std::set<std::string> labels;
  for (const auto& t : line["top"]) labels.insert(t["label"].get<std::string>());
  EXPECT_EQ(labels, (std::set<std::string>{"abyssinian", "boxer", "great pyrenees"}));
}

}  // namespace
}  // namespace vlprompt::testing
