#include "clip_data/feature_cache.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/hash.h"
#include "src/core/safetensors.h"
#include "src/engine/progress.h"
#include "src/image/clip_preprocess.h"

namespace vlprompt::clip_data {
namespace {

// Bump when preprocessing changes, so old caches are not reused.
constexpr const char* kTransform = "clip-bicubic-short-side-center-crop-v1";

std::string cache_key(const models::Clip& model, const datasets::DatasetSplit& split) {
  core::Hasher h;
  h.update(model->fingerprint()).update(split.dataset).update(split.split).update(kTransform);
  const int64_t res = model->config().vision.image_resolution;
  h.update(&res, sizeof(res));
  for (const auto& it : split.items) {
    h.update(it.path).update(&it.label, sizeof(it.label));
    if (it.pixels.defined()) h.update(it.pixels);
  }
  return h.hex();
}

}  // namespace

std::string default_cache_dir() {
  if (const char* env = std::getenv("VLPROMPT_CACHE_DIR")) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME")) return std::string(xdg) + "/vlprompt";
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.cache/vlprompt";
  return ".vlprompt-cache";
}

at::Tensor load_clip_images(const std::vector<datasets::ImageRecord>& items, int64_t resolution,
                            bool skip_unreadable, std::vector<std::string>* skipped,
                            std::vector<int64_t>* kept) {
  const int64_t n = static_cast<int64_t>(items.size());
  at::Tensor out = at::empty({n, resolution, resolution, 3}, at::kByte);
  std::vector<std::string> errors(n);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        const auto& it = items[i];
        const at::Tensor rgb = it.pixels.defined() ? it.pixels : image::decode_rgb(it.path);
        out[i].copy_(image::resize_center_crop(rgb, resolution));
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  });
  std::vector<int64_t> ok;
  for (int64_t i = 0; i < n; ++i) {
    if (errors[i].empty()) {
      ok.push_back(i);
    } else if (!skip_unreadable) {
      // Only zeroshot takes --skip-unreadable: training and eval need every listed image.
      throw Error(errors[i] +
                  " (every listed image must be readable; only `vlprompt zeroshot` can leave "
                  "unreadable images out, with --skip-unreadable)");
    } else if (skipped) {
      skipped->push_back(items[i].path);
    }
  }
  if (kept) *kept = ok;
  if (static_cast<int64_t>(ok.size()) != n) out = out.index_select(0, at::tensor(ok, at::kLong));
  return image::normalize(out);
}

SplitFeatures encode_split(models::Clip& model, const datasets::DatasetSplit& split,
                           const FeatureOptions& options) {
  SplitFeatures r;
  const std::string dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  r.cache_path = dir + "/features/" + cache_key(model, split) + ".safetensors";
  if (options.use_cache && core::file_exists(r.cache_path)) {
    core::TensorFile f = core::read_safetensors(r.cache_path);
    r.features = f.tensors.at("features");
    r.labels = f.tensors.at("labels");
    r.skipped = nlohmann::json::parse(f.metadata.at("skipped")).get<std::vector<std::string>>();
    r.from_cache = true;
    return r;
  }
  const int64_t res = model->config().vision.image_resolution;
  std::vector<at::Tensor> feats;
  std::vector<int64_t> labels;
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(split.items.size());
  // A 10,000-image test set at ViT-B/16 takes half an hour on a small CPU: show it moving.
  engine::Progress progress(engine::ProgressMode::kAuto,
                            "[vlprompt] image features " + split.dataset + " " + split.split, n,
                            "img");
  for (int64_t s = 0; s < n; s += options.batch_size) {
    const int64_t e = std::min(n, s + options.batch_size);
    std::vector<datasets::ImageRecord> batch(split.items.begin() + s, split.items.begin() + e);
    std::vector<int64_t> kept;
    const at::Tensor pixels =
        load_clip_images(batch, res, options.skip_unreadable, &r.skipped, &kept);
    for (int64_t k : kept) labels.push_back(batch[k].label);
    if (pixels.size(0) > 0)
      feats.push_back(model->encode_image(pixels.to(weights_device(model))).cpu());
    progress.update(e, "");
  }
  progress.finish();
  if (feats.empty())
    throw Error("dataset " + split.dataset + " (" + split.split + "): no readable images");
  r.features = at::cat(feats).contiguous();
  r.labels = at::tensor(labels, at::kLong);
  if (options.use_cache) {
    core::write_safetensors(r.cache_path, {{"features", r.features}, {"labels", r.labels}},
                            {{"skipped", nlohmann::json(r.skipped).dump()},
                             {"dataset", split.dataset},
                             {"split", split.split},
                             {"backbone_fingerprint", model->fingerprint()},
                             {"transform", kTransform}});
  }
  return r;
}

}  // namespace vlprompt::clip_data
