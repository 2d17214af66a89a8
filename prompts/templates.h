// Hand-written prompt templates: named sets in prompts/templates/<name>.txt (one template per
// line, {} for the class name, # comments), a user's own file, or the dataset's manual template.
#pragma once

#include <string>
#include <vector>

namespace vlprompt::prompts {

struct TemplateSet {
  std::string name;                    // "manual", "select7", "imagenet80", or the file's path
  std::vector<std::string> templates;  // each contains exactly one "{}"
};

// `spec` is "manual" (-> {manual_template}), a set name in prompts/templates/, or a file path.
// Errors name the file and line of a template without "{}", and list the known set names.
TemplateSet load_template_set(const std::string& spec, const std::string& manual_template);

std::vector<std::string> list_template_sets();

// "a photo of a {}." + "cat" -> "a photo of a cat."
std::string fill_template(const std::string& templ, const std::string& classname);

}  // namespace vlprompt::prompts
