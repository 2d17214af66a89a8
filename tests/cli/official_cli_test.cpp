// `vlprompt import` / `vlprompt export` end to end: official checkpoints imported through the CLI
// predict the official logits; exported files are read by Python's torch.load with the keys
// Dassl's load_model uses and the delta's values, and import back to identical tensors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "src/core/file_io.h"
#include "src/core/npy.h"
#include "src/delta/delta_file.h"
#include "tests/cli/cli_test_support.h"

namespace vlprompt::official_cli_test {

using testing::run_cli;

const char* const kCoopCheckpoint =
    "data/parity/coop_nctx4_rand_end/prompt_learner/model.pth.tar-50";
const char* const kTinyVit = "data/clip/reference_tiny_vit/tiny_vit.pt";

std::string parity(const std::string& rel) { return testing::shared_path("data/parity/" + rel); }
std::string cocoop_fixture(const std::string& rel) {
  return testing::source_path("tests/fixtures/official/cocoop_ctxv1/" + rel);
}
std::string scratch(const std::string& name) {
  return testing::scratch_dir("official_cli") + "/" + name;
}

std::string model_args() {
  return "--model " + testing::quoted(testing::shared_path(kTinyVit)) + " --vocab " +
         testing::quoted(testing::vocab());
}

std::string class_args() {
  // Held in a variable: a range-for over a member of a temporary would dangle.
  const nlohmann::json inputs = testing::read_json(parity("inputs/inputs.json"));
  std::string joined;
  for (const auto& c : inputs["classnames"]) {
    joined += (joined.empty() ? "" : ",") + c.get<std::string>();
  }
  return "--classes " + testing::quoted(joined);
}

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

void import_delta(const std::string& from, const std::string& checkpoint,
                  const std::string& delta) {
  const auto imported =
      run_cli("import --from " + from + " " + testing::quoted(checkpoint) + " " + model_args() +
              " " + class_args() + " --out " + testing::quoted(delta));
  EXPECT_EQ(imported.status, 0) << imported.output;
}

// import, then predict the shared pixels through the delta file; returns the logits.
at::Tensor import_and_predict(const std::string& from, const std::string& checkpoint,
                              const std::string& delta) {
  import_delta(from, checkpoint, delta);
  const std::string logits = delta + ".logits.npy";
  const auto predicted =
      run_cli("predict " + model_args() + " " + class_args() + " --delta " +
              testing::quoted(delta) + " --pixels " + testing::quoted(parity("inputs/pixels.npy")) +
              " --logits-out " + testing::quoted(logits));
  EXPECT_EQ(predicted.status, 0) << predicted.output;
  return core::read_npy(logits);
}

TEST(OfficialCli, ImportedCoopPredictsTheOfficialLogits) {
  VLP_REQUIRE_SHARED(kCoopCheckpoint);
  VLP_REQUIRE_SHARED(kTinyVit);
  const at::Tensor logits = import_and_predict("coop", testing::shared_path(kCoopCheckpoint),
                                               scratch("coop.safetensors"));
  EXPECT_LE(max_abs(logits, core::read_npy(parity("coop_nctx4_rand_end/logits.npy"))), 1e-4);
  const auto inspected = run_cli("inspect --json " + testing::quoted(scratch("coop.safetensors")));
  EXPECT_EQ(inspected.status, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("\"imported_from\""), std::string::npos) << inspected.output;
}

TEST(OfficialCli, ImportedCocoopPredictsTheOfficialLogits) {
  VLP_REQUIRE_SHARED(kTinyVit);
  const at::Tensor logits = import_and_predict(
      "cocoop", cocoop_fixture("prompt_learner/model.pth.tar-10"), scratch("cocoop.safetensors"));
  EXPECT_LE(max_abs(logits, core::read_npy(cocoop_fixture("logits.npy"))), 1e-4);
}

TEST(OfficialCli, UnknownFormatsAreRefusedByName) {
  const auto r =
      run_cli("import --from vpt " + testing::quoted(testing::vocab()) +
              " --model tiny --classes a,b --out " + testing::quoted(scratch("x.safetensors")));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no official checkpoint format 'vpt'; known: cocoop, coop"),
            std::string::npos)
      << r.output;
  for (const char* known : {"maple", "ivlp"}) {
    EXPECT_NE(r.output.find(known), std::string::npos) << r.output;
  }
  const auto e = run_cli("export --to vpt " + testing::quoted(testing::vocab()) +
                         " --model tiny --out " + testing::quoted(scratch("model.pth.tar-1")));
  EXPECT_NE(e.status, 0);
  EXPECT_NE(e.output.find("known: cocoop, coop"), std::string::npos) << e.output;
}

// MaPLe through the CLI: the official-format checkpoint (tests/fixtures/maple) imported and
// predicted gives the official logits; exported again and re-imported it predicts the same.
TEST(OfficialCli, ImportedMapleExportsAndImportsBackToTheOfficialLogits) {
  VLP_REQUIRE_SHARED(kTinyVit);
  const std::string fixture = testing::source_path("tests/fixtures/maple/maple/");
  const at::Tensor expected = core::read_npy(fixture + "logits.npy");
  EXPECT_LE(max_abs(import_and_predict("maple", fixture + "model.pth.tar-5",
                                       scratch("maple.safetensors")),
                    expected),
            1e-4);
  const std::string exported = scratch("maple-export/model.pth.tar-5");
  std::filesystem::create_directories(scratch("maple-export"));
  const auto e = run_cli("export --to maple " + testing::quoted(scratch("maple.safetensors")) +
                         " " + model_args() + " --out " + testing::quoted(exported));
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_LE(
      max_abs(import_and_predict("maple", exported, scratch("maple-again.safetensors")), expected),
      1e-4);
}

// The DAPL checkpoint LeapLabTHU/DAPrompt itself released (VisDA-2017, class-specific context;
// tests/fixtures/official/dapl_visda17) imports onto a ViT-B/16-shaped model with the values
// torch.load reads, and exports back to a file that imports to identical tensors. The domains'
// names are not in the file: without --domains the import says so.
TEST(OfficialCli, ReleasedDaplCheckpointImportsAndExportsBack) {
  const std::string checkpoint =
      testing::source_path("tests/fixtures/official/dapl_visda17/model-best.pth.tar");
  const std::string model = "--model ViT-B-16 --vocab " + testing::quoted(testing::vocab());
  const std::string delta = scratch("dapl.safetensors");
  const std::string common = " " + model + " --dataset visda17 --out ";
  const auto missing = run_cli("import --from dapl " + testing::quoted(checkpoint) + common +
                               testing::quoted(delta));
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.output.find("--domains SRC,TGT"), std::string::npos) << missing.output;

  const auto imported = run_cli("import --from dapl " + testing::quoted(checkpoint) +
                                " --domains synthetic,real" + common + testing::quoted(delta));
  ASSERT_EQ(imported.status, 0) << imported.output;
  const delta::DeltaFile file = delta::read_delta(delta);
  EXPECT_EQ(file.info.method, "dapl");
  EXPECT_EQ(file.info.hyperparameters.at("csc"), "true");
  EXPECT_EQ(file.info.hyperparameters.at("n_ctx"), "16");
  EXPECT_EQ(file.info.hyperparameters.at("n_dmx"), "16");
  EXPECT_EQ(file.info.hyperparameters.at("domains"), "synthetic,real");
  const at::Tensor ctx = file.tensors.at("dapl.ctx"), dmx = file.tensors.at("dapl.dmx");
  EXPECT_EQ(ctx.sizes(), (at::IntArrayRef{12, 16, 512}));
  EXPECT_EQ(dmx.sizes(), (at::IntArrayRef{2, 16, 512}));
  EXPECT_NEAR(ctx.to(at::kDouble).sum().item<double>(), 5.51513118519307, 1e-9);
  EXPECT_EQ(ctx[0][0][0].item<float>(), 0.03519149497151375f);
  EXPECT_NEAR(dmx.to(at::kDouble).sum().item<double>(), -2.658762902221838, 1e-9);

  const std::string exported = scratch("dapl-export/model.pth.tar-25");
  std::filesystem::create_directories(scratch("dapl-export"));
  const auto e = run_cli("export --to dapl " + testing::quoted(delta) + " " + model + " --out " +
                         testing::quoted(exported));
  ASSERT_EQ(e.status, 0) << e.output;
  const std::string again = scratch("dapl-again.safetensors");
  const auto r = run_cli("import --from dapl " + testing::quoted(exported) +
                         " --domains synthetic,real" + common + testing::quoted(again));
  ASSERT_EQ(r.status, 0) << r.output;
  const delta::DeltaFile back = delta::read_delta(again);
  EXPECT_TRUE(at::equal(back.tensors.at("dapl.ctx"), ctx));
  EXPECT_TRUE(at::equal(back.tensors.at("dapl.dmx"), dmx));
}

// For each (checkpoint, folder) pair: loads the checkpoint with torch.load and writes info.json
// (top-level keys, epoch, the state dict's type and keys, the zip layout) and one .npy per
// state_dict tensor into the folder. One Python start for all: importing torch takes seconds.
const char* const kReadWithTorch = R"PY(
import json, os, struct, sys, zipfile
import numpy as np, torch
def read(path, out):
  os.makedirs(out, exist_ok=True)
  ck = torch.load(path, map_location="cpu")
  info = {"keys": list(ck.keys()), "epoch": ck["epoch"],
          "none": [k for k in ("optimizer", "scheduler", "val_result") if ck[k] is None],
          "state_type": type(ck["state_dict"]).__name__,
          "state_keys": list(ck["state_dict"].keys())}
  for k, v in ck["state_dict"].items():
      np.save(os.path.join(out, k + ".npy"), v.numpy())
  z = zipfile.ZipFile(path)
  info["names"] = z.namelist()
  info["stored"] = all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
  aligned = True
  with open(path, "rb") as f:
      for i in z.infolist():
          f.seek(i.header_offset + 26)
          n, e = struct.unpack("<HH", f.read(4))
          aligned = aligned and (i.header_offset + 30 + n + e) % 64 == 0
  info["aligned"] = aligned
  # Plain data only: torch's safe loader (the default of torch.load from torch 2.6) takes it.
  try:
    torch.load(path, map_location="cpu", weights_only=True)
    info["weights_only"] = True
  except Exception:
    info["weights_only"] = False
  json.dump(info, open(os.path.join(out, "info.json"), "w"))

for i in range(1, len(sys.argv), 2):
  read(sys.argv[i], sys.argv[i + 1])
)PY";

bool python_has_torch() {
  return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0;
}

void read_with_torch(const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string script = scratch("read_with_torch.py");
  core::atomic_write(script, kReadWithTorch);
  std::string cmd = "/usr/bin/python3 " + testing::quoted(script);
  for (const auto& [checkpoint, out] : files) {
    cmd += " " + testing::quoted(checkpoint) + " " + testing::quoted(out);
  }
  EXPECT_EQ(std::system((cmd + " 2>&1").c_str()), 0) << cmd;
}

// Exports `delta` to --to `format`, reads it with torch, re-imports it; checks all three agree.
void round_trip(const std::string& format, const std::string& delta,
                const std::vector<std::string>& expected_keys, const std::string& official) {
  const std::string dir = scratch(format + "_export");
  std::filesystem::remove_all(dir);
  const std::string exported = dir + "/prompt_learner/model.pth.tar-7";
  const auto r = run_cli("export --to " + format + " " + testing::quoted(delta) + " " +
                         model_args() + " --out " + testing::quoted(exported));
  ASSERT_EQ(r.status, 0) << r.output;

  read_with_torch({{exported, dir + "/torch"}, {official, dir + "/official"}});
  const nlohmann::json info = testing::read_json(dir + "/torch/info.json");
  EXPECT_EQ(info["keys"],
            nlohmann::json({"state_dict", "epoch", "optimizer", "scheduler", "val_result"}));
  EXPECT_EQ(info["epoch"], 7);
  EXPECT_EQ(info["none"].size(), 3u);
  EXPECT_EQ(info["state_type"], "OrderedDict");
  EXPECT_EQ(info["state_keys"], nlohmann::json(expected_keys));
  EXPECT_TRUE(info["stored"]);
  EXPECT_TRUE(info["aligned"]);
  EXPECT_TRUE(info["weights_only"]);
  // The official file pickles its optimizer and scheduler objects, which the safe loader refuses:
  // the check above can fail.
  EXPECT_FALSE(testing::read_json(dir + "/official/info.json")["weights_only"]);
  EXPECT_EQ(info["names"][0], "model.pth/data.pkl");

  const delta::DeltaFile file = delta::read_delta(delta);
  for (const auto& key : expected_keys) {
    if (key.rfind("token_", 0) == 0) continue;
    const at::Tensor from_torch = core::read_npy(dir + "/torch/" + key + ".npy");
    EXPECT_TRUE(at::equal(from_torch, file.tensors.at(format + "." + key))) << key;
  }
  // The fixed token vectors equal the ones the official code saved for the same classes.
  for (const std::string key : {"token_prefix", "token_suffix"}) {
    const at::Tensor ours = core::read_npy(dir + "/torch/" + key + ".npy");
    const at::Tensor theirs = core::read_npy(dir + "/official/" + key + ".npy");
    ASSERT_EQ(ours.sizes(), theirs.sizes()) << key;
    EXPECT_LE(max_abs(ours, theirs), 1e-6) << key;
  }

  const std::string back = dir + "/back.safetensors";
  const auto again = run_cli("import --from " + format + " " + testing::quoted(exported) + " " +
                             model_args() + " " + class_args() + " --out " + testing::quoted(back));
  ASSERT_EQ(again.status, 0) << again.output;
  const delta::DeltaFile reread = delta::read_delta(back);
  ASSERT_EQ(reread.tensors.size(), file.tensors.size());
  for (const auto& [name, t] : file.tensors) {
    EXPECT_TRUE(at::equal(reread.tensors.at(name), t)) << name;
  }
  EXPECT_EQ(reread.info.hyperparameters, file.info.hyperparameters);
}

TEST(OfficialCli, ExportedCoopReadsBackInTorchAndImportsIdentically) {
  VLP_REQUIRE_SHARED(kCoopCheckpoint);
  VLP_REQUIRE_SHARED(kTinyVit);
  if (!python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot `import torch`";
  const std::string delta = scratch("coop_rt.safetensors");
  import_delta("coop", testing::shared_path(kCoopCheckpoint), delta);
  round_trip("coop", delta, {"ctx", "token_prefix", "token_suffix"},
             testing::shared_path(kCoopCheckpoint));
}

TEST(OfficialCli, ExportedCocoopReadsBackInTorchAndImportsIdentically) {
  VLP_REQUIRE_SHARED(kTinyVit);
  if (!python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot `import torch`";
  const std::string delta = scratch("cocoop_rt.safetensors");
  const std::string official = cocoop_fixture("prompt_learner/model.pth.tar-10");
  import_delta("cocoop", official, delta);
  round_trip("cocoop", delta,
             {"ctx", "meta_net.linear1.weight", "meta_net.linear1.bias", "meta_net.linear2.weight",
              "meta_net.linear2.bias", "token_prefix", "token_suffix"},
             official);
}

TEST(OfficialCli, ExportedTrainedClassSpecificCoopImportsIdentically) {
  // A delta trained by `vlprompt train` (class-specific context, [C, n_ctx, D]) goes out and back.
  VLP_REQUIRE_FASHION_MNIST();
  const std::string delta = testing::csc_run() + "/delta.safetensors";
  const std::string dir = scratch("trained_export");
  std::filesystem::remove_all(dir);
  const std::string exported = dir + "/prompt_learner/model.pth.tar-60";
  const std::string model = "--model " + testing::quoted(testing::tiny_model()) + " --vocab " +
                            testing::quoted(testing::vocab());
  const auto r = run_cli("export --to coop " + testing::quoted(delta) + " " + model + " --out " +
                         testing::quoted(exported));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string back = dir + "/back.safetensors";
  const auto again = run_cli("import --from coop " + testing::quoted(exported) + " " + model +
                             " --dataset fashion_mnist --out " + testing::quoted(back));
  ASSERT_EQ(again.status, 0) << again.output;
  const delta::DeltaFile trained = delta::read_delta(delta), reread = delta::read_delta(back);
  ASSERT_EQ(trained.tensors.at("coop.ctx").dim(), 3);
  EXPECT_TRUE(at::equal(reread.tensors.at("coop.ctx"), trained.tensors.at("coop.ctx")));
  for (const std::string key : {"n_ctx", "csc", "class_token_position", "ctx_init"}) {
    EXPECT_EQ(reread.info.hyperparameters.at(key), trained.info.hyperparameters.at(key)) << key;
  }
  EXPECT_EQ(reread.info.classnames, trained.info.classnames);
  if (!python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot `import torch`";
  read_with_torch({{exported, dir + "/torch"}});
  EXPECT_EQ(testing::read_json(dir + "/torch/info.json")["epoch"], 60);
  EXPECT_TRUE(at::equal(core::read_npy(dir + "/torch/ctx.npy"), trained.tensors.at("coop.ctx")));
}

}  // namespace vlprompt::official_cli_test
