// CLIP-Adapter, Tip-Adapter and Tip-Adapter-F end to end from the CLI on the shipped
// tiny-pretrained CLIP (Fashion-MNIST, 16 shots, seed 1, cached center-view features): each beats
// the hand-written prompt; Tip-Adapter's alpha and beta are chosen on val, recorded as such, kept
// in the delta file (eval and predict reproduce the run), and do not move when every test label
// is changed.
#include <gtest/gtest.h>
#include <signal.h>

#include "datasets/idx.h"
#include "src/core/file_io.h"
#include "src/core/npy.h"
#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/train_stop.h"

namespace vlprompt::testing {
namespace {

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// A 16-shot run of `method` (its YAML's settings, center-view features), made once per binary.
std::string adapter_run(const std::string& method, const std::string& name,
                        const std::string& extra = "") {
  const std::string dir = scratch_dir("runs") + "/feature-adapters-" + name;
  ScratchLock lock("feature-adapters-" + name);
  if (!is_fresh(dir + "/results.json")) {
    std::filesystem::remove_all(dir);
    const CliResult r = run_cli("train --method " + method + " --model " +
                                quoted(pretrained_model()) + " --vocab " + quoted(vocab()) +
                                " --dataset fashion_mnist --shots 16 --seed 1 --no-augment " +
                                "train.progress=off " + extra + " --out " + quoted(dir));
    if (r.status != 0) ADD_FAILURE() << "train " << method << " failed:\n" << r.output;
  }
  return dir;
}

double fa_top1(const nlohmann::json& results) { return results.at("test").at("top1"); }
double fa_manual(const nlohmann::json& results) { return results.at("zeroshot_manual").at("top1"); }

// Measured (seed 1, --no-augment, full test split): hand-written 62.66, CLIP-Adapter 71.75,
// Tip-Adapter 70.50, Tip-Adapter-F 70.46.
TEST(FeatureAdaptersCli, ClipAdapterBeatsTheHandWrittenPrompt) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = adapter_run("clip_adapter", "clip_adapter");
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_EQ(results.at("test").at("n").get<int64_t>(), 10000);
  EXPECT_GE(fa_top1(results), fa_manual(results) + 5)
      << fa_top1(results) << " vs " << fa_manual(results);
  // Two bias-free layers on the 64-wide feature: 64 -> 16 -> 64.
  int64_t n = 0;
  for (const auto& [name, t] : core::read_safetensors(run + "/delta.safetensors").tensors) {
    EXPECT_EQ(name.rfind("clip_adapter.", 0), 0u) << name;
    n += t.numel();
  }
  EXPECT_EQ(n, 2 * 64 * 64 / 4);
}

TEST(FeatureAdaptersCli, TipAdapterIsFittedAndSearchedOnValOnly) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = adapter_run("tip_adapter", "tip_adapter");
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_GE(fa_top1(results), fa_manual(results) + 5)
      << fa_top1(results) << " vs " << fa_manual(results);
  const nlohmann::json& search = results.at("val_search");
  EXPECT_EQ(search.at("split"), "val");
  EXPECT_EQ(search.at("n").get<int64_t>(), results.at("n").at("val").get<int64_t>());
  EXPECT_EQ(search.at("n").get<int64_t>(), 40);  // min(16, 4) per class
  EXPECT_EQ(search.at("grid").at("points").get<int64_t>(), 200 * 20);
  EXPECT_EQ(results.at("few_shot_cache").at("images").get<int64_t>(), 160);
  EXPECT_EQ(results.at("few_shot_cache").at("views").get<int64_t>(), 10);
  // The chosen values are the delta's hyper-parameters.
  const auto& hp = results.at("hyperparameters");
  EXPECT_DOUBLE_EQ(std::stod(hp.at("alpha").get<std::string>()), search.at("alpha").get<double>());
  EXPECT_DOUBLE_EQ(std::stod(hp.at("beta").get<std::string>()), search.at("beta").get<double>());
  EXPECT_EQ(hp.at("cache_size"), "160");
  // eval of the delta file gives the run's test top-1.
  const std::string out = scratch_dir("feature-adapters-eval") + "/tip";
  std::filesystem::remove_all(out);
  const CliResult e = run_cli("eval --delta " + quoted(run + "/delta.safetensors") + " --model " +
                              quoted(pretrained_model()) + " --vocab " + quoted(vocab()) +
                              " --dataset fashion_mnist --out " + quoted(out));
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_NEAR(read_json(out + "/results.json")["test"]["top1"].get<double>(), fa_top1(results),
              1e-9);
  const CliResult inspect = run_cli("inspect " + quoted(run + "/delta.safetensors"));
  EXPECT_EQ(inspect.status, 0) << inspect.output;
}

// Every test label moved to the next class: the search, which reads val only, chooses the same
// alpha and beta, while the test top-1 collapses (so the labels did change).
TEST(FeatureAdaptersCli, TipAdaptersSearchNeverReadsTestLabels) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string root = scratch_dir("feature-adapters-corrupt-test");
  {
    ScratchLock lock("feature-adapters-corrupt-test");
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz"}) {
      std::filesystem::remove(root + "/" + f);
      std::filesystem::create_symlink(std::string(kFashionMnistDir) + "/" + f, root + "/" + f);
    }
    const at::Tensor labels =
        datasets::read_idx_labels(std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz");
    std::string idx = {0, 0, 8, 1};  // magic 2049, big-endian
    const uint32_t n = static_cast<uint32_t>(labels.size(0));
    for (int shift : {24, 16, 8, 0}) idx += static_cast<char>((n >> shift) & 0xff);
    for (int64_t i = 0; i < labels.size(0); ++i) {
      idx += static_cast<char>((labels[i].item<int64_t>() + 1) % 10);
    }
    core::atomic_write(root + "/t10k-labels-idx1-ubyte", idx);
  }
  const nlohmann::json clean =
      read_json(adapter_run("tip_adapter", "tip_adapter") + "/results.json");
  const nlohmann::json moved = read_json(
      adapter_run("tip_adapter", "tip_adapter-moved-test", "--data-root " + quoted(root)) +
      "/results.json");
  EXPECT_EQ(moved.at("val_search").at("alpha"), clean.at("val_search").at("alpha"));
  EXPECT_EQ(moved.at("val_search").at("beta"), clean.at("val_search").at("beta"));
  EXPECT_EQ(moved.at("val_search").at("val_top1"), clean.at("val_search").at("val_top1"));
  EXPECT_EQ(moved.at("hyperparameters"), clean.at("hyperparameters"));
  EXPECT_LT(fa_top1(moved), fa_top1(clean) - 30) << "the test labels did not change";
}

TEST(FeatureAdaptersCli, TipAdapterFBeatsTheHandWrittenPromptAndSelectsOnVal) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = adapter_run("tip_adapter_f", "tip_adapter_f");
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_GE(fa_top1(results), fa_manual(results) + 5)
      << fa_top1(results) << " vs " << fa_manual(results);
  EXPECT_EQ(results.at("training").at("selected"), "best_val");
  EXPECT_EQ(results.at("val_search").at("split"), "val");
  const std::vector<double> losses = losses_in(run + "/metrics.jsonl");
  ASSERT_EQ(losses.size(), 20u);
  EXPECT_LT(losses.back(), losses.front());
  // predict with the delta file: the keys and the chosen alpha, beta classify pixels.
  const std::string dir = scratch_dir("feature-adapters-predict");
  at::manual_seed(3);
  core::write_npy(dir + "/pixels.npy", at::randn({2, 3, 64, 64}));
  const CliResult p = run_cli("predict --model " + quoted(pretrained_model()) + " --delta " +
                              quoted(run + "/delta.safetensors") + " --vocab " + quoted(vocab()) +
                              " --dataset fashion_mnist --pixels " + quoted(dir + "/pixels.npy") +
                              " --logits-out " + quoted(dir + "/logits.npy"));
  ASSERT_EQ(p.status, 0) << p.output;
  EXPECT_EQ(core::read_npy(dir + "/logits.npy").sizes(), (at::IntArrayRef{2, 10}));
}

// Killed after two epochs and resumed: the cache is rebuilt the same (its views are cached and
// seeded), the trained keys come back from the checkpoint, and the run ends where an
// uninterrupted one does, bit for bit, with the same val search.
TEST(FeatureAdaptersCli, TipAdapterFResumesExactlyAfterAKill) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string dir = scratch_dir("feature-adapters-resume");
  const std::string a = dir + "/uninterrupted", b = dir + "/killed";
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  const auto args = [&](const std::string& out) {
    return "train --method tip_adapter_f --model " + quoted(pretrained_model()) + " --vocab " +
           quoted(vocab()) +
           " --dataset fashion_mnist --shots 16 --seed 1 --no-augment train.max_epoch=60 "
           "train.progress=off --out " +
           quoted(out);
  };
  const CliResult ra = run_cli(args(a));
  ASSERT_EQ(ra.status, 0) << ra.output;
  std::string why;
  ASSERT_TRUE(train_and_stop(args(b), b, 2, SIGKILL, &why)) << why;
  const CliResult rb = run_cli("train --resume " + quoted(b));
  ASSERT_EQ(rb.status, 0) << rb.output;
  const auto da = core::read_safetensors(a + "/delta.safetensors").tensors;
  const auto db = core::read_safetensors(b + "/delta.safetensors").tensors;
  ASSERT_EQ(da.size(), 2u);
  for (const auto& [name, t] : da) EXPECT_TRUE(at::equal(t, db.at(name))) << name;
  const nlohmann::json ja = read_json(a + "/results.json"), jb = read_json(b + "/results.json");
  EXPECT_EQ(ja.at("val_search"), jb.at("val_search"));
  EXPECT_TRUE(jb.at("training").at("resumed").get<bool>());
}

// --init-delta both ways: Tip-Adapter on a frozen CoOp builds its cache and searches on val;
// CoOp trained on a frozen Tip-Adapter keeps the file's cache and its alpha and beta.
TEST(FeatureAdaptersCli, TipAdapterStacksWithInitDelta) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string coop = adapter_run("coop", "coop-2", "train.max_epoch=2 coop.n_ctx=4");
  const std::string tip = adapter_run("tip_adapter", "tip_adapter");
  const std::string tip_on_coop =
      adapter_run("tip_adapter", "tip-on-coop",
                  "--init-delta " + quoted(coop + "/delta.safetensors") + " --freeze-init");
  const nlohmann::json r1 = read_json(tip_on_coop + "/results.json");
  EXPECT_EQ(r1.at("method"), "coop+tip_adapter");
  EXPECT_EQ(r1.at("val_search").at("split"), "val");
  EXPECT_EQ(r1.at("training").at("fitted"), "few-shot cache, nothing trained");
  const std::string coop_on_tip =
      adapter_run("coop", "coop-on-tip",
                  "train.max_epoch=2 coop.n_ctx=4 --init-delta " +
                      quoted(tip + "/delta.safetensors") + " --freeze-init");
  const nlohmann::json r2 = read_json(coop_on_tip + "/results.json");
  EXPECT_FALSE(r2.contains("val_search"));
  const nlohmann::json hp = read_json(tip + "/results.json").at("hyperparameters");
  EXPECT_EQ(r2.at("hyperparameters").at("tip_adapter.alpha"), hp.at("alpha"));
  const auto before = core::read_safetensors(tip + "/delta.safetensors").tensors;
  const auto after = core::read_safetensors(coop_on_tip + "/delta.safetensors").tensors;
  EXPECT_TRUE(at::equal(before.at("tip_adapter.keys"), after.at("tip_adapter.keys")));
}

}  // namespace
}  // namespace vlprompt::testing
