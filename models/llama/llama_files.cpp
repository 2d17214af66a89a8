#include "models/llama/llama_files.h"

#include <filesystem>

#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::models::llama {

nlohmann::json read_json_object(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(core::read_regular_file(path, kMaxJsonBytes));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw FileError(path, "expected a JSON object, got " + j.dump());
  return j;
}

std::optional<nlohmann::json> read_optional_json_object(const std::string& path) {
  std::error_code ec;
  // symlink_status: a link to nowhere is a mistake to report, not an absent file.
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return std::nullopt;
  return read_json_object(path);
}

}  // namespace vlprompt::models::llama
