#include "prompts/official/convert.h"

#include <filesystem>

#include "src/core/config.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

// A NaN learned vector makes a delta that every later command refuses: refuse it here, naming
// the key, rather than write it.
void check_imported_values(const DasslCheckpoint& file) {
  for (const auto& [key, t] : file.state_dict) {
    if (!at::isFloatingType(t.scalar_type()) || t.numel() == 0) continue;
    if (!t.isfinite().all().item<bool>()) {
      throw FileError(
          file.path, "state_dict['" + key + "'] holds NaN or Inf values (" +
                         std::to_string(t.isfinite().logical_not().sum().item<int64_t>()) + " of " +
                         std::to_string(t.numel()) +
                         "); expected finite numbers: the run that saved it diverged");
    }
  }
}

// The saved class-token buffers are rebuilt from the classes given, but their shapes say which
// backbone the file was trained on: [n_cls, 1, width] and [n_cls, L, width], one n_cls.
void check_token_buffers(const DasslCheckpoint& file, int64_t width) {
  const at::Tensor* prefix = nullptr;
  const at::Tensor* suffix = nullptr;
  std::string prefix_key, suffix_key;
  for (const auto& [key, t] : file.state_dict) {
    const auto ends = [&](const std::string& s) {
      return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("token_prefix")) prefix = &t, prefix_key = key;
    if (ends("token_suffix")) suffix = &t, suffix_key = key;
  }
  const std::string w = std::to_string(width);
  if (prefix && (prefix->dim() != 3 || prefix->size(1) != 1 || prefix->size(2) != width))
    throw FileError(file.path, "state_dict['" + prefix_key + "'] has shape " +
                                   c10::str(prefix->sizes()) + ", expected [n_cls, 1, " + w +
                                   "] (the class prompts' start token on this model)");
  if (suffix && (suffix->dim() != 3 || suffix->size(2) != width))
    throw FileError(file.path, "state_dict['" + suffix_key + "'] has shape " +
                                   c10::str(suffix->sizes()) + ", expected [n_cls, L, " + w + "]");
  if (prefix && suffix && prefix->size(0) != suffix->size(0))
    throw FileError(file.path, "state_dict['" + prefix_key + "'] is for " +
                                   std::to_string(prefix->size(0)) + " classes but '" + suffix_key +
                                   "' for " + std::to_string(suffix->size(0)));
}

}  // namespace

LoadedMethod import_checkpoint(const std::string& from, const std::string& checkpoint,
                               const MethodContext& context, const std::string& position,
                               const std::string& vocab_path,
                               const std::vector<std::string>& domains) {
  const OfficialFormat& format = find_official_format(from);  // before touching the file
  const DasslCheckpoint file = read_dassl_checkpoint(checkpoint);
  check_imported_values(file);
  check_token_buffers(file, context.clip->config().text.width);
  ImportContext import_context;
  import_context.clip = context.clip;
  import_context.classnames = context.classnames;
  import_context.position = position;
  import_context.tokenizer = context.tokenizer;
  import_context.domains = domains;
  const ImportedState state = format.import_state(file, import_context);
  // The method is built from the hyper-parameters as a delta file's are, then loaded: its own
  // constructor and load_state check everything once more (widths, class counts).
  std::map<std::string, std::string> keys;
  for (const auto& [key, value] : state.hyperparameters) keys[state.method + "." + key] = value;
  LoadedMethod out;
  try {
    out.method = make_method(state.method,
                             core::config_from_strings(keys, "checkpoint " + checkpoint), context);
    out.method->load_state(state.tensors);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(checkpoint, std::string("cannot rebuild its ") + from + " delta: " + e.what());
  }
  out.info =
      delta_info(*out.method, context.clip, vocab_path, context.classnames, context.text_template);
  out.info.training = {{"imported_from",
                        {{"format", from},
                         {"file", std::filesystem::path(checkpoint).filename().string()},
                         {"epoch", file.epoch}}}};
  return out;
}

void export_checkpoint(const std::string& to, const std::string& delta_path, const std::string& out,
                       int64_t epoch, const ExportContext& context) {
  const OfficialFormat& format = find_official_format(to);
  const delta::DeltaFile file = delta::read_delta(delta_path);
  delta::check_backbone(file.info, context.clip->fingerprint(), context.clip->config().name);
  StateDict state;
  try {
    state = format.export_state(file, context);
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(delta_path, std::string("cannot export it as ") + to + ": " + e.what());
  }
  write_dassl_checkpoint(out, state, epoch);
}

int64_t epoch_from_file_name(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const std::string stem = "model.pth.tar-";
  if (name.rfind(stem, 0) != 0 || name.size() == stem.size() || name.size() > stem.size() + 9) {
    return -1;
  }
  for (size_t i = stem.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
  }
  return std::stoll(name.substr(stem.size()));
}

}  // namespace vlprompt::prompts::official
