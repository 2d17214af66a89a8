#include "pipeline/delta_formats.h"

#include <algorithm>
#include <map>

#include "pipeline/class_names.h"
#include "pipeline/lm_bundle.h"
#include "prompts/lm/peft_format.h"
#include "prompts/official/convert.h"
#include "prompts/official/format.h"
#include "src/core/error.h"

namespace vlprompt::pipeline {
namespace {

// A Dassl checkpoint of a registered official format, on a CLIP model and a class list.
std::string import_dassl(const std::string& from, const ImportRequest& r) {
  const ClassList classes = resolve_classes("import", r.classes, r.dataset, r.data_root);
  ModelBundle m = load_model_bundle(r.model);
  prompts::MethodContext context;
  context.clip = m.clip.model;
  context.tokenizer = m.tokenizer;
  context.classnames = classes.classnames;
  context.text_template = classes.template_text;
  const prompts::LoadedMethod imported = prompts::official::import_checkpoint(
      from, r.checkpoint, context, r.position, m.vocab_path, split_commas(r.domains));
  delta::write_delta(r.out, imported.method->state(), imported.info);
  std::string hyper;
  for (const auto& [k, v] : imported.info.hyperparameters) hyper += " " + k + "=" + v;
  return "imported " + r.checkpoint + " (" + from + " checkpoint, epoch " +
         std::to_string(imported.info.training["imported_from"]["epoch"].get<int64_t>()) +
         ") for " + std::to_string(classes.classnames.size()) + " classes:" + hyper + "\n  -> " +
         r.out;
}

std::string export_dassl(const std::string& to, const ExportRequest& r) {
  if (r.model.model.empty()) throw Error("export --to " + to + ": --model is required");
  const int64_t epoch = r.epoch >= 0 ? r.epoch : prompts::official::epoch_from_file_name(r.out);
  if (epoch < 0) {
    throw Error("export: cannot tell the epoch from '" + r.out +
                "' (not model.pth.tar-N); give --epoch N");
  }
  ModelBundle m = load_model_bundle(r.model);
  prompts::official::ExportContext context;
  context.clip = m.clip.model;
  context.tokenizer = m.tokenizer;
  prompts::official::export_checkpoint(to, r.delta, r.out, epoch, context);
  return "exported " + r.delta + " as a " + to + " checkpoint (epoch " + std::to_string(epoch) +
         ") -> " + r.out;
}

DeltaFormat peft_format() {
  return {prompts::lm::kPeftFormat,
          "Hugging Face PEFT adapter folder (Prompt/Prefix/P-Tuning, LoRA, IA3) on a LLaMA "
          "model; --model is the LLaMA folder or a shipped LM's name",
          [](const ImportRequest& r) {
            prompts::lm::import_peft(r.checkpoint, resolve_lm_folder(r.model.model), r.out);
            return "imported the PEFT adapter " + r.checkpoint + " -> " + r.out;
          },
          [](const ExportRequest& r) {
            // The model's shapes come from the delta file; --model only double-checks them.
            prompts::lm::export_peft(r.delta, resolve_lm_folder(r.model.model), r.out);
            return "exported " + r.delta + " as a PEFT adapter -> " + r.out;
          }};
}

const std::map<std::string, DeltaFormat>& formats() {
  static const std::map<std::string, DeltaFormat> all = [] {
    std::map<std::string, DeltaFormat> m;
    for (const std::string& name : prompts::official::official_format_names()) {
      const auto& official = prompts::official::find_official_format(name);
      m[name] = {name, official.description,
                 [name](const ImportRequest& r) { return import_dassl(name, r); },
                 [name](const ExportRequest& r) { return export_dassl(name, r); }};
    }
    DeltaFormat peft = peft_format();
    if (m.count(peft.name)) throw Error("two delta formats named " + peft.name);
    m[peft.name] = std::move(peft);
    return m;
  }();
  return all;
}

}  // namespace

const DeltaFormat& find_delta_format(const std::string& name) {
  const auto& all = formats();
  auto it = all.find(name);
  if (it == all.end()) {
    std::string known;
    for (const auto& [n, f] : all) known += (known.empty() ? "" : ", ") + n;
    throw Error("no official checkpoint format '" + name + "'; known: " + known);
  }
  return it->second;
}

std::vector<std::string> delta_format_names() {
  std::vector<std::string> names;
  for (const auto& [n, f] : formats()) names.push_back(n);
  return names;
}

}  // namespace vlprompt::pipeline
