// The bounded reads of a Hugging Face LLaMA folder's small files. Every file of the folder is
// opened through core::RegularFile: a FIFO named config.json is refused instead of blocking, and
// tokenizer_config.json linked to /dev/zero is refused instead of read until memory runs out.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vlprompt::models::llama {

// config.json is about 1 KB; a tokenizer_config.json listing every added token of a large
// vocabulary, or a shard index of a 1,000-tensor model, stays under a few MB.
constexpr uint64_t kMaxJsonBytes = 16ull << 20;

// `path` parsed as a JSON object; FileError naming the path when it is not a regular file within
// kMaxJsonBytes, not JSON, or not an object.
nlohmann::json read_json_object(const std::string& path);

// The same, or nothing when no entry of that name exists (a dangling link is an error).
std::optional<nlohmann::json> read_optional_json_object(const std::string& path);

}  // namespace vlprompt::models::llama
