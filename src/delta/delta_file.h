// The delta file: a safetensors file holding only a delta's tensors ("<member>.<param>", never a
// backbone tensor) and, in `__metadata__`, everything needed to rebuild and check it:
//
//   format                "vlprompt-delta"
//   format_version        "1"
//   method                "coop", "stack", ...
//   hyperparameters       JSON object of strings (Delta::hyperparameters())
//   backbone              backbone name ("ViT-B-16")
//   backbone_fingerprint  core::fingerprint of the backbone's weights
//   tokenizer             vocabulary file name ("bpe_simple_vocab_16e6.txt.gz")
//   classnames            JSON list of the class names it was trained on
//   template              the hand-written template it is compared with ("a photo of a {}.")
//   training              JSON object summarising the run (epochs, shots, accuracy, ...)
//   metadata_digests      JSON object: each key above -> first 16 hex digits of its value's
//                         SHA-256; a value edited by hand is refused (absent in older files)
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/core/safetensors.h"
#include "src/delta/delta.h"

namespace vlprompt::delta {

inline constexpr const char* kDeltaFormat = "vlprompt-delta";
inline constexpr const char* kDeltaFormatVersion = "1";
inline constexpr const char* kDigestsKey = "metadata_digests";

struct DeltaFileInfo {
  std::string method;
  std::map<std::string, std::string> hyperparameters;
  std::string backbone;
  std::string backbone_fingerprint;
  std::string tokenizer;
  std::vector<std::string> classnames;
  std::string prompt_template;
  nlohmann::json training = nlohmann::json::object();
  // Where this was read from (set by read_delta, not stored); names the file in errors.
  std::string source;
};

struct DeltaFile {
  DeltaFileInfo info;
  core::TensorMap tensors;  // "<member>.<param>"
};

// Writes `tensors` with `info` as metadata, atomically.
void write_delta(const std::string& path, const core::TensorMap& tensors,
                 const DeltaFileInfo& info);
// Writes delta.named_tensors(); `info`'s method and hyperparameters are taken from the delta.
void write_delta(const std::string& path, const Delta& delta, DeltaFileInfo info);

// Reads and checks the format: wrong format, version or malformed metadata is a FileError naming
// the file and the key.
DeltaFile read_delta(const std::string& path);

// The metadata as one JSON object (for results files and `inspect --json`).
nlohmann::json info_json(const DeltaFileInfo& info);

// Refuses a delta trained on other backbone weights: the Error names the file, both backbone
// names and both fingerprints. Same fingerprint under another name (a converted copy) passes.
void check_backbone(const DeltaFileInfo& info, const std::string& fingerprint,
                    const std::string& name);

}  // namespace vlprompt::delta
