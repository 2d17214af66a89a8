// Careless and hostile input on the text-LM, import and output paths: each refused with a message
// that names the option, file or value and what was expected, before any work is done. The
// commands run as users run them (a subprocess), so a hang or a crash fails the test too.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/cli/cli_test_support.h"

namespace vlprompt::testing {
namespace bad_input_cli_test {

std::string tiny_lm() { return std::string(VLPROMPT_FIXTURE_DIR) + "/lm/tiny"; }

void expect_refused(const CliResult& r, const std::string& message) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << "expected '" << message << "' in\n"
                                                       << r.output;
}

TEST(BadInputCli, GenerationOptionsOutsideTheirRangeAreRefused) {
  const std::string gen = "lm generate --model " + testing::quoted(tiny_lm()) + " --prompt hello ";
  expect_refused(run_cli(gen + "--max-new-tokens -1"),
                 "--max-new-tokens: expected an integer >= 1, got -1");
  expect_refused(run_cli(gen + "--temperature -0.5"),
                 "--temperature: expected a number in [0, inf), got -0.5");
  expect_refused(run_cli(gen + "--top-p nan"), "--top-p: expected a number in (0, 1], got nan");
  expect_refused(run_cli(gen + "--seed -1"), "--seed: expected an integer >= 0, got -1");
  // 10^9 new tokens cannot fit the fixture's 512 positions: refused at once, not run until killed.
  expect_refused(run_cli(gen + "--max-new-tokens 1000000000"),
                 "+ --max-new-tokens 1000000000 exceed the model's max_position_embeddings (512)");
  expect_refused(run_cli(gen + "--max-new-tokens 18446744073709551621"), "--max-new-tokens");
}

TEST(BadInputCli, ScoringRefusesAnEmptyBatchAnEmptyFileAndTextsPastThePositions) {
  const std::string score = "lm score --model " + testing::quoted(tiny_lm()) + " ";
  expect_refused(run_cli(score + "--texts a --batch-size 0"),
                 "--batch-size: expected an integer >= 1, got 0");
  expect_refused(run_cli(score + "--texts a --batch-size -1"),
                 "--batch-size: expected an integer >= 1, got -1");
  const std::string empty = scratch_dir("bad_input") + "/empty.jsonl";
  std::ofstream(empty).close();
  expect_refused(run_cli(score + "--jsonl " + testing::quoted(empty)), empty + ": holds no texts");
  std::string long_text;
  for (int i = 0; i < 700; ++i) long_text += "word ";
  expect_refused(run_cli(score + "--texts " + testing::quoted(long_text)),
                 "more than the model's max_position_embeddings (512)");
}

TEST(BadInputCli, AnEmptySlotInAClassListIsRefusedNotDropped) {
  const std::string predict = "predict --model tiny --vocab " + testing::quoted(vocab()) +
                              " --pixels " + testing::quoted(vocab()) + " ";
  expect_refused(run_cli(predict + "--classes airplane,,automobile,bird"),
                 "--classes has an empty name at position 2");
  expect_refused(run_cli(predict + "--classes 'airplane, ,bird'"),
                 "--classes has an empty name at position 2");
  expect_refused(run_cli(predict + "--classes airplane,bird,"), "--classes ends with a comma");
}

TEST(BadInputCli, AnOutputNeverReplacesADeviceAFifoOrAFolder) {
  const std::string dir = scratch_dir("bad_input") + "/outputs";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const std::string base =
      "embed --model tiny --vocab " + testing::quoted(vocab()) + " --texts 'a cat' ";
  expect_refused(run_cli(base + "--out " + testing::quoted(fifo)),
                 fifo + ": exists and is not a regular file (a device, FIFO or socket); refusing");
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  expect_refused(run_cli(base + "--out " + testing::quoted(dir)),
                 "is not a regular file (a folder)");
  expect_refused(run_cli(base + "--out /dev/null"), "/dev/null: exists and is not a regular file");
  expect_refused(run_cli(base + "--out ''"), "an output path is empty");
  expect_refused(
      run_cli("predict --model tiny --vocab " + testing::quoted(vocab()) +
              " --classes a,b --pixels " + testing::quoted(vocab()) + " --logits-out ''"),
      "--logits-out: expected a file path, got an empty one");
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
}

// A model folder whose files are a FIFO or a link to /dev/zero: refused at once, not waited on or
// read until memory runs out.
TEST(BadInputCli, AModelFolderOfFifosAndDevicesIsRefusedAtOnce) {
  namespace fs = std::filesystem;
  const std::string dir = scratch_dir("bad_input") + "/fifo_model";
  fs::remove_all(dir);
  fs::copy(tiny_lm(), dir, fs::copy_options::recursive);
  const std::string gen = "lm generate --max-new-tokens 2 --prompt hello --model ";
  fs::remove(dir + "/tokenizer_config.json");
  fs::create_symlink("/dev/zero", dir + "/tokenizer_config.json");
  expect_refused(run_cli(gen + testing::quoted(dir)),
                 dir + "/tokenizer_config.json: is a character device; expected a regular file");
  fs::remove(dir + "/config.json");
  ASSERT_EQ(::mkfifo((dir + "/config.json").c_str(), 0644), 0);
  expect_refused(run_cli(gen + testing::quoted(dir)),
                 dir + "/config.json: is a FIFO; expected a regular file");
}

TEST(BadInputCli, ANegativeExportEpochIsRefusedNotReplaced) {
  const CliResult r =
      run_cli("export --to coop " + testing::quoted(vocab()) + " --model tiny --epoch -3 --out y");
  expect_refused(r, "--epoch: expected an integer >= 0, got -3");
}

}  // namespace bad_input_cli_test
}  // namespace vlprompt::testing
