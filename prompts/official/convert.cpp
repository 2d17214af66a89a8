#include "prompts/official/convert.h"

#include <filesystem>

#include "src/core/config.h"
#include "src/core/error.h"

namespace vlprompt::prompts::official {

LoadedMethod import_checkpoint(const std::string& from, const std::string& checkpoint,
                               const MethodContext& context, const std::string& position,
                               const std::string& vocab_path,
                               const std::vector<std::string>& domains) {
  const OfficialFormat& format = find_official_format(from);  // before touching the file
  const DasslCheckpoint file = read_dassl_checkpoint(checkpoint);
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
