// vlprompt zeroshot and predict on an ad-hoc image folder with one unreadable file.
#include <gtest/gtest.h>

#include <filesystem>

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
  VLP_REQUIRE_SHARED(kVocabRel);
  const std::string root = folder_with_a_bad_image();
  const std::string model = tiny_model();
  const std::string vocab = quoted(shared_path(kVocabRel));
  const std::string out = scratch_dir("zs_skip");
  const std::string base = "zeroshot --model " + quoted(model) + " --vocab " + vocab +
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
      run_cli("predict --model " + quoted(model) + " --vocab " + vocab +
              " --classes 'cat, dog' --json " + quoted(root + "/cat/0001.jpg"));
  ASSERT_EQ(predicted.status, 0) << predicted.output;
  const auto line = printed_json(predicted.output);
  ASSERT_EQ(line["top"].size(), 2u);
  const double p = line["top"][0]["prob"].get<double>() + line["top"][1]["prob"].get<double>();
  EXPECT_NEAR(p, 1.0, 1e-5);
}

}  // namespace
}  // namespace vlprompt::testing
