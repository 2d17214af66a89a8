#include "pipeline/model_kind.h"

#include "prompts/registry.h"

namespace vlprompt::pipeline {

const ModelKind& model_kind_of_method(const std::string& method) {
  return prompts::is_lm_method(method) ? llama_kind() : clip_kind();
}

const ModelKind& model_kind_of(const delta::DeltaFile& file) {
  return model_kind_of_method(file.info.method);
}

}  // namespace vlprompt::pipeline
