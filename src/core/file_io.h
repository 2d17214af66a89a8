// Whole-file reads and atomic writes. Every write in vlprompt goes through atomic_write so a
// killed process never leaves a half-written file under the final name.
#pragma once

#include <string>

namespace vlprompt::core {

// Reads a whole file; throws FileError naming the path when it cannot.
std::string read_file(const std::string& path);

// Writes to "<path>.tmp.<pid>", flushes it to disk, then renames over `path`.
// Creates missing parent directories.
void atomic_write(const std::string& path, const std::string& bytes);

bool file_exists(const std::string& path);

}  // namespace vlprompt::core
