// DAPL through the CLI: `train --method dapl --target`, end to end on the digits pair and on
// CIFAR-10 -> its sketches; target labels provably unread by training; resume after a kill; and
// `eval` / `predict --domain` choosing the domain whose prompts classify.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "src/core/npy.h"
#include "src/delta/delta_file.h"
#include "tests/cli/cli_test_support.h"

extern char** environ;

namespace vlprompt::dapl_cli_test {

using testing::quoted;
using testing::read_json;
using testing::run_cli;

// A small DAPL run from digits-opencv (2 shots per digit) to 40 digits-sklearn images.
std::string digits_args(const std::string& out, const std::string& extra, int shots = 2) {
  return "train --method dapl --model " + quoted(testing::tiny_model()) + " --vocab " +
         quoted(testing::vocab()) + " --dataset digits-opencv --target digits-sklearn" +
         " --data-root " + quoted(testing::shared_path("data/digits")) + " --shots " +
         std::to_string(shots) + " --target-max 40 --seed 1 --out " + quoted(out) +
         " dapl.n_ctx=2 dapl.n_dmx=2 dapl.tau=0.2 train.batch_size=10 train.target_batch_size=10 "
         "train.progress=off " +
         extra;
}

std::vector<nlohmann::json> metrics_of(const std::string& run) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(core::read_file(run + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// The digits run several tests read, made once per build of the binary.
std::string digits_run() {
  const std::string dir = testing::scratch_dir("runs") + "/dapl-digits";
  testing::ScratchLock lock("run-dapl-digits");
  if (!testing::is_fresh(dir + "/results.json")) {
    std::filesystem::remove_all(dir);
    const testing::CliResult r = run_cli(digits_args(dir, "train.max_epoch=2"));
    if (r.status != 0) ADD_FAILURE() << "dapl digits run failed:\n" << r.output;
  }
  return dir;
}

void expect_pseudo_label_metrics(const std::string& run, size_t epochs) {
  const auto metrics = metrics_of(run);
  ASSERT_EQ(metrics.size(), epochs);
  for (const auto& m : metrics) {
    ASSERT_TRUE(m.contains("pseudo_share")) << m.dump();  // this epoch's training views
    ASSERT_TRUE(m.contains("pseudo_kept")) << m.dump();   // the target images, center view
    EXPECT_GE(m["pseudo_share"].get<double>(), 0.0);
    EXPECT_LE(m["pseudo_share"].get<double>(), 1.0);
    if (m["pseudo_kept"].get<double>() > 0) {
      ASSERT_TRUE(m.contains("pseudo_accuracy")) << m.dump();
      EXPECT_GE(m["pseudo_accuracy"].get<double>(), 0.0);
      EXPECT_LE(m["pseudo_accuracy"].get<double>(), 100.0);
    }
  }
}

TEST(DaplCli, DigitsPairEndToEnd) {
  VLP_REQUIRE_SHARED("data/digits/sklearn_digits_8x8.csv.gz");
  const std::string run = digits_run();
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_EQ(results["training"]["selected"], "last");
  EXPECT_NE(results["training"]["selected_on"].get<std::string>().find("last epoch"),
            std::string::npos);
  EXPECT_EQ(results["domain_adaptation"]["domains"], (nlohmann::json{"opencv", "sklearn"}));
  EXPECT_EQ(results["domain_adaptation"]["unlabelled_target_images"], 40);
  EXPECT_EQ(results["domain_adaptation"]["target_labels_read_by_training"], false);
  EXPECT_EQ(results["classnames"].size(), 10u);
  expect_pseudo_label_metrics(run, 2);
  const delta::DeltaFile file = delta::read_delta(run + "/delta.safetensors");
  EXPECT_EQ(file.info.method, "dapl");
  EXPECT_EQ(file.info.hyperparameters.at("domains"), "opencv,sklearn");
  EXPECT_EQ(file.info.training.value("target", std::string()), "digits-sklearn");
  EXPECT_EQ(file.tensors.at("dapl.dmx").sizes(), (std::vector<int64_t>{2, 2, 64}));
}

TEST(DaplCli, Cifar10ToSketches) {
  VLP_REQUIRE_SHARED("data/cifar10/train");
  const std::string run = testing::scratch_dir("runs") + "/dapl-cifar-sketch";
  std::filesystem::remove_all(run);
  const testing::CliResult r = run_cli(
      "train --method dapl --model " + quoted(testing::tiny_model()) + " --vocab " +
      quoted(testing::vocab()) + " --dataset cifar10 --target cifar10-sketch --data-root " +
      quoted(testing::shared_path("data")) + " --shots 1 --target-max 20 --no-augment --out " +
      quoted(run) + " dapl.n_ctx=2 dapl.n_dmx=2 train.max_epoch=1 train.batch_size=5 " +
      "train.target_batch_size=5 train.progress=off");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_EQ(results["domain_adaptation"]["domains"], (nlohmann::json{"cifar10", "sketch"}));
  EXPECT_EQ(results["training"]["selected"], "last");
  EXPECT_EQ(results["test"]["n"], 3000);  // the sketches' test split
  expect_pseudo_label_metrics(run, 1);
}

// 12 classes x 2 tiny PPM images per VisDA domain, with the image lists.
void write_visda(const std::string& dir, int label_shift) {
  std::string lists[2];
  for (int d = 0; d < 2; ++d) {
    const std::string folder = d == 0 ? "train" : "validation";
    for (int c = 0; c < 12; ++c) {
      for (int i = 0; i < 2; ++i) {
        const std::string rel = "c" + std::to_string(c) + "/img" + std::to_string(i) + ".ppm";
        std::string ppm = "P6\n8 8\n255\n";
        for (int p = 0; p < 64; ++p) {
          ppm += static_cast<char>((c * 20 + p * 3 + d * 50) % 256);
          ppm += static_cast<char>((c * 7 + i * 90 + p) % 256);
          ppm += static_cast<char>((p * 11 + d * 13) % 256);
        }
        core::atomic_write(dir + "/visda17/" + folder + "/" + rel, ppm);
        // The target's labels (validation/, "real") may be shifted: same files, same order.
        const int label = d == 1 ? (c + label_shift) % 12 : c;
        lists[d] += rel + " " + std::to_string(label) + "\n";
      }
    }
    core::atomic_write(dir + "/visda17/" + folder + "/image_list.txt", lists[d]);
  }
}

std::string visda_args(const std::string& root, const std::string& out) {
  return "train --method dapl --model " + quoted(testing::tiny_model()) + " --vocab " +
         quoted(testing::vocab()) + " --dataset visda17:synthetic --target visda17:real" +
         " --data-root " + quoted(root) + " --shots 1 --seed 2 --out " + quoted(out) +
         " dapl.n_ctx=2 dapl.n_dmx=2 dapl.tau=0.1 train.max_epoch=2 train.batch_size=4 "
         "train.target_batch_size=6 train.progress=off";
}

TEST(DaplCli, TargetLabelsNeverReachTraining) {
  const std::string base = testing::scratch_dir("dapl_labels");
  std::filesystem::remove_all(base);
  core::TensorMap deltas[2];
  double accuracy[2] = {0, 0};
  for (int shift = 0; shift < 2; ++shift) {
    const std::string root = base + "/data" + std::to_string(shift);
    write_visda(root, shift == 0 ? 0 : 5);
    const std::string run = base + "/run" + std::to_string(shift);
    const testing::CliResult r = run_cli(visda_args(root, run));
    ASSERT_EQ(r.status, 0) << r.output;
    deltas[shift] = delta::read_delta(run + "/delta.safetensors").tensors;
    accuracy[shift] = metrics_of(run).back().value("pseudo_accuracy", -1.0);
  }
  ASSERT_EQ(deltas[0].size(), 2u);
  for (const auto& [name, t] : deltas[0]) {
    const at::Tensor& other = deltas[1].at(name);
    ASSERT_EQ(t.sizes(), other.sizes()) << name;
    EXPECT_EQ(std::memcmp(t.data_ptr(), other.data_ptr(), t.nbytes()), 0)
        << name << " differs when only the target's labels differ";
  }
  // The labels did differ, and only the report read them.
  EXPECT_NE(accuracy[0], accuracy[1]);
}

int64_t checkpoint_epoch(const std::string& run) {
  try {
    return read_json(run + "/checkpoint/checkpoint.json").value("epoch", int64_t{0});
  } catch (const std::exception&) {
    return 0;
  }
}

TEST(DaplCli, ResumeAfterAKillGivesTheSameDelta) {
  VLP_REQUIRE_SHARED("data/digits/sklearn_digits_8x8.csv.gz");
  const std::string base = testing::scratch_dir("dapl_resume");
  std::filesystem::remove_all(base);
  const std::string whole = base + "/whole", killed = base + "/killed";
  const std::string extra = "train.max_epoch=3";
  const testing::CliResult first = run_cli(digits_args(whole, extra, 8));
  ASSERT_EQ(first.status, 0) << first.output;
  testing::set_cli_environment();
  const std::string cmd = "exec " + std::string(VLPROMPT_CLI) + " " +
                          digits_args(killed, extra, 8) + " >" + quoted(base + "/killed.log") +
                          " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  int status = 0;
  bool ended = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (checkpoint_epoch(killed) < 1 && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(ended) << core::read_file(base + "/killed.log");
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ASSERT_LT(checkpoint_epoch(killed), 3) << "the run finished before it could be killed";
  const testing::CliResult resumed = run_cli("train --resume " + quoted(killed));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const auto a = delta::read_delta(whole + "/delta.safetensors").tensors;
  const auto b = delta::read_delta(killed + "/delta.safetensors").tensors;
  for (const auto& [name, t] : a) {
    EXPECT_TRUE(at::equal(t, b.at(name))) << name;
  }
  EXPECT_EQ(read_json(killed + "/results.json")["training"]["resumed"], true);
}

TEST(DaplCli, EvalAndPredictUseTheChosenDomainsPrompts) {
  VLP_REQUIRE_SHARED("data/digits/sklearn_digits_8x8.csv.gz");
  const std::string run = digits_run();
  const std::string base = testing::scratch_dir("dapl_domain");
  const std::string common = "--delta " + quoted(run + "/delta.safetensors") + " --model " +
                             quoted(testing::tiny_model()) + " --vocab " + quoted(testing::vocab());
  // predict: the same pixels through each domain's prompts.
  const std::string pixels = base + "/pixels.npy";
  core::write_npy(pixels, at::randn({3, 3, 64, 64}, at::TensorOptions().dtype(at::kFloat)));
  at::Tensor logits[3];
  const char* domains[3] = {"", "opencv", "sklearn"};
  for (int i = 0; i < 3; ++i) {
    const std::string out = base + "/logits" + std::to_string(i) + ".npy";
    const testing::CliResult r =
        run_cli("predict " + common + " --dataset digits-sklearn --pixels " + quoted(pixels) +
                " --logits-out " + quoted(out) +
                (*domains[i] ? std::string(" --domain ") + domains[i] : ""));
    ASSERT_EQ(r.status, 0) << r.output;
    logits[i] = core::read_npy(out);
  }
  EXPECT_FALSE(at::allclose(logits[1], logits[2]));  // the two domains' prompts differ
  EXPECT_TRUE(at::equal(logits[0], logits[2]));      // the default is the target
  // eval --domain records which prompts it used
  const std::string eval_out = base + "/eval-opencv";
  const testing::CliResult e = run_cli("eval " + common + " --dataset digits-sklearn --data-root " +
                                       quoted(testing::shared_path("data/digits")) +
                                       " --domain opencv --out " + quoted(eval_out));
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_EQ(read_json(eval_out + "/results.json")["domain"], "opencv");
  // An unknown domain names the delta's domains.
  const testing::CliResult bad = run_cli("predict " + common + " --dataset digits-sklearn " +
                                         "--pixels " + quoted(pixels) + " --domain clipart");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("no prompts for domain 'clipart'; this delta's domains: opencv, "
                            "sklearn"),
            std::string::npos)
      << bad.output;
}

TEST(DaplCli, TargetNeedsOneLabelSetAndADomainAwareMethod) {
  VLP_REQUIRE_SHARED("data/digits/sklearn_digits_8x8.csv.gz");
  VLP_REQUIRE_SHARED("data/cifar10/train");
  const std::string base = testing::scratch_dir("dapl_target_errors");
  std::filesystem::remove_all(base);
  const std::string model =
      " --model " + quoted(testing::tiny_model()) + " --vocab " + quoted(testing::vocab());
  const testing::CliResult classes =
      run_cli("train --method dapl" + model + " --dataset digits-opencv --data-root " +
              quoted(testing::shared_path("data/digits")) + " --target cifar10-sketch " +
              "--target-data-root " + quoted(testing::shared_path("data")) + " --shots 1 --out " +
              quoted(base + "/classes"));
  EXPECT_NE(classes.status, 0);
  EXPECT_NE(classes.output.find("domain adaptation needs one label set"), std::string::npos)
      << classes.output;
  const testing::CliResult coop = run_cli(
      "train --method coop" + model + " --dataset digits-opencv --target digits-sklearn " +
      "--data-root " + quoted(testing::shared_path("data/digits")) +
      " --shots 1 --target-max 10 --no-augment train.max_epoch=1 --out " + quoted(base + "/coop"));
  EXPECT_NE(coop.status, 0);
  EXPECT_NE(coop.output.find("does not adapt to a target domain"), std::string::npos)
      << coop.output;
}

}  // namespace vlprompt::dapl_cli_test
