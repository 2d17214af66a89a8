#include "pipeline/jsonl_texts.h"

#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::pipeline {

std::vector<std::string> read_jsonl_texts(const std::string& path) {
  const std::string content = core::read_file(path);
  std::vector<std::string> texts;
  size_t line_number = 0;
  for (size_t start = 0; start < content.size();) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    const std::string line = content.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(line_number);
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw FileError(path, where + ": not valid JSON (" + e.what() + ")");
    }
    if (value.is_object() && value.contains("text")) value = value["text"];
    if (!value.is_string()) {
      throw FileError(path,
                      where + ": expected a JSON string (or {\"text\": ...}), got " + value.dump());
    }
    texts.push_back(value.get<std::string>());
  }
  return texts;
}

}  // namespace vlprompt::pipeline
