#include "prompts/official/format.h"

#include "src/core/error.h"

namespace vlprompt::prompts::official {
namespace {

// Function-local so registrations from other files' static initialisers find it constructed.
std::map<std::string, OfficialFormat>& formats() {
  static std::map<std::string, OfficialFormat> entries;
  return entries;
}

}  // namespace

void register_official_format(OfficialFormat format) {
  if (!format.import_state || !format.export_state) {
    throw Error("official format '" + format.name + "' needs both an importer and an exporter");
  }
  const std::string name = format.name;
  if (!formats().emplace(name, std::move(format)).second) {
    throw Error("there is already an official format called '" + name + "'");
  }
}

void refuse_class_token_position(const ImportContext& context, const std::string& method) {
  if (!context.position.empty() && context.position != "end") {
    throw Error(method + ": --position " + context.position +
                " is CoOp's; this method's prompts always end with the class name");
  }
}

const OfficialFormat& find_official_format(const std::string& name) {
  const auto it = formats().find(name);
  if (it != formats().end()) return it->second;
  std::string known;
  for (const auto& n : official_format_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("no official checkpoint format '" + name + "'; known: " + known);
}

std::vector<std::string> official_format_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : formats()) names.push_back(name);
  return names;
}

}  // namespace vlprompt::prompts::official
