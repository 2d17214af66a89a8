// Delta files of text-LM deltas: the same format as CLIP's (src/delta/delta_file.h), holding
// delta.export_tensors() (collapsed: see delta::Delta::export_tensors), with the LLaMA folder's
// name as backbone and the fingerprint of its weights.
#pragma once

#include <memory>
#include <string>

#include "models/llama/llama_model.h"
#include "prompts/registry.h"
#include "src/delta/delta_file.h"

namespace vlprompt::prompts::lm {

// The registered method a delta is ("prefix_tuning"; a stack by its members,
// "prompt_tuning+bitfit"): what its file records and its run is named. A stack's own name
// ("stack") is no registered method, and files recording it could not be read back.
std::string delta_method(const delta::Delta& delta);

// core::fingerprint of the model's parameters by HF name.
std::string llama_fingerprint(const models::llama::LlamaModel& model);

// Method, hyper-parameters, backbone (the folder's name) and fingerprint for `delta`; the caller
// adds classes, template and training summary.
delta::DeltaFileInfo lm_delta_info(const delta::Delta& delta,
                                   const models::llama::LlamaModel& model,
                                   const std::string& model_dir);

// Writes delta.export_tensors() with `info` (method and hyper-parameters taken from the delta).
void write_lm_delta(const std::string& path, const delta::Delta& delta, delta::DeltaFileInfo info);

// Rebuilds the delta of a delta file on context.model (checked against the file's fingerprint)
// and loads its tensors.
struct LoadedLmDelta {
  std::shared_ptr<delta::Delta> delta;
  delta::DeltaFileInfo info;
};
LoadedLmDelta load_lm_delta(const std::string& path, const LmMethodContext& context);
// The same for a file already read (`path` names it in errors): the backbone is checked on, and
// the delta built from, that one reading.
LoadedLmDelta load_lm_delta(delta::DeltaFile file, const std::string& path,
                            const LmMethodContext& context);

// The Delta Tuning survey's sequential combination on an LM: the members of a trained delta file
// (its tensors loaded; frozen when `freeze`), then the new members of `method` built from
// `config`, in one stack. The stack's file holds every member, so it evaluates on its own. A
// member in both is an Error.
std::shared_ptr<delta::Delta> stack_on_lm_delta(const std::string& init_delta,
                                                const std::string& method,
                                                const core::ResolvedConfig& config,
                                                const LmMethodContext& context, bool freeze);

}  // namespace vlprompt::prompts::lm
