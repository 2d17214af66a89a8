// vlprompt_fuzz_replay TARGET PATH...: runs a target on every file under PATH (folders recursed,
// in name order), the way CI checks that no corpus input crashes or escapes with anything but a
// vlprompt::Error. The libFuzzer executables (tools/fuzz.sh) replay a corpus too, with sanitizers.
#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <typeinfo>
#include <vector>

#include "tests/fuzz/fuzz_target.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_under(const fs::path& root) {
  std::vector<fs::path> files;
  if (fs::is_regular_file(root)) return {root};
  if (!fs::is_directory(root)) {
    std::cerr << root.string() << ": no such file or folder" << std::endl;
    std::exit(2);
  }
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  const auto& all = vlprompt::fuzz::targets();
  if (argc < 3) {
    std::cerr << "usage: vlprompt_fuzz_replay TARGET PATH...\ntargets:";
    for (const auto& [name, fn] : all) std::cerr << " " << name;
    std::cerr << std::endl;
    return 2;
  }
  const auto target = all.find(argv[1]);
  if (target == all.end()) {
    std::cerr << "unknown fuzz target '" << argv[1] << "'" << std::endl;
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    const auto found = inputs_under(argv[i]);
    files.insert(files.end(), found.begin(), found.end());
  }
  if (files.empty()) {
    std::cerr << "no inputs under the given paths: an empty corpus replays nothing" << std::endl;
    return 2;
  }
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
    try {
      vlprompt::fuzz::run_one(target->second, reinterpret_cast<const uint8_t*>(bytes.data()),
                              bytes.size());
    } catch (const std::exception& e) {
      std::cerr << file.string() << ": escaped as " << typeid(e).name() << ": " << e.what()
                << std::endl;
      return 1;
    }
  }
  std::cout << argv[1] << ": " << files.size() << " inputs replayed, "
            << files.size() - vlprompt::fuzz::refused << " accepted, " << vlprompt::fuzz::refused
            << " refused with an error" << std::endl;
  return 0;
}
