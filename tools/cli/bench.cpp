// vlprompt bench: speed of the frozen towers at real model shapes with random weights, as JSON.
//   image-tower: images/s at a batch, and the achieved GFLOP/s against BLAS on the same matmuls.
//   text-tower: 100 prompts "a photo of a {class}." with their shared prefix run once, each run to
//   its end-of-text, and all 77 tokens.
#include <ATen/Parallel.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "models/clip/load_clip.h"
#include "src/core/blas_info.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/distributed/launch.h"
#include "src/distributed/process_group.h"
#include "src/engine/op_profile.h"
#include "src/text/clip_tokenizer.h"
#include "tools/bench/bench_allreduce.h"
#include "tools/bench/bench_coop.h"
#include "tools/bench/bench_lm.h"
#include "tools/bench/bench_prompts.h"
#include "tools/bench/bench_util.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

struct BenchArgs {
  std::string what = "all", config = "ViT-B-16", vocab, out;
  int64_t batch = 8;
  int64_t seq = 128;             // lm-step: tokens per row
  std::vector<int64_t> classes;  // default: coop-step 10, cocoop-step 10 100
  int iters = 3, warmup = 1;
  int nproc = 0;  // allreduce: local ranks to start
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
  auto forward = [&] { model->encode_image(px); };
  for (int i = 0; i < a.warmup; ++i) forward();
  // Per-op self times of one forward, and the BLAS alone on every GEMM that forward ran. The
  // forward and its GEMMs alone are timed in alternation, so that a machine's drift (shared
  // cores, clock changes) hits both sides of the ratio alike.
  const engine::OpProfile profile = engine::profile_ops(forward);
  std::vector<double> forward_s, blas_runs;
  for (int i = 0; i < std::max(1, a.iters); ++i) {
    forward_s.push_back(pipeline::median_seconds(forward, 0, 1));
    blas_runs.push_back(engine::blas_seconds(profile.gemms, 1));
  }
  std::sort(forward_s.begin(), forward_s.end());
  std::sort(blas_runs.begin(), blas_runs.end());
  const double s = forward_s[forward_s.size() / 2], blas_s = blas_runs[blas_runs.size() / 2];
  double gemm_flop = 0;
  for (const engine::GemmShape& g : profile.gemms) gemm_flop += g.flop();
  nlohmann::json j{{"batch", a.batch},
                   {"seconds_per_batch", s},
                   {"images_per_s", a.batch / s},
                   {"gemm_gflop_per_image", gemm_flop / a.batch / 1e9},
                   {"blas_seconds_same_gemms", blas_s},
                   {"ratio_to_blas", blas_s / s},
                   {"breakdown", engine::to_json(profile)}};
  if (v.type == "vit") {
    j["gflop_per_image"] = vit_gflop_per_image(v);
    j["achieved_gflops"] = vit_gflop_per_image(v) * a.batch / s;
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
  const auto tok = std::make_shared<const text::ClipTokenizer>(
      text::ClipTokenizer::from_file(text::find_vocab(a.vocab, "")));
  const at::Tensor ids = tok->tokenize(prompts, model->config().text.context_length);
  nlohmann::json backward = pipeline::bench_text_backward(model, tok, 10, a.warmup, a.iters);
  at::NoGradGuard ng;
  auto timed = [&](models::TextPositions positions) {
    return pipeline::median_seconds([&] { model->encode_text(ids, nullptr, positions); }, a.warmup,
                                    a.iters);
  };
  const double s = timed(models::TextPositions::kSharedPrefix);
  const double t = timed(models::TextPositions::kTruncated);
  const double f = timed(models::TextPositions::kFull);
  return {{"forward_backward_coop_10_classes", backward},
          {"prompts", 100},
          {"longest_eot_position", ids.argmax(1).max().item<int64_t>()},
          {"seconds_shared_prefix", s},
          {"seconds_truncated", t},
          {"seconds_full_77", f},
          {"ratio_truncated_to_full", t / f}};
}

nlohmann::json blas_json() {
  const core::BlasInfo b = core::loaded_blas();
  return {{"library", b.library}, {"kind", b.kind}, {"threads", b.threads}, {"config", b.config}};
}

int run_bench(const BenchArgs& a) {
  if (a.what == "allreduce") {
    const auto env = distributed::launch_environment();
    if (!env) {
      if (a.nproc < 2) {
        throw Error(
            "bench allreduce runs in a group: give --nproc N (N >= 2) or the launch "
            "variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)");
      }
      std::vector<std::string> args{"bench",    "allreduce",
                                    "--config", a.config,
                                    "--iters",  std::to_string(a.iters),
                                    "--warmup", std::to_string(a.warmup)};
      if (!a.vocab.empty()) args.insert(args.end(), {"--vocab", a.vocab});
      if (!a.out.empty()) args.insert(args.end(), {"--out", a.out});
      return distributed::run_local_ranks(a.nproc, args);
    }
    auto group = distributed::join_group(*env, std::chrono::seconds(300));
    nlohmann::json out = pipeline::bench_allreduce(*group, a.config, a.vocab, a.warmup, a.iters);
    out["threads"] = at::get_num_threads();
    if (env->rank != 0) return 0;
    std::cout << out.dump(2) << "\n";
    if (!a.out.empty()) core::atomic_write(a.out, out.dump(2) + "\n");
    return 0;
  }
  if (a.what == "lm-step") {
    // A text LM, not a CLIP config: the issue's ~100M LLaMA shape.
    pipeline::LmBenchOptions o;
    o.batch = a.batch;
    o.seq = a.seq;
    o.warmup = a.warmup;
    o.iters = a.iters;
    nlohmann::json out{{"device", "cpu"},
                       {"dtype", "float32"},
                       {"threads", at::get_num_threads()},
                       {"blas", blas_json()},
                       {"weights", "random (shapes only)"}};
    out["lm_step"] = pipeline::bench_lm_step(pipeline::bench_llama_config(), o);
    out["peak_rss_mib"] = pipeline::peak_rss_mib();
    std::cout << out.dump(2) << "\n";
    if (!a.out.empty()) core::atomic_write(a.out, out.dump(2) + "\n");
    return 0;
  }
  const models::ClipConfig cfg = models::load_config(a.config);
  models::Clip model = models::init_clip(cfg, 0);
  nlohmann::json out{{"config", a.config},  {"device", "cpu"},
                     {"dtype", "float32"},  {"threads", at::get_num_threads()},
                     {"blas", blas_json()}, {"weights", "random (shapes only)"}};
  if (a.what == "all" || a.what == "image-tower") out["image_tower"] = bench_image(model, a);
  if (a.what == "all" || a.what == "text-tower") out["text_tower"] = bench_text(model, a);
  if (a.what == "coop-step" || a.what == "cocoop-step") {
    auto tok = std::make_shared<const text::ClipTokenizer>(
        text::ClipTokenizer::from_file(text::find_vocab(a.vocab, "")));
    if (a.what == "coop-step") {
      const std::vector<int64_t> classes = a.classes.empty() ? std::vector<int64_t>{10} : a.classes;
      out["coop_step"] = pipeline::bench_coop_step(model, tok, a.batch, classes, a.warmup, a.iters);
    } else {
      const std::vector<int64_t> classes =
          a.classes.empty() ? std::vector<int64_t>{10, 100} : a.classes;
      out["cocoop_step"] =
          pipeline::bench_cocoop_step(model, tok, a.batch, classes, a.warmup, a.iters);
    }
  }
  if (a.what == "vpt-step")
    out["vpt_step"] = pipeline::bench_vpt_step(model, a.batch, a.warmup, a.iters);
  out["peak_rss_mib"] = pipeline::peak_rss_mib();
  std::cout << out.dump(2) << "\n";
  if (!a.out.empty()) core::atomic_write(a.out, out.dump(2) + "\n");
  return 0;
}

Runner setup_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("what", a->what,
                 "all | image-tower | text-tower | coop-step | cocoop-step | vpt-step | lm-step | "
                 "allreduce")
      ->default_val("all")
      ->check(CLI::IsMember({"all", "image-tower", "text-tower", "coop-step", "cocoop-step",
                             "vpt-step", "lm-step", "allreduce"}));
  app.add_option("--nproc", a->nproc, "allreduce: local ranks to start (>= 2)");
  app.add_option("--seq", a->seq, "lm-step: tokens per row")->default_val(128);
  app.add_option("--classes", a->classes,
                 "class counts for coop-step (default 10) and cocoop-step (default 10 100)");
  app.add_option("--config", a->config, "architecture (models/configs)")->default_val("ViT-B-16");
  app.add_option("--vocab", a->vocab, "BPE vocabulary for the text prompts");
  app.add_option("--batch", a->batch, "images per batch")->default_val(8);
  app.add_option("--iters", a->iters, "timed runs (median reported)")->default_val(3);
  app.add_option("--warmup", a->warmup, "untimed runs first")->default_val(1);
  app.add_option("--out", a->out, "also write the JSON here");
  app.footer(
      "Example:\n  vlprompt bench image-tower --config ViT-B-16 --batch 8\n"
      "  vlprompt bench coop-step --config ViT-B-16 --batch 32 --classes 10 1000\n"
      "  vlprompt bench cocoop-step --config ViT-B-16 --batch 32 --classes 10 100\n"
      "  vlprompt bench vpt-step --config ViT-B-16 --batch 8\n"
      "  vlprompt bench lm-step --batch 8 --seq 128\n"
      "  vlprompt bench allreduce --nproc 2 --config ViT-B-16");
  return [a] { return run_bench(*a); };
}

}  // namespace

VLPROMPT_COMMAND(bench, "benchmark the towers at real shapes (JSON)", setup_bench);

}  // namespace vlprompt::cli
