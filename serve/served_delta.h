// The deltas a server holds, by the name requests give, and how one is loaded from its file.
//
// A delta is immutable once loaded: a reload makes a new ServedDelta and swaps the registry's
// pointer, so a request holding the old one finishes on it (shared ownership).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/lm_bundle.h"
#include "pipeline/model_loading.h"
#include "prompts/prompted_lm.h"
#include "prompts/registry.h"
#include "src/delta/delta.h"
#include "src/delta/delta_file.h"

namespace vlprompt::serve {

// Which frozen model a delta belongs to (the one whose fingerprint its file records).
enum class DeltaModel { kLm, kClip };

struct ServedDelta {
  std::string name;
  std::string path;
  DeltaModel model = DeltaModel::kLm;
  delta::DeltaFileInfo info;
  // Text LM: the delta and its sites, taken once (the serving loop is their only user).
  std::shared_ptr<delta::Delta> lm_delta;
  delta::SiteContext lm_context;
  nn::DeltaSites* lm_sites = nullptr;
  prompts::PromptedLmOptions lm_options;  // the task and label scoring it was trained with
  // CLIP: the method, classifying into info.classnames; image_side when it changes the image
  // tower (then it needs its own image pass).
  std::shared_ptr<engine::Method> clip_method;
  bool image_side = false;
  // The file as it was when loaded (the watcher reloads when either changes).
  std::filesystem::file_time_type mtime;
  std::uintmax_t bytes = 0;
  int64_t loaded_at = 0;  // unix seconds
};

// What a delta loads onto: either model may be absent.
struct FrozenModels {
  pipeline::LmBundle* lm = nullptr;
  pipeline::ModelBundle* clip = nullptr;
};

// Reads `path` and builds it as `name` on the model whose fingerprint it records. FileError
// naming the file when it fits neither model, is malformed, or replaces frozen LM weights (full or
// partial fine-tuning, LN tuning: those rows could not share a batch; merge them into a model
// folder with `vlprompt merge` and serve that instead).
std::shared_ptr<const ServedDelta> load_served_delta(const std::string& name,
                                                     const std::string& path,
                                                     const FrozenModels& models);

// A delta name as requests give it: letters, digits, '-', '_', '.', at most 128 characters, and
// not "base". Error naming `where` otherwise.
void check_delta_name(const std::string& name, const std::string& where);

class DeltaRegistry {
 public:
  std::shared_ptr<const ServedDelta> find(const std::string& name) const;
  void put(std::shared_ptr<const ServedDelta> delta);
  void remove(const std::string& name);
  std::vector<std::shared_ptr<const ServedDelta>> list() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const ServedDelta>> deltas_;
};

}  // namespace vlprompt::serve
