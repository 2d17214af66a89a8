// Whole-file reads and atomic writes. Every write in vlprompt goes through atomic_write so a
// killed process never leaves a half-written file under the final name.
#pragma once

#include <string>
#include <vector>

namespace vlprompt::core {

// Reads a whole file; throws FileError naming the path when it cannot.
std::string read_file(const std::string& path);

// Writes to "<path>.tmp.<pid>", flushes it to disk, then renames over `path`.
// Creates missing parent directories.
void atomic_write(const std::string& path, const std::string& bytes);

bool file_exists(const std::string& path);

// Sorted stems of the regular files in `dir` ending in `extension` (".yaml"): the registries
// that are folders (model configs, dataset catalog, templates). A missing folder is a FileError
// that says what it is and `hint` (e.g. which variable to set).
std::vector<std::string> list_stems(const std::string& dir, const std::string& extension,
                                    const std::string& what, const std::string& hint);

}  // namespace vlprompt::core
