// vlprompt bench: speed of the frozen towers at real model shapes with random weights, as JSON.
//   image-tower: images/s at a batch, and the achieved GFLOP/s against BLAS on the same matmuls.
//   text-tower: 100 prompts "a photo of a {class}." run to their end-of-text vs all 77 tokens.
#include <ATen/Parallel.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "models/clip/load_clip.h"
#include "src/core/file_io.h"
#include "src/text/clip_tokenizer.h"
#include "tools/cli/command.h"
#include "tools/pipeline/bench_coop.h"
#include "tools/pipeline/bench_util.h"

namespace vlprompt::cli {
namespace {

struct BenchArgs {
  std::string what = "all", config = "ViT-B-16", vocab, out;
  int64_t batch = 8;
  int iters = 3, warmup = 1;
};

// Multiply-adds of one ViT image forward x 2 (patch embedding + per-layer qkv/out/mlp/attention).
double vit_gflop_per_image(const models::VisionConfig& v) {
  const double g = static_cast<double>(v.image_resolution / v.patch_size);
  const double n = g * g + 1, d = static_cast<double>(v.width);
  const double patch = g * g * (3.0 * v.patch_size * v.patch_size) * d;
  const double layer = n * (12.0 * d * d) + 2.0 * n * n * d;
  return 2.0 * (patch + v.layers * layer) / 1e9;
}

nlohmann::json bench_image(models::Clip& model, const BenchArgs& a) {
  const auto& v = model->config().vision;
  const at::Tensor px = at::randn({a.batch, 3, v.image_resolution, v.image_resolution});
  at::NoGradGuard ng;
  const double s = pipeline::median_seconds([&] { model->encode_image(px); }, a.warmup, a.iters);
  nlohmann::json j{{"batch", a.batch}, {"seconds_per_batch", s}, {"images_per_s", a.batch / s}};
  if (v.type == "vit") {
    const double achieved = vit_gflop_per_image(v) * a.batch / s;
    const int64_t tokens =
        a.batch * ((v.image_resolution / v.patch_size) * (v.image_resolution / v.patch_size) + 1);
    // The MLP's first matmul is the largest GEMM of a block: the BLAS rate on exactly that shape.
    const double blas = pipeline::blas_gflops(tokens, v.width, 4 * v.width, a.iters);
    j["gflop_per_image"] = vit_gflop_per_image(v);
    j["achieved_gflops"] = achieved;
    j["blas_gflops_same_shape"] = blas;
    j["ratio_to_blas"] = achieved / blas;
  }
  return j;
}

nlohmann::json bench_text(models::Clip& model, const BenchArgs& a) {
  const std::vector<std::string> words = {
      "airplane", "automobile", "bird",  "cat",     "deer",    "dog",       "frog",
      "horse",    "ship",       "truck", "t-shirt", "trouser", "pullover",  "dress",
      "coat",     "sandal",     "shirt", "sneaker", "bag",     "ankle boot"};
  std::vector<std::string> prompts;
  for (int i = 0; i < 100; ++i) prompts.push_back("a photo of a " + words[i % words.size()] + ".");
  const auto tok = text::ClipTokenizer::from_file(text::find_vocab(a.vocab, ""));
  const at::Tensor ids = tok.tokenize(prompts, model->config().text.context_length);
  at::NoGradGuard ng;
  const double t = pipeline::median_seconds([&] { model->encode_text(ids); }, a.warmup, a.iters);
  const double f =
      pipeline::median_seconds([&] { model->encode_text(ids, nullptr, true); }, a.warmup, a.iters);
  return {{"prompts", 100},
          {"longest_eot_position", ids.argmax(1).max().item<int64_t>()},
          {"seconds_truncated", t},
          {"seconds_full_77", f},
          {"ratio_truncated_to_full", t / f}};
}

int run_bench(const BenchArgs& a) {
  const models::ClipConfig cfg = models::load_config(a.config);
  models::Clip model = models::init_clip(cfg, 0);
  nlohmann::json out{{"config", a.config},
                     {"device", "cpu"},
                     {"dtype", "float32"},
                     {"threads", at::get_num_threads()},
                     {"weights", "random (shapes only)"}};
  if (a.what == "all" || a.what == "image-tower") out["image_tower"] = bench_image(model, a);
  if (a.what == "all" || a.what == "text-tower") out["text_tower"] = bench_text(model, a);
  if (a.what == "coop-step") {
    auto tok = std::make_shared<const text::ClipTokenizer>(
        text::ClipTokenizer::from_file(text::find_vocab(a.vocab, "")));
    out["coop_step"] = pipeline::bench_coop_step(model, tok, a.batch, a.warmup, a.iters);
  }
  out["peak_rss_mib"] = pipeline::peak_rss_mib();
  std::cout << out.dump(2) << "\n";
  if (!a.out.empty()) core::atomic_write(a.out, out.dump(2) + "\n");
  return 0;
}

Runner setup_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("what", a->what, "all | image-tower | text-tower | coop-step")
      ->default_val("all")
      ->check(CLI::IsMember({"all", "image-tower", "text-tower", "coop-step"}));
  app.add_option("--config", a->config, "architecture (models/configs)")->default_val("ViT-B-16");
  app.add_option("--vocab", a->vocab, "BPE vocabulary for the text prompts");
  app.add_option("--batch", a->batch, "images per batch")->default_val(8);
  app.add_option("--iters", a->iters, "timed runs (median reported)")->default_val(3);
  app.add_option("--warmup", a->warmup, "untimed runs first")->default_val(1);
  app.add_option("--out", a->out, "also write the JSON here");
  app.footer(
      "Example:\n  vlprompt bench image-tower --config ViT-B-16 --batch 8\n"
      "  vlprompt bench coop-step --config ViT-B-16 --batch 32");
  return [a] { return run_bench(*a); };
}

}  // namespace

VLPROMPT_COMMAND(bench, "benchmark the towers at real shapes (JSON)", setup_bench);

}  // namespace vlprompt::cli
