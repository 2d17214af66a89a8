// Texts given as a JSONL file: one JSON string per line, or an object with "text" (what the
// tokenize and lm commands print, so their output feeds back in). Blank lines are skipped.
#pragma once

#include <string>
#include <vector>

namespace vlprompt::pipeline {

// FileError naming the file and line for invalid JSON or a line that is neither.
std::vector<std::string> read_jsonl_texts(const std::string& path);

}  // namespace vlprompt::pipeline
