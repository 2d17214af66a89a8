#include "prompts/registry.h"

#include <algorithm>
#include <filesystem>

#include "prompts/prompted_clip.h"
#include "src/core/error.h"
#include "src/delta/delta_stack.h"

namespace vlprompt::prompts {
namespace {

// Function-local so registrations from other translation units' static initialisers find it
// constructed, whatever the initialisation order.
std::map<std::string, MethodEntry>& registry() {
  static std::map<std::string, MethodEntry> entries;
  return entries;
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// Errors from rebuilding a file's method name the file, whatever layer they came from.
template <class F>
auto rebuilding(const std::string& path, const char* what, F&& build) {
  try {
    return build();
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(path,
                    std::string("cannot rebuild the ") + what + " from its metadata: " + e.what());
  }
}

// CLIP paths reached with a text-LM delta's name.
Error needs_llama(const std::string& method) {
  return Error("method '" + method +
               "' is a text-LM delta: it needs a LLaMA-family model (train it with --model "
               "pointing at a Hugging Face LLaMA folder), not a CLIP model");
}

}  // namespace

core::ResolvedConfig file_config(const std::vector<std::string>& members,
                                 const std::map<std::string, std::string>& hyperparameters,
                                 const std::string& source) {
  std::map<std::string, std::string> keys;
  for (const auto& [key, value] : hyperparameters) {
    if (members.size() == 1) {
      keys[members[0] + "." + key] = value;
      continue;
    }
    if (key == "members" || key == "sequential" || key == "frozen") continue;
    if (key.size() > 7 && key.compare(key.size() - 7, 7, ".method") == 0) continue;
    keys[key] = value;
  }
  return core::config_from_strings(keys, source);
}

void register_method(MethodEntry entry) {
  if (entry.name.empty()) throw Error("method registry: a method has no name");
  const int factories = static_cast<int>(static_cast<bool>(entry.make_delta)) +
                        static_cast<int>(static_cast<bool>(entry.make_fitted)) +
                        static_cast<int>(static_cast<bool>(entry.make_lm_delta));
  if (factories != 1 && !(factories == 2 && entry.is_any_model())) {
    throw Error("method registry: method '" + entry.name +
                "' needs exactly one factory (a delta, a fitted baseline or an LM delta), or a "
                "delta and an LM delta");
  }
  if (!entry.options) {
    throw Error("method registry: method '" + entry.name +
                "' lists no options (the Options struct whose visit() names its keys)");
  }
  auto& entries = registry();
  if (entries.count(entry.name)) {
    throw Error("method registry: there is already a method called '" + entry.name + "'");
  }
  const std::string name = entry.name;
  entries.emplace(name, std::move(entry));
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

const MethodEntry& find_method(const std::string& name) {
  // Registration names are C++ identifiers ("linear_probe"); users also type "linear-probe".
  std::string key = name;
  std::replace(key.begin(), key.end(), '-', '_');
  auto it = registry().find(key);
  if (it == registry().end()) {
    const std::vector<std::string> names = method_names();
    throw Error("unknown method '" + name +
                "' (registered: " + (names.empty() ? "none" : join(names)) + "; did you mean '" +
                core::closest_key(key, names) + "'?)");
  }
  return it->second;
}

bool is_lm_method(const std::string& method, bool llama_model) {
  for (const auto& m : method_members(method)) {
    const MethodEntry& entry = find_method(m);
    if (!entry.is_any_model()) return entry.is_lm_delta();
  }
  return llama_model;
}

std::vector<std::string> method_members(const std::string& method) {
  std::vector<std::string> members;
  size_t start = 0;
  while (true) {
    const size_t plus = method.find('+', start);
    const std::string part = method.substr(start, plus - start);
    if (part.empty()) throw Error("method '" + method + "': an empty member between '+'");
    const MethodEntry& entry = find_method(part);
    if (std::find(members.begin(), members.end(), entry.name) != members.end()) {
      throw Error("method '" + method + "': '" + entry.name + "' appears twice");
    }
    members.push_back(entry.name);
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  if (members.size() > 1) {
    // The first member that trains on one model kind only fixes the stack's kind.
    const MethodEntry* fixed = nullptr;
    for (const auto& m : members) {
      const MethodEntry& entry = find_method(m);
      if (!entry.is_delta() && !entry.is_lm_delta()) {
        throw Error("method '" + method + "': '" + m +
                    "' is a fitted baseline, not a delta; only deltas stack");
      }
      if (entry.is_any_model()) continue;
      if (!fixed) {
        fixed = &entry;
      } else if (entry.is_lm_delta() != fixed->is_lm_delta()) {
        const bool lm = fixed->is_lm_delta();
        throw Error("method '" + method + "': '" + m + "' is " +
                    (lm ? "a CLIP delta" : "a text-LM delta") + " but '" + fixed->name + "' is " +
                    (lm ? "a text-LM delta" : "a CLIP delta") +
                    "; they apply to different models and cannot stack");
      }
    }
  }
  return members;
}

std::shared_ptr<delta::Delta> make_delta(const std::string& method,
                                         const core::ResolvedConfig& config,
                                         const MethodContext& context) {
  const std::vector<std::string> members = method_members(method);
  if (is_lm_method(method)) throw needs_llama(method);
  if (!find_method(members.front()).is_delta()) {
    throw Error("method '" + method + "' is a fitted baseline; it has no delta to apply");
  }
  if (members.size() == 1)
    return find_method(members.front()).make_delta(config, members[0], context);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  for (const auto& m : members) stack->add(m, find_method(m).make_delta(config, m, context));
  return stack.ptr();
}

std::shared_ptr<delta::Delta> make_lm_delta(const std::string& method,
                                            const core::ResolvedConfig& config,
                                            const LmMethodContext& context) {
  const std::vector<std::string> members = method_members(method);
  if (!is_lm_method(method, /*llama_model=*/true)) {
    throw Error("method '" + method + "' is not a text-LM delta (" +
                find_method(members.front()).kind() + "); it needs a CLIP model");
  }
  if (!context.model) throw Error("method '" + method + "': no LLaMA model to build it on");
  if (members.size() == 1)
    return find_method(members.front()).make_lm_delta(config, members[0], context);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  for (const auto& m : members) stack->add(m, find_method(m).make_lm_delta(config, m, context));
  return stack.ptr();
}

std::unique_ptr<engine::Method> make_method(const std::string& method,
                                            const core::ResolvedConfig& config,
                                            const MethodContext& context) {
  const std::vector<std::string> members = method_members(method);
  const MethodEntry& first = find_method(members.front());
  if (is_lm_method(method)) throw needs_llama(method);
  if (!first.is_delta()) return first.make_fitted(config, first.name, context);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  for (const auto& m : members) stack->add(m, find_method(m).make_delta(config, m, context));
  return std::make_unique<PromptedClipMethod>(
      context.clip, context.tokenizer, std::move(stack), context.classnames,
      PromptedClipOptions().text_template(context.text_template));
}

LoadedMethod method_from_delta(const std::string& path, const MethodContext& context) {
  const delta::DeltaFile file = delta::read_delta(path);
  delta::check_backbone(file.info, context.clip->fingerprint(), context.clip->config().name);
  return method_from_delta_file(file, path, context);
}

LoadedMethod method_from_delta_unchecked(const std::string& path, const MethodContext& context) {
  return method_from_delta_file(delta::read_delta(path), path, context);
}

LoadedMethod method_from_delta_file(const delta::DeltaFile& file, const std::string& path,
                                    const MethodContext& context) {
  MethodContext own = context;
  own.classnames = file.info.classnames;
  if (!file.info.prompt_template.empty()) own.text_template = file.info.prompt_template;
  LoadedMethod out;
  out.method = rebuilding(path, "method", [&] {
    const std::vector<std::string> members = method_members(file.info.method);
    return make_method(file.info.method,
                       file_config(members, file.info.hyperparameters, "delta file " + path), own);
  });
  try {
    out.method->load_state(file.tensors);
  } catch (const Error& e) {
    // (The stack names itself, "coop state", as the source of a shape error, not the file.)
    // An edited hyper-parameter (n_ctx, csc, ...) shows up here as a shape that does not fit.
    throw FileError(path,
                    "its tensors do not fit the " + file.info.method +
                        " its metadata describes (were the hyperparameters edited?): " + e.what());
  }
  if (!context.classnames.empty()) {
    rebuilding(path, "method for the new classes", [&] {
      out.method->set_classnames(context.classnames);
      return 0;
    });
  }
  out.info = file.info;
  return out;
}

std::unique_ptr<engine::Method> make_method_on(const std::string& init_delta,
                                               const std::string& method,
                                               const core::ResolvedConfig& config,
                                               const MethodContext& context, bool freeze) {
  const delta::DeltaFile file = delta::read_delta(init_delta);
  delta::check_backbone(file.info, context.clip->fingerprint(), context.clip->config().name);
  const std::vector<std::string> added = method_members(method);
  delta::DeltaStack stack{delta::DeltaStackOptions{}};
  const auto init = rebuilding(init_delta, "delta", [&] {
    const std::vector<std::string> members = method_members(file.info.method);
    const core::ResolvedConfig init_config =
        file_config(members, file.info.hyperparameters, "delta file " + init_delta);
    MethodContext own = context;
    own.classnames = file.info.classnames;
    for (const auto& m : members) {
      if (std::find(added.begin(), added.end(), m) != added.end()) {
        throw Error("'" + m + "' is already in the delta; stack other members on it");
      }
      if (!find_method(m).is_delta()) throw Error("'" + m + "' is not a delta");
      stack->add(m, find_method(m).make_delta(init_config, m, own));
      stack->member(m)->set_classnames(context.classnames);
    }
    return members;
  });
  // The file names the stack's tensors "<member>.<param>", as the stack itself does.
  core::TensorMap loaded;
  for (const auto& [name, t] : stack->named_tensors()) {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) throw FileError(init_delta, "tensor '" + name + "' is missing");
    loaded[name] = it->second;
  }
  if (loaded.size() != file.tensors.size()) {
    throw FileError(init_delta, "holds tensors its members do not have");
  }
  {
    at::NoGradGuard no_grad;
    const core::TensorMap targets = stack->named_tensors();
    for (const auto& [name, t] : loaded) targets.at(name).copy_(t);
  }
  if (freeze) {
    for (const auto& m : init) stack->freeze(m);
  }
  for (const auto& m : added) stack->add(m, find_method(m).make_delta(config, m, context));
  return std::make_unique<PromptedClipMethod>(
      context.clip, context.tokenizer, std::move(stack), context.classnames,
      PromptedClipOptions().text_template(context.text_template));
}

LoadedDelta load_delta(const std::string& path, models::Clip clip,
                       std::shared_ptr<const text::ClipTokenizer> tokenizer) {
  MethodContext context;
  context.clip = std::move(clip);
  context.tokenizer = std::move(tokenizer);
  LoadedMethod loaded = method_from_delta(path, context);
  auto* prompted = dynamic_cast<PromptedClipMethod*>(loaded.method.get());
  if (!prompted) {
    throw FileError(path, "method '" + loaded.info.method +
                              "' is a fitted baseline on image features; it has no delta to apply "
                              "to the towers (evaluate it with `vlprompt eval`)");
  }
  LoadedDelta out;
  const auto& members = prompted->stack()->member_names();
  out.delta = members.size() == 1 ? prompted->stack()->member(members[0])
                                  : std::static_pointer_cast<delta::Delta>(prompted->stack().ptr());
  out.info = std::move(loaded.info);
  return out;
}

delta::DeltaFileInfo delta_info(const engine::Method& method, const models::Clip& clip,
                                const std::string& vocab_path,
                                const std::vector<std::string>& classnames,
                                const std::string& prompt_template) {
  delta::DeltaFileInfo info;
  info.method = method.name();
  info.hyperparameters = method.hyperparameters();
  info.backbone = clip->config().name;
  info.backbone_fingerprint = clip->fingerprint();
  info.tokenizer = std::filesystem::path(vocab_path).filename().string();
  info.classnames = classnames;
  info.prompt_template = prompt_template;
  return info;
}

}  // namespace vlprompt::prompts
