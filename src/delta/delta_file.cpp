#include "src/delta/delta_file.h"

#include "src/core/error.h"
#include "src/core/hash.h"

namespace vlprompt::delta {
namespace {

using nlohmann::json;

const std::string& required(const core::Metadata& metadata, const std::string& key,
                            const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) {
    throw FileError(path, "metadata key '" + key + "' is missing (a vlprompt delta file has it)");
  }
  return it->second;
}

json parse_json(const std::string& text, const std::string& key, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, "metadata key '" + key + "' is not valid JSON (" + e.what() + "): '" +
                              text.substr(0, 200) + "'");
  }
}

// Metadata that no longer matches the tensors evaluates a model nobody trained (an edited
// class_token_position keeps every shape), so each value's digest is stored beside it.
std::string value_digest(const std::string& value) {
  return core::Hasher().update(value).hex().substr(0, 16);
}

json metadata_digests(const core::Metadata& metadata) {
  json digests = json::object();
  for (const auto& [key, value] : metadata) digests[key] = value_digest(value);
  return digests;
}

// Files written before digests existed have no kDigestsKey and are read as they are.
void check_digests(const core::Metadata& m, const std::string& path) {
  const auto stored = m.find(kDigestsKey);
  if (stored == m.end()) return;
  const json digests = parse_json(stored->second, kDigestsKey, path);
  if (!digests.is_object())
    throw FileError(path, std::string("metadata '") + kDigestsKey + "' must be a JSON object");
  for (const auto& [key, digest] : digests.items()) {
    const auto value = m.find(key);
    if (value == m.end()) {
      throw FileError(path, "metadata '" + key + "' was removed after the delta was written");
    }
    if (!digest.is_string() || digest.get<std::string>() != value_digest(value->second)) {
      throw FileError(path, "metadata '" + key +
                                "' was edited after the delta was written (its digest in '" +
                                kDigestsKey +
                                "' no longer matches); the tensors were trained "
                                "with the original value, now '" +
                                value->second.substr(0, 300) + "': restore the file or retrain");
    }
  }
}

}  // namespace

void write_delta(const std::string& path, const core::TensorMap& tensors,
                 const DeltaFileInfo& info) {
  if (tensors.empty()) throw FileError(path, "refusing to write a delta file with no tensors");
  if (info.method.empty()) throw FileError(path, "delta file info has no method name");
  json hyper = json::object();
  for (const auto& [k, v] : info.hyperparameters) hyper[k] = v;
  core::Metadata metadata{
      {"format", kDeltaFormat},
      {"format_version", kDeltaFormatVersion},
      {"method", info.method},
      {"hyperparameters", hyper.dump()},
      {"backbone", info.backbone},
      {"backbone_fingerprint", info.backbone_fingerprint},
      {"tokenizer", info.tokenizer},
      {"classnames", json(info.classnames).dump()},
      {"template", info.prompt_template},
      {"training", info.training.dump()},
  };
  metadata[kDigestsKey] = metadata_digests(metadata).dump();
  core::TensorMap detached;
  for (const auto& [name, t] : tensors) detached[name] = t.detach();
  core::write_safetensors(path, detached, metadata);
}

void write_delta(const std::string& path, const Delta& delta, DeltaFileInfo info) {
  info.method = delta.method();
  info.hyperparameters = delta.hyperparameters();
  write_delta(path, delta.named_tensors(), info);
}

DeltaFile read_delta(const std::string& path) {
  core::TensorFile file = core::read_safetensors(path);
  const core::Metadata& m = file.metadata;
  const std::string& format = required(m, "format", path);
  if (format != kDeltaFormat) {
    throw FileError(path, "metadata 'format' is '" + format + "', expected '" + kDeltaFormat +
                              "' (not a vlprompt delta file)");
  }
  const std::string& version = required(m, "format_version", path);
  if (version != kDeltaFormatVersion) {
    throw FileError(path, "metadata 'format_version' is '" + version + "', this build reads '" +
                              kDeltaFormatVersion + "'");
  }
  DeltaFile out;
  DeltaFileInfo& info = out.info;
  info.source = path;
  info.method = required(m, "method", path);
  info.backbone = required(m, "backbone", path);
  info.backbone_fingerprint = required(m, "backbone_fingerprint", path);
  info.tokenizer = required(m, "tokenizer", path);
  info.prompt_template = required(m, "template", path);

  const json hyper = parse_json(required(m, "hyperparameters", path), "hyperparameters", path);
  if (!hyper.is_object()) throw FileError(path, "metadata 'hyperparameters' must be a JSON object");
  for (const auto& [k, v] : hyper.items()) {
    if (!v.is_string()) {
      throw FileError(path, "metadata 'hyperparameters' entry '" + k + "' is " + v.dump() +
                                ", expected a string");
    }
    info.hyperparameters[k] = v.get<std::string>();
  }
  const json names = parse_json(required(m, "classnames", path), "classnames", path);
  if (!names.is_array()) throw FileError(path, "metadata 'classnames' must be a JSON list");
  for (const auto& n : names) {
    if (!n.is_string()) {
      throw FileError(path, "metadata 'classnames' holds " + n.dump() + ", expected strings");
    }
    info.classnames.push_back(n.get<std::string>());
  }
  info.training = parse_json(required(m, "training", path), "training", path);
  check_digests(m, path);
  if (file.tensors.empty()) throw FileError(path, "delta file holds no tensors");
  core::check_finite(file.tensors, path);
  out.tensors = std::move(file.tensors);
  return out;
}

void check_backbone(const DeltaFileInfo& info, const std::string& fingerprint,
                    const std::string& name) {
  if (info.backbone_fingerprint == fingerprint) return;
  const std::string where = info.source.empty() ? "delta" : info.source;
  std::string message = "this " + info.method + " delta was trained on backbone '" + info.backbone +
                        "' (fingerprint " + info.backbone_fingerprint +
                        "), but the loaded backbone is '" + name + "' (fingerprint " + fingerprint +
                        ")";
  if (info.backbone_fingerprint.rfind("sha256:", 0) != 0) {
    // A fingerprint from before SHA-256 (an in-house 64-bit hash): the weights may even match.
    message +=
        ": the delta's fingerprint is of an older kind (16 hex digits) that this version "
        "no longer computes; retrain the delta with this version";
  } else if (info.backbone == name) {
    message += ": same name, different weights";
  } else {
    message += ": load the '" + info.backbone + "' weights to use this delta";
  }
  throw FileError(where, message);
}

nlohmann::json info_json(const DeltaFileInfo& info) {
  return {{"method", info.method},
          {"hyperparameters", info.hyperparameters},
          {"backbone", info.backbone},
          {"backbone_fingerprint", info.backbone_fingerprint},
          {"tokenizer", info.tokenizer},
          {"classnames", info.classnames},
          {"template", info.prompt_template},
          {"training", info.training}};
}

}  // namespace vlprompt::delta
