// Importing official (Dassl) checkpoints in process: the CoOp checkpoint the official code wrote
// (../shared/data/parity) and a CoCoOp one made with the official code
// (tests/fixtures/official/cocoop_fixture.py) must give the official logits on the same tiny CLIP;
// malformed, hostile or mismatched files are refused with errors naming what is wrong.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/clip/load_clip.h"
#include "prompts/coop.h"
#include "prompts/official/convert.h"
#include "prompts/prompted_clip.h"
#include "src/core/config.h"
#include "src/core/file_io.h"
#include "src/core/npy.h"
#include "src/core/zip_writer.h"
#include "tests/prompts/tiny_clip.h"
#include "tests/test_support.h"

namespace vlprompt::official_import_test {

const char* const kCoopCheckpoint =
    "data/parity/coop_nctx4_rand_end/prompt_learner/model.pth.tar-50";
const char* const kTinyVit = "data/clip/reference_tiny_vit/tiny_vit.pt";

std::string parity(const std::string& rel) { return testing::shared_path("data/parity/" + rel); }
std::string cocoop_fixture(const std::string& rel) {
  return testing::source_path("tests/fixtures/official/cocoop_ctxv1/" + rel);
}

std::vector<std::string> cifar_classes() {
  return nlohmann::json::parse(core::read_file(parity("inputs/inputs.json")))["classnames"]
      .get<std::vector<std::string>>();
}

models::Clip tiny_vit() {
  static models::Clip clip = models::load_clip(testing::shared_path(kTinyVit)).model;
  return clip;
}

prompts::MethodContext context() {
  prompts::MethodContext c;
  c.clip = tiny_vit();
  c.tokenizer = testing::clip_tokenizer();
  c.classnames = cifar_classes();
  return c;
}

prompts::LoadedMethod import(const std::string& from, const std::string& path,
                             const std::string& position = "") {
  return prompts::official::import_checkpoint(from, path, context(), position,
                                              testing::clip_vocab());
}

at::Tensor logits_of(engine::Method& method) {
  at::NoGradGuard no_grad;
  method.set_training(false);
  const at::Tensor pixels = core::read_npy(parity("inputs/pixels.npy"));
  return method.forward({pixels, at::zeros({pixels.size(0)}, at::kLong), false});
}

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

std::string scratch(const std::string& name) {
  return testing::scratch_dir("official_import") + "/" + name;
}

TEST(OfficialImport, CoopCheckpointGivesTheOfficialLogits) {
  VLP_REQUIRE_SHARED(kCoopCheckpoint);
  VLP_REQUIRE_SHARED(kTinyVit);
  prompts::LoadedMethod m = import("coop", testing::shared_path(kCoopCheckpoint));
  EXPECT_EQ(m.info.method, "coop");
  EXPECT_EQ(m.info.hyperparameters.at("n_ctx"), "4");
  EXPECT_EQ(m.info.hyperparameters.at("csc"), "false");
  EXPECT_EQ(m.info.hyperparameters.at("ctx_init"), "");
  EXPECT_EQ(m.info.hyperparameters.at("class_token_position"), "end");
  EXPECT_EQ(m.info.training["imported_from"]["epoch"], 50);
  EXPECT_EQ(m.info.classnames, cifar_classes());

  const at::Tensor logits = logits_of(*m.method);
  EXPECT_LE(max_abs(logits, core::read_npy(parity("coop_nctx4_rand_end/logits.npy"))), 1e-4);

  // The intermediate outputs: the prompts' token ids exactly, the text features closely.
  auto& prompted = dynamic_cast<prompts::PromptedClipMethod&>(*m.method);
  auto* coop = dynamic_cast<prompts::CoOpImpl*>(prompted.stack()->member("coop").get());
  ASSERT_NE(coop, nullptr);
  EXPECT_TRUE(at::equal(coop->token_ids(),
                        core::read_npy(parity("coop_nctx4_rand_end/tokenized_prompts.npy"))));
  at::NoGradGuard no_grad;
  EXPECT_LE(max_abs(coop->text_features(),
                    core::read_npy(parity("coop_nctx4_rand_end/text_features.npy"))),
            1e-4);
}

TEST(OfficialImport, CocoopCheckpointGivesTheOfficialLogits) {
  VLP_REQUIRE_SHARED(kTinyVit);
  prompts::LoadedMethod m = import("cocoop", cocoop_fixture("prompt_learner/model.pth.tar-10"));
  EXPECT_EQ(m.info.method, "cocoop");
  EXPECT_EQ(m.info.hyperparameters.at("n_ctx"), "4");
  EXPECT_EQ(m.info.training["imported_from"]["epoch"], 10);
  const at::Tensor logits = logits_of(*m.method);
  EXPECT_LE(max_abs(logits, core::read_npy(cocoop_fixture("logits.npy"))), 1e-4);

  // The run started from "a photo of a", which the file does not record: the placeholder layout
  // the import uses gives the same logits as that layout, because the context overwrites both.
  std::map<std::string, std::string> keys{{"cocoop.ctx_init", "a photo of a"}};
  auto words = prompts::make_method("cocoop", core::config_from_strings(keys, "test"), context());
  words->load_state(m.method->state());
  EXPECT_LE(max_abs(logits_of(*words), logits), 1e-6);
}

TEST(OfficialImport, ClassSpecificMiddleContextGivesTheOfficialLogits) {
  // Official CoOp with CSC and the class token in the middle (coop_csc_fixture.py); its context
  // is written into a Dassl checkpoint here, the fixed token vectors left out (import ignores
  // them).
  VLP_REQUIRE_SHARED(kTinyVit);
  const std::string dir = testing::source_path("tests/fixtures/official/coop_csc_middle/");
  const at::Tensor ctx = core::read_npy(dir + "ctx.npy");
  ASSERT_EQ(ctx.sizes(), at::IntArrayRef({10, 4, 64}));
  const std::string path = scratch("csc_middle/model.pth.tar-5");
  prompts::official::write_dassl_checkpoint(path, {{"ctx", ctx}}, 5);
  prompts::LoadedMethod m = import("coop", path, "middle");
  EXPECT_EQ(m.info.hyperparameters.at("csc"), "true");
  EXPECT_EQ(m.info.hyperparameters.at("class_token_position"), "middle");
  EXPECT_LE(max_abs(logits_of(*m.method), core::read_npy(dir + "logits.npy")), 1e-4);
}

TEST(OfficialImport, PositionIsCoopsAndChangesThePrompts) {
  VLP_REQUIRE_SHARED(kCoopCheckpoint);
  VLP_REQUIRE_SHARED(kTinyVit);
  prompts::LoadedMethod front = import("coop", testing::shared_path(kCoopCheckpoint), "front");
  EXPECT_EQ(front.info.hyperparameters.at("class_token_position"), "front");
  EXPECT_GT(
      max_abs(logits_of(*front.method), core::read_npy(parity("coop_nctx4_rand_end/logits.npy"))),
      1e-3);
  const std::string e = testing::error_of(
      [&] { import("cocoop", cocoop_fixture("prompt_learner/model.pth.tar-10"), "middle"); });
  EXPECT_NE(e.find("--position middle is CoOp's"), std::string::npos) << e;
  const std::string bad =
      testing::error_of([&] { import("coop", testing::shared_path(kCoopCheckpoint), "left"); });
  EXPECT_NE(bad.find("'left'"), std::string::npos) << bad;
}

TEST(OfficialImport, UnknownFormatListsTheKnownOnes) {
  // No file and no reference model is needed to be told the format is unknown.
  prompts::MethodContext c;
  c.clip = testing::tiny_clip();
  c.tokenizer = testing::clip_tokenizer();
  c.classnames = {"a", "b"};
  const std::string e = testing::error_of([&] {
    prompts::official::import_checkpoint("vpt", "/nonexistent/model.pth.tar-1", c, "",
                                         testing::clip_vocab());
  });
  EXPECT_NE(e.find("no official checkpoint format 'vpt'"), std::string::npos) << e;
  EXPECT_NE(e.find("known: cocoop, coop, dapl, ivlp, maple"), std::string::npos) << e;
}

// A pickle whose only content calls os.system: what a hostile "checkpoint" looks like.
std::string hostile_archive(const std::string& marker) {
  const std::string command = "touch " + marker;
  std::string pkl = "\x80\x02";
  pkl += "cos\nsystem\n";
  pkl += 'X';
  for (int i = 0; i < 4; ++i) pkl += static_cast<char>((command.size() >> (8 * i)) & 0xff);
  pkl += command + "\x85R.";
  return core::zip_stored({{"model.pth/data.pkl", pkl}, {"model.pth/version", "3\n"}});
}

TEST(OfficialImport, RefusesAForbiddenGlobalWithoutRunningIt) {
  VLP_REQUIRE_SHARED(kTinyVit);
  const std::string marker = scratch("payload_ran");
  const std::string path = scratch("hostile/model.pth.tar-1");
  std::filesystem::remove(marker);
  core::atomic_write(path, hostile_archive(marker));
  const std::string e = testing::error_of([&] { import("coop", path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("'os.system'"), std::string::npos) << e;
  EXPECT_NE(e.find("nothing was run"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(marker));
  // The payload is live: Python's own unpickler runs it.
  const std::string py =
      "/usr/bin/python3 -c \"import pickle,zipfile,sys; "
      "pickle.loads(zipfile.ZipFile(sys.argv[1]).read('model.pth/data.pkl'))\" " +
      path + " > /dev/null 2>&1";
  if (std::system("/usr/bin/python3 -c pass > /dev/null 2>&1") == 0) {
    const int ran = std::system(py.c_str());
    (void)ran;
    EXPECT_TRUE(std::filesystem::exists(marker)) << "the test payload did not work in Python";
  }
}

TEST(OfficialImport, OnlyTheOptimizerAndSchedulerClassesAreBuiltAsRecords) {
  VLP_REQUIRE_SHARED(kTinyVit);
  // NEWOBJ of subprocess.Popen where a checkpoint's optimizer would sit.
  std::string pkl = "\x80\x02}(X";
  pkl += std::string("\x09\x00\x00\x00", 4) + "optimizer";
  pkl += "csubprocess\nPopen\n)\x81u.";
  const std::string path = scratch("popen/model.pth.tar-1");
  core::atomic_write(path,
                     core::zip_stored({{"model.pth/data.pkl", pkl}, {"model.pth/version", "3\n"}}));
  const std::string e = testing::error_of([&] { import("coop", path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("refusing to instantiate global 'subprocess.Popen'"), std::string::npos) << e;
}

TEST(OfficialImport, RefusesTruncatedAndCorruptArchives) {
  VLP_REQUIRE_SHARED(kCoopCheckpoint);
  VLP_REQUIRE_SHARED(kTinyVit);
  const std::string bytes = core::read_file(testing::shared_path(kCoopCheckpoint));
  const std::string truncated = scratch("truncated/model.pth.tar-50");
  core::atomic_write(truncated, bytes.substr(0, bytes.size() / 2));
  std::string e = testing::error_of([&] { import("coop", truncated); });
  EXPECT_NE(e.find(truncated), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;

  // data.pkl's bytes overwritten in the middle of its pickle.
  std::string corrupt_bytes = bytes;
  const size_t pkl = corrupt_bytes.find('\x80', 30);  // PROTO, the record's first byte
  ASSERT_NE(pkl, std::string::npos);
  for (size_t i = pkl + 2; i < pkl + 60; ++i) corrupt_bytes[i] = '\xff';
  const std::string corrupt = scratch("corrupt/model.pth.tar-50");
  core::atomic_write(corrupt, corrupt_bytes);
  e = testing::error_of([&] { import("coop", corrupt); });
  EXPECT_NE(e.find(corrupt), std::string::npos) << e;

  const std::string not_zip = scratch("not_zip/model.pth.tar-50");
  core::atomic_write(not_zip, "this is not a zip archive");
  e = testing::error_of([&] { import("coop", not_zip); });
  EXPECT_NE(e.find(not_zip), std::string::npos) << e;
}

TEST(OfficialImport, RefusesMissingAndMisShapedTensors) {
  VLP_REQUIRE_SHARED(kTinyVit);
  const at::Tensor prefix = at::zeros({10, 1, 64}), suffix = at::zeros({10, 72, 64});
  const std::string no_ctx = scratch("no_ctx/model.pth.tar-1");
  prompts::official::write_dassl_checkpoint(
      no_ctx, {{"token_prefix", prefix}, {"token_suffix", suffix}}, 1);
  std::string e = testing::error_of([&] { import("coop", no_ctx); });
  EXPECT_NE(e.find(no_ctx), std::string::npos) << e;
  EXPECT_NE(e.find("state_dict has no 'ctx'"), std::string::npos) << e;
  EXPECT_NE(e.find("[n_ctx, 64]"), std::string::npos) << e;

  const std::string narrow = scratch("narrow/model.pth.tar-1");
  prompts::official::write_dassl_checkpoint(
      narrow, {{"ctx", at::zeros({4, 32})}, {"token_prefix", prefix}, {"token_suffix", suffix}}, 1);
  e = testing::error_of([&] { import("coop", narrow); });
  EXPECT_NE(e.find("state_dict['ctx'] has shape [4, 32], expected [n_ctx, 64]"), std::string::npos)
      << e;

  // Class-specific context for 3 classes, imported for 10.
  const std::string csc = scratch("csc/model.pth.tar-1");
  prompts::official::write_dassl_checkpoint(csc, {{"ctx", at::zeros({3, 4, 64})}}, 1);
  e = testing::error_of([&] { import("coop", csc); });
  EXPECT_NE(e.find("expected [10 (classes given), n_ctx, 64]"), std::string::npos) << e;

  const std::string meta = scratch("meta/model.pth.tar-1");
  prompts::official::write_dassl_checkpoint(meta,
                                            {{"ctx", at::zeros({4, 64})},
                                             {"meta_net.linear1.weight", at::zeros({8, 64})},
                                             {"meta_net.linear1.bias", at::zeros({4})},
                                             {"meta_net.linear2.weight", at::zeros({64, 4})},
                                             {"meta_net.linear2.bias", at::zeros({64})}},
                                            1);
  e = testing::error_of([&] { import("cocoop", meta); });
  EXPECT_NE(e.find("state_dict['meta_net.linear1.weight'] has shape [8, 64], expected "
                   "[4 (= 64 / 16), 64]"),
            std::string::npos)
      << e;
  // Another method's checkpoint.
  e = testing::error_of([&] { import("coop", meta); });
  EXPECT_NE(e.find("'meta_net.linear1.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("another method's checkpoint"), std::string::npos) << e;
}

TEST(OfficialImport, ReadsHalfPrecisionCheckpoints) {
  // PREC "fp16" runs save the context in half precision.
  VLP_REQUIRE_SHARED(kTinyVit);
  const at::Tensor ctx = (at::arange(256, at::kFloat).view({4, 64}) / 256).to(at::kHalf);
  const std::string path = scratch("fp16/model.pth.tar-3");
  prompts::official::write_dassl_checkpoint(path, {{"ctx", ctx}}, 3);
  prompts::LoadedMethod m = import("coop", path);
  EXPECT_TRUE(at::equal(m.method->state().at("coop.ctx").cpu(), ctx.to(at::kFloat)));
}

}  // namespace vlprompt::official_import_test
