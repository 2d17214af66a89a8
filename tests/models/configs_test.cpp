// models/configs/*.yaml: every file parses, the OpenAI shapes are the real ones, the tiny ones
// build and run, and a mistyped file is refused with the file, the key and the likely fix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "models/clip/load_clip.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::models {
namespace {

using vlprompt::testing::error_of;

std::string write_yaml(const std::string& name, const std::string& text) {
  const std::string path = testing::scratch_dir("configs") + "/" + name;
  core::atomic_write(path, text);
  return path;
}

constexpr const char* kTinyText =
    "text:\n  context_length: 77\n  vocab_size: 49408\n  width: 64\n  heads: 1\n  layers: 2\n";

TEST(Configs, FolderIsTheRegistry) {
  const std::vector<std::string> names = list_configs();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* expected :
       {"RN50", "RN101", "ViT-B-32", "ViT-B-16", "ViT-L-14", "tiny", "tiny-rn"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

TEST(Configs, EveryConfigParses) {
  for (const auto& name : list_configs()) {
    const ClipConfig c = load_config(name);
    EXPECT_EQ(c.name, name);
    EXPECT_TRUE(c.vision.type == "vit" || c.vision.type == "modified_resnet") << name;
    EXPECT_GT(c.embed_dim, 0) << name;
  }
}

TEST(Configs, OpenAIShapes) {
  const ClipConfig b16 = load_config("ViT-B-16");
  EXPECT_EQ(b16.embed_dim, 512);
  EXPECT_EQ(b16.vision.type, "vit");
  EXPECT_EQ(b16.vision.width, 768);
  EXPECT_EQ(b16.vision.layers, 12);
  EXPECT_EQ(b16.vision.heads, 12);
  EXPECT_EQ(b16.vision.patch_size, 16);
  EXPECT_EQ(b16.vision.image_resolution, 224);
  EXPECT_EQ(b16.text.width, 512);
  EXPECT_EQ(b16.text.heads, 8);
  EXPECT_EQ(b16.text.layers, 12);
  EXPECT_EQ(b16.text.context_length, 77);
  EXPECT_EQ(b16.text.vocab_size, 49408);
  EXPECT_EQ(load_config("ViT-B-32").vision.patch_size, 32);

  const ClipConfig rn50 = load_config("RN50");
  EXPECT_EQ(rn50.embed_dim, 1024);
  EXPECT_EQ(rn50.vision.type, "modified_resnet");
  EXPECT_EQ(rn50.vision.resnet_layers, (std::vector<int64_t>{3, 4, 6, 3}));
  EXPECT_EQ(rn50.vision.width, 64);
  EXPECT_EQ(rn50.vision.heads, 32);
  EXPECT_EQ(rn50.text.width, 512);
  const ClipConfig rn101 = load_config("RN101");
  EXPECT_EQ(rn101.embed_dim, 512);
  EXPECT_EQ(rn101.vision.resnet_layers, (std::vector<int64_t>{3, 4, 23, 3}));

  const ClipConfig l14 = load_config("ViT-L-14");
  EXPECT_EQ(l14.embed_dim, 768);
  EXPECT_EQ(l14.vision.width, 1024);
  EXPECT_EQ(l14.vision.layers, 24);
  EXPECT_EQ(l14.vision.heads, 16);
  EXPECT_EQ(l14.vision.patch_size, 14);
  EXPECT_EQ(l14.text.width, 768);
  EXPECT_EQ(l14.text.heads, 12);
  EXPECT_EQ(l14.text.layers, 12);
}

TEST(Configs, TinyConfigsBuildAndRun) {
  at::NoGradGuard no_grad;
  for (const auto& name : list_configs()) {
    if (name.rfind("tiny", 0) != 0) continue;  // the big ones are only parsed (see above)
    const ClipConfig c = load_config(name);
    Clip clip = init_clip(c, 0);
    const int64_t r = c.vision.image_resolution;
    const at::Tensor image = clip->encode_image(at::randn({2, 3, r, r}));
    at::Tensor ids = at::zeros({2, c.text.context_length}, at::kLong);
    ids[0][0] = 49406, ids[0][1] = 320, ids[0][2] = 49407;
    ids[1][0] = 49406, ids[1][1] = 49407;
    const at::Tensor text = clip->encode_text(ids);
    EXPECT_EQ(image.sizes(), at::IntArrayRef({2, c.embed_dim})) << name;
    EXPECT_EQ(text.sizes(), at::IntArrayRef({2, c.embed_dim})) << name;
    EXPECT_TRUE(at::isfinite(clip->logits(image, text)).all().item<bool>()) << name;
  }
}

TEST(Configs, UnknownKeyNamesFileKeyAndClosestKey) {
  const std::string path = write_yaml(
      "typo.yaml",
      std::string("embed_dim: 64\nvision:\n  type: vit\n  image_resolution: 32\n  width: 64\n"
                  "  layers: 2\n  patch_sise: 8\n  heads: 1\n") +
          kTinyText);
  const std::string e = error_of([&] { load_config(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'vision.patch_sise'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'vision.patch_size'"), std::string::npos) << e;

  const std::string top = write_yaml("top.yaml", "embed_dims: 64\n");
  EXPECT_NE(error_of([&] { load_config(top); }).find("did you mean 'embed_dim'"),
            std::string::npos);
}

TEST(Configs, ResNetKeysAreCheckedForTheirType) {
  const std::string path = write_yaml(
      "rn_patch.yaml",
      std::string("embed_dim: 64\nvision:\n  type: modified_resnet\n  image_resolution: 64\n"
                  "  width: 8\n  layers: [1, 1, 1, 1]\n  patch_size: 16\n") +
          kTinyText);
  EXPECT_NE(error_of([&] { load_config(path); }).find("unknown key 'vision.patch_size'"),
            std::string::npos);
  const std::string depths = write_yaml(
      "rn_depths.yaml",
      std::string("embed_dim: 64\nvision:\n  type: modified_resnet\n  image_resolution: 64\n"
                  "  width: 8\n  layers: 4\n") +
          kTinyText);
  EXPECT_NE(error_of([&] { load_config(depths); }).find("list of 4 stage depths"),
            std::string::npos);
}

TEST(Configs, BadValuesAndMissingKeysAreNamed) {
  const std::string type = write_yaml(
      "type.yaml", std::string("embed_dim: 64\nvision:\n  type: vitt\n  image_resolution: 32\n"
                               "  width: 64\n  layers: 2\n  patch_size: 8\n") +
                       kTinyText);
  const std::string t = error_of([&] { load_config(type); });
  EXPECT_NE(t.find(type + ": key 'vision.type' = 'vitt' must be one of vit, modified_resnet"),
            std::string::npos)
      << t;
  const std::string word = write_yaml(
      "word.yaml", std::string("embed_dim: 64\nvision:\n  type: vit\n  image_resolution: 32\n"
                               "  width: 64\n  layers: two\n  patch_size: 8\n") +
                       kTinyText);
  const std::string e = error_of([&] { load_config(word); });
  EXPECT_NE(e.find("key 'vision.layers' has 'two'; expected an integer"), std::string::npos) << e;
  const std::string zero = write_yaml(
      "zero.yaml", std::string("embed_dim: 64\nvision:\n  type: vit\n  image_resolution: 32\n"
                               "  width: 64\n  layers: 0\n  patch_size: 8\n") +
                       kTinyText);
  const std::string z = error_of([&] { load_config(zero); });
  EXPECT_NE(z.find(zero + ": key 'vision.layers' has '0'; expected a positive integer"),
            std::string::npos)
      << z;
  const std::string missing = write_yaml("missing.yaml", "embed_dim: 64\n");
  const std::string m = error_of([&] { load_config(missing); });
  EXPECT_NE(m.find(missing + ": missing key 'vision'"), std::string::npos) << m;
  const std::string patch = write_yaml(
      "patch.yaml", std::string("embed_dim: 64\nvision:\n  type: vit\n  image_resolution: 30\n"
                                "  width: 64\n  layers: 2\n  patch_size: 8\n") +
                        kTinyText);
  EXPECT_NE(error_of([&] { load_config(patch); }).find("does not divide image_resolution 30"),
            std::string::npos);
}

TEST(Configs, UnknownNameListsTheConfigs) {
  const std::string e = error_of([] { load_config("ViT-B-61"); });
  EXPECT_NE(e.find("unknown model config 'ViT-B-61'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'ViT-B-16'"), std::string::npos) << e;
  EXPECT_NE(e.find("tiny-rn"), std::string::npos) << e;
}

TEST(Configs, ConfigDirFromEnvironment) {
  const std::string dir = testing::scratch_dir("config_dir");
  core::atomic_write(dir + "/mine.yaml",
                     std::string("embed_dim: 32\nvision:\n  type: vit\n  image_resolution: 32\n"
                                 "  width: 64\n  layers: 1\n  patch_size: 16\n") +
                         kTinyText);
  setenv("VLPROMPT_CONFIG_DIR", dir.c_str(), 1);
  const std::vector<std::string> names = list_configs();
  const ClipConfig mine = load_config("mine");
  unsetenv("VLPROMPT_CONFIG_DIR");
  EXPECT_EQ(names, std::vector<std::string>{"mine"});
  EXPECT_EQ(mine.embed_dim, 32);
  EXPECT_EQ(mine.vision.heads, 1);  // OpenAI's rule when absent: width / 64
  EXPECT_EQ(config_dir(), testing::source_path("models/configs"));
}

}  // namespace
}  // namespace vlprompt::models
