// The Delta Tuning methods end to end from the CLI, one method name on either model kind: each
// trains on the shipped tiny-pretrained CLIP (Fashion-MNIST, 16 shots) past the hand-written
// prompt and on tiny-pretrained-lm (fortunes, 16 shots) past the zero-prompt model; the delta
// file holds the delta's tensors only; `eval` reproduces a run; a killed run resumes exactly.
#include <gtest/gtest.h>
#include <signal.h>

#include "src/core/npy.h"
#include "src/core/safetensors.h"
#include "tests/cli/cli_test_support.h"
#include "tests/cli/fortunes_runs.h"
#include "tests/cli/train_stop.h"

namespace vlprompt::testing {
namespace {

// A 16-shot Fashion-MNIST run of `method` (its YAML's settings) on tiny-pretrained, made once.
std::string clip_run(const std::string& method, const std::string& extra = "") {
  const std::string dir = scratch_dir("runs") + "/clip-" + method;
  ScratchLock lock("clip-run-" + method);
  if (!is_fresh(dir + "/results.json")) {
    std::filesystem::remove_all(dir);
    const CliResult r = run_cli("train --method " + method + " --model " +
                                quoted(pretrained_model()) + " --vocab " + quoted(vocab()) +
                                " --dataset fashion_mnist --shots 16 --seed 1 train.progress=off " +
                                extra + " --out " + quoted(dir));
    if (r.status != 0) ADD_FAILURE() << "train " << method << " failed:\n" << r.output;
  }
  return dir;
}

int64_t tensor_count(const std::string& file) {
  int64_t n = 0;
  for (const auto& [name, t] : core::read_safetensors(file).tensors) n += t.numel();
  return n;
}

// Measured (seed 1, the YAMLs' settings): LoRA 77.6, adapter 74.7, full fine-tuning 73.9, BitFit
// 72.6, LN tuning 72.1, IA3 71.4, Partial-1 (image tower) 73.2 against the hand-written prompt's
// 62.7; CoOp's committed 16-shot row is 75.4.
void expect_beats_hand_written(const std::string& method) {
  const std::string run = clip_run(method);
  const nlohmann::json results = read_json(run + "/results.json");
  const double top1 = results.at("test").at("top1"),
               manual = results.at("zeroshot_manual").at("top1");
  EXPECT_EQ(results.at("test").at("n").get<int64_t>(), 10000);
  EXPECT_GE(top1, manual + 5) << method << ": " << top1 << " vs hand-written " << manual;
  const std::vector<double> losses = losses_in(run + "/metrics.jsonl");
  ASSERT_GE(losses.size(), 2u);
  EXPECT_LT(losses.back(), losses.front()) << method << ": the loss did not fall";
  // Only the delta's own tensors, named after it, both towers (the YAML's towers: text,image).
  const auto file = core::read_safetensors(run + "/delta.safetensors");
  bool text = false, image = false;
  for (const auto& [name, t] : file.tensors) {
    EXPECT_EQ(name.rfind(method + ".", 0), 0u) << name;
    text = text || name.rfind(method + ".text.", 0) == 0;
    image = image || name.rfind(method + ".image.", 0) == 0;
  }
  EXPECT_TRUE(text && image) << method;
}

TEST(DeltaTuningCli, LoraBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_beats_hand_written("lora");
}
TEST(DeltaTuningCli, Ia3BeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_beats_hand_written("ia3");
}
TEST(DeltaTuningCli, AdapterBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_beats_hand_written("adapter");
}
TEST(DeltaTuningCli, BitFitBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_beats_hand_written("bitfit");
}
TEST(DeltaTuningCli, LnTuningBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_beats_hand_written("ln_tuning");
}

TEST(DeltaTuningCli, PartialBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = clip_run("partial");  // the image tower, the VPT paper's setting
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_GE(results.at("test").at("top1").get<double>(),
            results.at("zeroshot_manual").at("top1").get<double>() + 5);
}
TEST(DeltaTuningCli, FinetuneBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_beats_hand_written("finetune");
}

TEST(DeltaTuningCli, MlpHeadBeatsTheHandWrittenPromptOnCachedFeatures) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = clip_run("mlp_head");
  const nlohmann::json results = read_json(run + "/results.json");
  EXPECT_GE(results.at("test").at("top1").get<double>(),
            results.at("zeroshot_manual").at("top1").get<double>() + 5);
  // Three layers on the 64-wide feature: 64x64+64, 64x64+64, 10x64+10.
  EXPECT_EQ(tensor_count(run + "/delta.safetensors"), 2 * (64 * 64 + 64) + 10 * 64 + 10);
}

// Measured (seed 1): 67.98 against 62.66; the side network trains from scratch on 160 images.
TEST(DeltaTuningCli, SideTuningBeatsTheHandWrittenPromptOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  const nlohmann::json results = read_json(clip_run("side") + "/results.json");
  EXPECT_GE(results.at("test").at("top1").get<double>(),
            results.at("zeroshot_manual").at("top1").get<double>() + 3);
}

TEST(DeltaTuningCli, LoraBeatsTheZeroPromptModelOnTheLm) {
  VLP_REQUIRE_FORTUNES();
  const std::string run = fortunes_run("lora", "");
  expect_beats_zero_prompt(run);
  // r 8 on q_proj [128 -> 128] and v_proj [128 -> 64] (GQA) of 4 layers.
  EXPECT_EQ(tensor_count(run + "/delta.safetensors"), 4 * (8 * (128 + 128) + 8 * (128 + 64)));
}
TEST(DeltaTuningCli, Ia3BeatsTheZeroPromptModelOnTheLm) {
  VLP_REQUIRE_FORTUNES();
  expect_beats_zero_prompt(fortunes_run("ia3", ""));
}
TEST(DeltaTuningCli, AdapterBeatsTheZeroPromptModelOnTheLm) {
  VLP_REQUIRE_FORTUNES();
  expect_beats_zero_prompt(fortunes_run("adapter", ""));
}

TEST(DeltaTuningCli, FinetuneBeatsTheZeroPromptModelOnTheLm) {
  VLP_REQUIRE_FORTUNES();
  const std::string run = fortunes_run("finetune", "");
  expect_beats_zero_prompt(run);
  // Every tensor of the model, and nothing else (the tied head counted once).
  EXPECT_EQ(tensor_count(run + "/delta.safetensors"),
            tensor_count(pretrained_lm() + "/model.safetensors"));
  const CliResult inspect = run_cli("inspect " + quoted(run + "/delta.safetensors"));
  ASSERT_EQ(inspect.status, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("holds: only the tensors the run trained"), std::string::npos)
      << inspect.output;
  EXPECT_NE(inspect.output.find("trained copies of the backbone's own"), std::string::npos)
      << inspect.output;
}

// `eval` of a run's delta file gives the run's own test top-1.
void expect_eval_reproduces(const std::string& run, const std::string& name) {
  const std::string out = scratch_dir("delta-tuning-eval") + "/" + name;
  std::filesystem::remove_all(out);
  const CliResult r = run_cli("eval --delta " + quoted(run + "/delta.safetensors") + " --model " +
                              quoted(pretrained_model()) + " --vocab " + quoted(vocab()) +
                              " --dataset fashion_mnist --out " + quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NEAR(read_json(out + "/results.json")["test"]["top1"].get<double>(),
              read_json(run + "/results.json")["test"]["top1"].get<double>(), 1e-9);
}

TEST(DeltaTuningCli, EvalReproducesALoraRunOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  expect_eval_reproduces(clip_run("lora"), "lora");
}

// Uninterrupted vs killed after two epochs and resumed: the same delta, bit for bit.
void expect_exact_resume(const std::string& method, const std::string& model_args,
                         const std::string& data_args, const std::string& kind) {
  // One folder per model kind: ctest runs the CLIP and LM tests side by side.
  const std::string dir = scratch_dir("delta-tuning-resume-" + kind) + "/" + method;
  const std::string a = dir + "/uninterrupted", b = dir + "/killed";
  std::filesystem::remove_all(dir);
  const auto args = [&](const std::string& out) {
    return "train --method " + method + " " + model_args + " train.max_epoch=12 " + data_args +
           " train.progress=off --out " + quoted(out);
  };
  const CliResult ra = run_cli(args(a));
  ASSERT_EQ(ra.status, 0) << ra.output;
  std::string why;
  ASSERT_TRUE(train_and_stop(args(b), b, 2, SIGKILL, &why)) << why;
  const CliResult rb = run_cli("train --resume " + quoted(b));
  ASSERT_EQ(rb.status, 0) << rb.output;
  const auto da = core::read_safetensors(a + "/delta.safetensors").tensors;
  const auto db = core::read_safetensors(b + "/delta.safetensors").tensors;
  ASSERT_EQ(da.size(), db.size()) << method;
  for (const auto& [name, t] : da) EXPECT_TRUE(at::equal(t, db.at(name))) << method << " " << name;
  EXPECT_EQ(losses_in(a + "/metrics.jsonl"), losses_in(b + "/metrics.jsonl")) << method;
}

TEST(DeltaTuningCli, EveryMethodResumesExactlyAfterAKillOnClip) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string model = "--model " + quoted(tiny_model()) + " --vocab " + quoted(vocab());
  // Dropout on (LoRA's branch, the adapter's bottleneck): its draws must resume too.
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"lora", "lora.dropout=0.1"},
      {"ia3", ""},
      {"adapter", "adapter.dropout=0.1"},
      {"bitfit", ""},
      {"ln_tuning", ""},
      {"lora+coop", "coop.n_ctx=4 lora.dropout=0.1"}};
  for (const auto& [method, extra] : runs) {
    expect_exact_resume(method, model, "--dataset fashion_mnist --shots 2 --seed 4 " + extra,
                        "clip");
  }
}

TEST(DeltaTuningCli, LoraResumesExactlyAfterAKillOnTheLm) {
  VLP_REQUIRE_FORTUNES();
  expect_exact_resume("lora", "--model " + quoted(std::string(VLPROMPT_FIXTURE_DIR) + "/lm/tiny"),
                      "--dataset fortunes --shots 4 --seed 2 text.max_tokens=48 "
                      "train.batch_size=4 lora.r=2 lora.dropout=0.1",
                      "lm");
}

// The survey's sequential combination: an adapter trained on top of a LoRA held fixed.
TEST(DeltaTuningCli, AnAdapterTrainsOnTopOfAFrozenLora) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string lora = clip_run("lora") + "/delta.safetensors";
  const std::string out = scratch_dir("delta-tuning-sequential") + "/adapter-on-lora";
  std::filesystem::remove_all(out);
  const CliResult r =
      run_cli("train --method adapter --init-delta " + quoted(lora) + " --freeze-init --model " +
              quoted(pretrained_model()) + " --vocab " + quoted(vocab()) +
              " --dataset fashion_mnist --shots 16 --seed 1 train.max_epoch=2 "
              "train.progress=off --out " +
              quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto before = core::read_safetensors(lora).tensors;
  const auto after = core::read_safetensors(out + "/delta.safetensors").tensors;
  size_t adapters = 0;
  for (const auto& [name, t] : after) adapters += name.rfind("adapter.", 0) == 0;
  EXPECT_GT(adapters, 0u);
  for (const auto& [name, t] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_TRUE(at::equal(after.at(name), t)) << name << " moved although frozen";
  }
}

TEST(DeltaTuningCli, AStackOfLoraAndCoopRoundTripsThroughItsDeltaFile) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string run = clip_run("lora+coop", "coop.n_ctx=4 train.max_epoch=2");
  const auto file = core::read_safetensors(run + "/delta.safetensors");
  EXPECT_TRUE(file.tensors.count("coop.ctx"));
  EXPECT_TRUE(file.tensors.count("lora.image.layers.0.q_proj.lora_A"));
  expect_eval_reproduces(run, "lora-coop");
}

// `merge` folds the delta into the weights: the merged model alone gives the logits the model
// gives with the delta (CLIP: predict --logits-out; LM: lm score), and an adapter is refused.
TEST(DeltaTuningCli, MergedModelsGiveTheUnmergedLogits) {
  VLP_REQUIRE_FASHION_MNIST();
  const std::string dir = scratch_dir("delta-tuning-merge");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  at::manual_seed(3);
  core::write_npy(dir + "/pixels.npy", at::randn({3, 3, 64, 64}));
  for (const char* method : {"lora", "ia3", "bitfit", "ln_tuning"}) {
    const std::string run = clip_run(method);
    const std::string merged = dir + "/" + method + ".safetensors";
    const CliResult m = run_cli("merge --delta " + quoted(run + "/delta.safetensors") +
                                " --model " + quoted(pretrained_model()) + " --vocab " +
                                quoted(vocab()) + " --out " + quoted(merged));
    ASSERT_EQ(m.status, 0) << m.output;
    const std::string common = " --vocab " + quoted(vocab()) +
                               " --dataset fashion_mnist --pixels " + quoted(dir + "/pixels.npy");
    const CliResult a = run_cli("predict --model " + quoted(pretrained_model()) + " --delta " +
                                quoted(run + "/delta.safetensors") + common + " --logits-out " +
                                quoted(dir + "/a.npy"));
    ASSERT_EQ(a.status, 0) << a.output;
    const CliResult b = run_cli("predict --model " + quoted(merged) + common + " --logits-out " +
                                quoted(dir + "/b.npy"));
    ASSERT_EQ(b.status, 0) << b.output;
    const at::Tensor la = core::read_npy(dir + "/a.npy"), lb = core::read_npy(dir + "/b.npy");
    EXPECT_LT((la - lb).abs().max().item<double>(), 1e-4 * la.abs().max().item<double>()) << method;
    const CliResult plain = run_cli("predict --model " + quoted(pretrained_model()) + common +
                                    " --logits-out " + quoted(dir + "/c.npy"));
    ASSERT_EQ(plain.status, 0) << plain.output;
    EXPECT_GT((core::read_npy(dir + "/c.npy") - la).abs().max().item<double>(), 1e-2)
        << method << ": the delta changed nothing, so the comparison proves nothing";
  }
  const CliResult refused =
      run_cli("merge --delta " + quoted(clip_run("adapter") + "/delta.safetensors") + " --model " +
              quoted(pretrained_model()) + " --out " + quoted(dir + "/adapter.safetensors"));
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("member 'adapter' of adapter is not a change of the weights"),
            std::string::npos)
      << refused.output;
}

TEST(DeltaTuningCli, AMergedLmScoresAsTheLmWithItsDelta) {
  VLP_REQUIRE_FORTUNES();
  const std::string run = fortunes_run("lora", "");
  const std::string dir = scratch_dir("delta-tuning-merge-lm");
  std::filesystem::remove_all(dir);
  const CliResult m = run_cli("merge --delta " + quoted(run + "/delta.safetensors") + " --model " +
                              quoted(pretrained_lm()) + " --out " + quoted(dir + "/merged"));
  ASSERT_EQ(m.status, 0) << m.output;
  const std::string text = " --texts 'Never trust a computer you cannot lift. Topic:'";
  const CliResult a = run_cli("lm score --model " + quoted(pretrained_lm()) + " --delta " +
                              quoted(run + "/delta.safetensors") + text);
  const CliResult b = run_cli("lm score --model " + quoted(dir + "/merged") + text);
  const CliResult c = run_cli("lm score --model " + quoted(pretrained_lm()) + text);
  ASSERT_EQ(a.status, 0) << a.output;
  ASSERT_EQ(b.status, 0) << b.output;
  const auto logprobs = [](const std::string& out) {
    const size_t start = out.find("{\"ids\"");
    const size_t end = out.find('\n', start);
    return nlohmann::json::parse(out.substr(start, end - start))["logprobs"]
        .get<std::vector<double>>();
  };
  const std::vector<double> la = logprobs(a.output), lb = logprobs(b.output),
                            lc = logprobs(c.output);
  ASSERT_EQ(la.size(), lb.size());
  double most = 0, moved = 0;
  for (size_t i = 0; i < la.size(); ++i) {
    most = std::max(most, std::abs(la[i] - lb[i]));
    moved = std::max(moved, std::abs(la[i] - lc[i]));
  }
  EXPECT_LT(most, 1e-4);
  EXPECT_GT(moved, 1e-2) << "the LoRA changed nothing";

  // BitFit gives LLaMA's projections biases its folder format has no place for: refused, and
  // nothing is left at --out.
  const std::string tiny = std::string(VLPROMPT_FIXTURE_DIR) + "/lm/tiny";
  const CliResult bitfit = run_cli("train --method bitfit --model " + quoted(tiny) +
                                   " --dataset fortunes --shots 2 --seed 1 train.max_epoch=1 "
                                   "text.max_tokens=48 --out " +
                                   quoted(dir + "/bitfit"));
  ASSERT_EQ(bitfit.status, 0) << bitfit.output;
  const CliResult refused =
      run_cli("merge --delta " + quoted(dir + "/bitfit/delta.safetensors") + " --model " +
              quoted(tiny) + " --out " + quoted(dir + "/bitfit-merged"));
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("which a LLaMA folder has no place for"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bitfit-merged"));
}

}  // namespace
}  // namespace vlprompt::testing
