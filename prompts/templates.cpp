#include "prompts/templates.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "src/core/error.h"
#include "src/core/file_io.h"

namespace vlprompt::prompts {
namespace {

std::string templates_dir() {
  if (const char* env = std::getenv("VLPROMPT_TEMPLATES_DIR")) return env;
  return VLPROMPT_TEMPLATES_DIR_DEFAULT;
}

std::vector<std::string> parse_templates(const std::string& path, const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t first = line.find("{}");
    if (first == std::string::npos || line.find("{}", first + 2) != std::string::npos) {
      throw FileError(path, "line " + std::to_string(lineno) + ": template '" + line +
                                "' must contain \"{}\" exactly once (where the class name goes)");
    }
    out.push_back(line);
  }
  if (out.empty()) throw FileError(path, "holds no templates (one per line, with {})");
  return out;
}

}  // namespace

std::vector<std::string> list_template_sets() {
  std::vector<std::string> names{"manual"};
  for (const auto& n : core::list_stems(templates_dir(), ".txt", "prompt templates",
                                        "set VLPROMPT_TEMPLATES_DIR")) {
    names.push_back(n);
  }
  return names;
}

TemplateSet load_template_set(const std::string& spec, const std::string& manual_template) {
  if (spec == "manual") {
    if (manual_template.empty())
      throw Error("template set 'manual': the dataset has no manual template");
    return {"manual", {manual_template}};
  }
  std::string path = spec;
  if (!std::filesystem::exists(path)) {
    path = templates_dir() + "/" + spec + ".txt";
    if (!std::filesystem::exists(path)) {
      std::string known;
      for (const auto& n : list_template_sets()) known += (known.empty() ? "" : ", ") + n;
      throw Error("template set '" + spec + "' is neither a file nor a known set (" + known + ")");
    }
  }
  return {spec, parse_templates(path, core::read_file(path))};
}

std::string fill_template(const std::string& templ, const std::string& classname) {
  std::string out = templ;
  const size_t p = out.find("{}");
  if (p == std::string::npos) throw Error("template '" + templ + "' has no {} for the class name");
  return out.replace(p, 2, classname);
}

}  // namespace vlprompt::prompts
