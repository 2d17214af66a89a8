// The registry of official checkpoint formats: each method whose official trainer writes Dassl
// checkpoints registers, in its own file, how to read one into a vlprompt delta and how to write a
// delta back out (VLPROMPT_OFFICIAL_FORMAT(coop, ...) in coop_checkpoint.cpp). `vlprompt import`
// and `vlprompt export` reach them only by name; adding DAPL or MaPLe adds a file, not a branch.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_model.h"
#include "prompts/official/checkpoint.h"
#include "src/core/safetensors.h"
#include "src/delta/delta_file.h"
#include "src/text/clip_tokenizer.h"

namespace vlprompt::prompts::official {

// What an importer checks the checkpoint against: the model it will run on and the classes the
// delta is for (the checkpoint's token_prefix/token_suffix are rebuilt from them, as the official
// load_model does).
struct ImportContext {
  models::Clip clip{nullptr};
  std::vector<std::string> classnames;
  std::string position;  // CoOp's class-token position; "" when not given
  // For formats that must recognise the words a checkpoint's prompts were built from (MaPLe).
  std::shared_ptr<const text::ClipTokenizer> tokenizer;
  // DAPL's domains, source(s) then target, as --domains names them; empty when not given.
  std::vector<std::string> domains;
};

// A delta as the method's own delta file holds it: hyper-parameters (delta-file keys, strings)
// and tensors named "<method>.<param>".
struct ImportedState {
  std::string method;
  std::map<std::string, std::string> hyperparameters;
  core::TensorMap tensors;
};

// What an exporter needs to rebuild the fixed token vectors the official files carry.
struct ExportContext {
  models::Clip clip{nullptr};
  std::shared_ptr<const text::ClipTokenizer> tokenizer;
};

using Importer = std::function<ImportedState(const DasslCheckpoint&, const ImportContext&)>;
// The official PromptLearner's state_dict, in its order, for a delta file of this method.
using Exporter = std::function<StateDict(const delta::DeltaFile&, const ExportContext&)>;

struct OfficialFormat {
  std::string name;         // as --from / --to name it
  std::string description;  // one line
  Importer import_state;
  Exporter export_state;
};

// Refuses --position for a method whose prompts always end with the class name (all but CoOp),
// naming `method`.
void refuse_class_token_position(const ImportContext& context, const std::string& method);

// A second format under a taken name, or one without both functions, is an Error.
void register_official_format(OfficialFormat format);
// Unknown names are an Error listing the registered ones.
const OfficialFormat& find_official_format(const std::string& name);
std::vector<std::string> official_format_names();  // sorted

struct OfficialFormatRegistrar {
  explicit OfficialFormatRegistrar(OfficialFormat f) { register_official_format(std::move(f)); }
};

}  // namespace vlprompt::prompts::official

// In a method's own checkpoint file:
//   VLPROMPT_OFFICIAL_FORMAT(coop, "one-line description", import_coop, export_coop);
#define VLPROMPT_OFFICIAL_FORMAT(name, description, importer, exporter)                         \
  static const ::vlprompt::prompts::official::OfficialFormatRegistrar vlprompt_official_##name( \
      ::vlprompt::prompts::official::OfficialFormat{#name, description, importer, exporter})
