// Every format of another tool's files that `vlprompt import` reads into a delta file and
// `vlprompt export` writes a delta file as, in one registry the two commands look names up in:
// the official Dassl checkpoints of CoOp, CoCoOp, DAPL, MaPLe and IVLP (each registered by its
// method's own file in prompts/official/) and PEFT's prompt-learning adapter folders on a LLaMA
// model. A format brings its own model kind: a Dassl format loads --model as CLIP, PEFT as the
// LLaMA folder. Adding a format adds an entry, not a branch in the commands.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/model_loading.h"

namespace vlprompt::pipeline {

struct ImportRequest {
  std::string checkpoint;  // the official file (Dassl) or folder (PEFT)
  ModelArgs model;
  // Dassl formats: the classes the checkpoint was trained on (--classes or --dataset), CoOp's
  // class-token position, DAPL's domains ("SRC,TGT").
  std::string classes, dataset, data_root, position, domains;
  std::string out;  // the delta file to write
};

struct ExportRequest {
  std::string delta;  // the delta file to read
  ModelArgs model;
  std::string out;     // the official file (Dassl) or folder (PEFT)
  int64_t epoch = -1;  // Dassl: the epoch to record; -1 = N of model.pth.tar-N
};

struct DeltaFormat {
  std::string name;         // as --from / --to name it
  std::string description;  // one line
  // Each does the whole conversion and returns one line saying what it wrote.
  std::function<std::string(const ImportRequest&)> import_file;
  std::function<std::string(const ExportRequest&)> export_file;
};

// Unknown names are an Error listing the known ones.
const DeltaFormat& find_delta_format(const std::string& name);
std::vector<std::string> delta_format_names();  // sorted

}  // namespace vlprompt::pipeline
