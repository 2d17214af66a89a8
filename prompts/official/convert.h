// Official checkpoint <-> vlprompt delta, for any registered format (prompts/official/format.h):
// what `vlprompt import` and `vlprompt export` run, and what tests call in process.
#pragma once

#include <string>

#include "prompts/official/format.h"
#include "prompts/registry.h"

namespace vlprompt::prompts::official {

// Reads `checkpoint` (a Dassl file of format `from`) and rebuilds the method it holds on
// `context` (model, tokenizer, classes): a delta of the method's own kind, its tensors loaded,
// with the metadata a trained run's delta file has (the vocabulary named by `vocab_path`), and
// `training` saying where it came from. `position` is CoOp's class-token position ("" = default).
LoadedMethod import_checkpoint(const std::string& from, const std::string& checkpoint,
                               const MethodContext& context, const std::string& position,
                               const std::string& vocab_path,
                               const std::vector<std::string>& domains = {});

// Writes the delta file `delta_path` as the official trainer of format `to` saves it, to `out`
// (atomically), with `epoch`. The delta must have been trained on `context.clip`.
void export_checkpoint(const std::string& to, const std::string& delta_path, const std::string& out,
                       int64_t epoch, const ExportContext& context);

// The N of a Dassl file name "model.pth.tar-N", or -1.
int64_t epoch_from_file_name(const std::string& path);

}  // namespace vlprompt::prompts::official
