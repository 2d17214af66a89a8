// Frozen image features for a dataset split, computed once and cached on disk: the key is the
// backbone fingerprint + dataset + split + the exact item list + the transform, so evaluating
// many prompts on one test set costs the image tower once.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "models/clip/clip_model.h"

namespace vlprompt::clip_data {

struct FeatureOptions {
  int64_t batch_size = 64;
  bool skip_unreadable = false;  // else the first unreadable image is an error naming it
  bool use_cache = true;
  std::string cache_dir;  // "" -> $VLPROMPT_CACHE_DIR, else ~/.cache/vlprompt
};

struct SplitFeatures {
  at::Tensor features;               // [N, embed_dim], not normalized (encode_image)
  at::Tensor labels;                 // [N] int64
  std::vector<std::string> skipped;  // unreadable files left out (skip_unreadable)
  bool from_cache = false;
  std::string cache_path;
};

// Decodes (or takes in-memory pixels), resizes + center-crops + normalizes a set of records in
// parallel -> [N, 3, R, R]. Unreadable files: FileError, or listed in `skipped` and left out
// (then `kept` gets the indices that remain).
at::Tensor load_clip_images(const std::vector<datasets::ImageRecord>& items, int64_t resolution,
                            bool skip_unreadable, std::vector<std::string>* skipped,
                            std::vector<int64_t>* kept);

SplitFeatures encode_split(models::Clip& model, const datasets::DatasetSplit& split,
                           const FeatureOptions& options);

std::string default_cache_dir();

}  // namespace vlprompt::clip_data
