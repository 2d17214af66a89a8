// The method registry: every method registers itself by name with one line in its own .cpp, and
// the CLI and engine reach it only through these functions, never by naming a method.
//
// Three kinds of entry:
//   a delta     (VLPROMPT_DELTA)   trained by engine::Trainer inside PromptedClipMethod. Deltas
//               compose: "coop+vpt" is a DeltaStack with members "coop" and "vpt", each built
//               from its own config section.
//   a baseline  (VLPROMPT_FITTED)  fitted in closed form on frozen image features (linear probe).
//   an LM delta (VLPROMPT_LM_DELTA) on a frozen LLaMA-family text LM (prompt/prefix/p-tuning);
//               stacks like a delta ("prompt_tuning+prefix_tuning"), never with CLIP members.
//   a module delta (VLPROMPT_MODULE_DELTA, prompts/delta_tuning/) with both factories: LoRA, IA3,
//               adapters, BitFit train on either model; the model given decides which (a stack
//               with a CLIP-only or LM-only member is that member's kind).
// vlprompt_prompts links whole-archive so no registration is dropped.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "models/llama/llama_model.h"
#include "src/core/config.h"
#include "src/delta/delta.h"
#include "src/delta/delta_file.h"
#include "src/engine/method.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts {

// What a factory builds against: the frozen backbone, its tokenizer, the classes, and the run
// seed (a delta's own `seed` key, when set, wins over it).
struct MethodContext {
  models::Clip clip{nullptr};
  std::shared_ptr<const text::ClipTokenizer> tokenizer;
  std::vector<std::string> classnames;
  uint64_t seed = 0;
  // The prompt per class for text towers no member lays out ("a photo of a {}.").
  std::string text_template = "a photo of a {}.";
  // Domain adaptation: the run's domains, source(s) then target (domain-aware deltas read them;
  // empty for a single-domain run).
  std::vector<std::string> domains;
};

// Builds an untrained delta from the keys under `section` of `config`: a run's YAML section
// (prompts/configs/<name>.yaml after overrides) or a delta file's hyper-parameters. Unknown keys
// and bad values are errors naming their layer (file, command line) and the key.
using DeltaFactory = std::function<std::shared_ptr<delta::Delta>(
    const core::ResolvedConfig& config, const std::string& section, const MethodContext& context)>;

// A baseline fitted in closed form on frozen image features; never trained by the Trainer.
class FittedMethod : public engine::Method {
 public:
  // Fits on the train features, choosing any regularisation on val (never test); returns what
  // results.json records about the fit.
  virtual nlohmann::json fit(const at::Tensor& train_features, const at::Tensor& train_labels,
                             const at::Tensor& val_features, const at::Tensor& val_labels) = 0;
};
using FittedFactory = std::function<std::unique_ptr<FittedMethod>(
    const core::ResolvedConfig& config, const std::string& section, const MethodContext& context)>;

// What an LM delta's factory builds against: the frozen LM, a text -> ids encoder (no BOS), the
// classification label words (may be empty), and the run seed (a delta's `seed` key wins).
struct LmMethodContext {
  models::llama::LlamaModel model{nullptr};
  std::function<std::vector<int64_t>(const std::string&)> encode;
  std::vector<std::string> label_words;
  uint64_t seed = 0;
  // The delta's tensors are about to be loaded (a delta file, a PEFT adapter): skip an
  // initialisation that needs encode or label words, as PEFT skips it in inference_mode.
  bool load_only = false;
};
using LmDeltaFactory = std::function<std::shared_ptr<delta::Delta>(
    const core::ResolvedConfig& config, const std::string& section,
    const LmMethodContext& context)>;

struct MethodEntry {
  std::string name;         // a C++ identifier; users may type '-' for '_'
  std::string description;  // one line, for `vlprompt methods`
  DeltaFactory make_delta;  // one of the three is set, or make_delta and make_lm_delta both
  FittedFactory make_fitted;
  LmDeltaFactory make_lm_delta;
  // The keys of the method's config section and delta file, with defaults and help, from its
  // Options struct's visit(): the one list that `vlprompt methods NAME`, the check of
  // prompts/configs/NAME.yaml and the delta file's hyper-parameters (core::to_strings) share.
  std::vector<core::ConfigField> (*options)() = nullptr;
  // Trains on CLIP / on a LLaMA-family LM (a module delta does both).
  bool is_delta() const { return static_cast<bool>(make_delta); }
  bool is_lm_delta() const { return static_cast<bool>(make_lm_delta); }
  bool is_any_model() const { return is_delta() && is_lm_delta(); }
  // "delta", "fitted", "lm-delta" or "any-model-delta" (for `vlprompt methods`).
  std::string kind() const {
    return is_any_model()  ? "any-model-delta"
           : is_delta()    ? "delta"
           : is_lm_delta() ? "lm-delta"
                           : "fitted";
  }
};

// A second entry under a taken name, or one with no or two factories, is an Error.
void register_method(MethodEntry entry);
// Unknown names are an Error listing the registered ones.
const MethodEntry& find_method(const std::string& name);
std::vector<std::string> method_names();  // sorted

// "coop+vpt" -> {"coop", "vpt"} (the config sections and stack member names), each registered;
// a baseline cannot be stacked. Errors name the expression and the offending part.
std::vector<std::string> method_members(const std::string& method);
// Whether `method` ("prompt_tuning", "prefix_tuning+prompt_tuning", "lora") runs on a
// LLaMA-family model instead of CLIP: a member that trains on one kind only decides; a stack of
// module deltas alone runs on whichever the model is (`llama_model`). Unknown names are an Error
// as above.
bool is_lm_method(const std::string& method, bool llama_model = false);

// A method to train or evaluate: a baseline, or PromptedClipMethod over the member deltas.
std::unique_ptr<engine::Method> make_method(const std::string& method,
                                            const core::ResolvedConfig& config,
                                            const MethodContext& context);
// The Delta Tuning survey's sequential combination: the members of a trained delta file first
// (its tensors loaded; frozen when `freeze`), then the new members of `method`, trained on top.
// The method is named after all of them ("coop+vpt"). A member in both is an Error.
std::unique_ptr<engine::Method> make_method_on(const std::string& init_delta,
                                               const std::string& method,
                                               const core::ResolvedConfig& config,
                                               const MethodContext& context, bool freeze);

// The delta alone: the lone member, or a DeltaStack of the members.
std::shared_ptr<delta::Delta> make_delta(const std::string& method,
                                         const core::ResolvedConfig& config,
                                         const MethodContext& context);

// The LM delta alone: the lone member, or a DeltaStack of the members, each built from its own
// config section against `context`. A CLIP delta or a baseline among the members is an Error.
std::shared_ptr<delta::Delta> make_lm_delta(const std::string& method,
                                            const core::ResolvedConfig& config,
                                            const LmMethodContext& context);

// A trained method rebuilt from a delta file, ready to evaluate on `context.classnames` (another
// dataset's, for cross-dataset transfer): built with the file's own class list and
// hyper-parameters, its tensors loaded, then pointed at the new classes (an empty class list keeps
// the file's own). The backbone is checked.
struct LoadedMethod {
  std::unique_ptr<engine::Method> method;
  delta::DeltaFileInfo info;
};
LoadedMethod method_from_delta(const std::string& path, const MethodContext& context);
// The same without the backbone check: for checking a file's tensor shapes against its metadata
// on a model of the same architecture (`inspect` without --model builds one by config name).
LoadedMethod method_from_delta_unchecked(const std::string& path, const MethodContext& context);
// The same from a delta file already read (`path` names it in errors), so that a command checks
// and loads one version of the file; the backbone is not checked.
LoadedMethod method_from_delta_file(const delta::DeltaFile& file, const std::string& path,
                                    const MethodContext& context);

// The delta of a delta file, for tools that apply it to the towers directly (embed).
struct LoadedDelta {
  std::shared_ptr<delta::Delta> delta;
  delta::DeltaFileInfo info;
};
LoadedDelta load_delta(const std::string& path, models::Clip clip,
                       std::shared_ptr<const text::ClipTokenizer> tokenizer);

// The config a delta file's hyper-parameters stand for. A lone member's keys are at the top level
// of the file ("n_ctx"), a stack's under their member ("coop.n_ctx") beside the stack's own keys
// ("members", "sequential", "coop.method"), which no member reads.
core::ResolvedConfig file_config(const std::vector<std::string>& members,
                                 const std::map<std::string, std::string>& hyperparameters,
                                 const std::string& source);

// The metadata of a finished run's delta file: the method's name, hyper-parameters and
// backbone, the tokenizer and the classes it was trained on.
delta::DeltaFileInfo delta_info(const engine::Method& method, const models::Clip& clip,
                                const std::string& vocab_path,
                                const std::vector<std::string>& classnames,
                                const std::string& prompt_template);

// A delta's options (a struct with visit() and a `seed` setter) from its config section; without
// a `seed` key there, the run seed seeds the delta's initialisation.
template <class Options>
Options read_delta_options(const core::ResolvedConfig& config, const std::string& section,
                           uint64_t run_seed) {
  Options o = core::read_config<Options>(config, section);
  if (!config.has(core::config_detail::join_key(section, "seed"))) o.seed(run_seed);
  return o;
}

struct MethodRegistrar {
  explicit MethodRegistrar(MethodEntry entry) { register_method(std::move(entry)); }
};

}  // namespace vlprompt::prompts

// In a delta's own .cpp, after its factory and Options struct (whose visit() lists its keys):
//   VLPROMPT_DELTA(coop, "one-line description", make_coop, CoOpOptions);
#define VLPROMPT_DELTA(name, description, factory, Options)                           \
  static const ::vlprompt::prompts::MethodRegistrar vlprompt_method_##name(           \
      ::vlprompt::prompts::MethodEntry{#name, description, factory, nullptr, nullptr, \
                                       &::vlprompt::core::describe_config<Options>})
// In a baseline's own .cpp: VLPROMPT_FITTED(linear_probe, "description", make_probe, Keys);
#define VLPROMPT_FITTED(name, description, factory, Options)                          \
  static const ::vlprompt::prompts::MethodRegistrar vlprompt_method_##name(           \
      ::vlprompt::prompts::MethodEntry{#name, description, nullptr, factory, nullptr, \
                                       &::vlprompt::core::describe_config<Options>})
// In an LM delta's own .cpp: VLPROMPT_LM_DELTA(prompt_tuning, "description", make_pt, Options);
#define VLPROMPT_LM_DELTA(name, description, factory, Options)                        \
  static const ::vlprompt::prompts::MethodRegistrar vlprompt_method_##name(           \
      ::vlprompt::prompts::MethodEntry{#name, description, nullptr, nullptr, factory, \
                                       &::vlprompt::core::describe_config<Options>})
