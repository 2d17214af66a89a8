#include "prompts/zeroshot_classifier.h"

#include <gtest/gtest.h>

#include "prompts/templates.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using vlprompt::testing::clip_tokenizer;
using vlprompt::testing::tiny_clip;

at::Tensor unit(const at::Tensor& t) { return t / t.norm(2, -1, true); }

TEST(ZeroshotClassifier, EnsembleIsTheRenormalizedMeanOfNormalizedTemplates) {
  models::Clip clip = tiny_clip();
  const std::vector<std::string> classes = {"cat", "ankle boot", "airplane"};
  const std::vector<std::string> templates = {"a photo of a {}.", "itap of the {}."};
  const at::Tensor w = zeroshot_weights(clip, *clip_tokenizer(), classes, templates, 2);
  ASSERT_EQ(w.sizes(), at::IntArrayRef({3, clip->config().embed_dim}));
  at::NoGradGuard no_grad;
  at::Tensor sum = at::zeros_like(w);
  for (const auto& t : templates) {
    std::vector<std::string> texts;
    for (const auto& c : classes) texts.push_back(fill_template(t, c));
    sum += unit(clip->encode_text(clip_tokenizer()->tokenize(texts), nullptr,
                                  models::TextPositions::kFull));
  }
  EXPECT_LE((w - unit(sum / 2)).abs().max().item<float>(), 1e-5);
}

TEST(Templates, NamedSetsFilesAndErrors) {
  EXPECT_EQ(load_template_set("imagenet80", "").templates.size(), 80u);
  EXPECT_EQ(load_template_set("select7", "").templates.size(), 7u);
  EXPECT_EQ(load_template_set("manual", "a {} texture.").templates,
            std::vector<std::string>{"a {} texture."});
  const std::string dir = vlprompt::testing::scratch_dir("templates");
  core::atomic_write(dir + "/bad.txt", "# mine\na photo of a {}.\nno placeholder here\n");
  try {
    load_template_set(dir + "/bad.txt", "");
    FAIL() << "a template without {} was accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  try {
    load_template_set("imagenet81", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("select7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fill_template("a photo of a {}.", "cat"), "a photo of a cat.");
}

}  // namespace
}  // namespace vlprompt::prompts
