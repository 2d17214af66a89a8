#include "pipeline/class_names.h"

#include <sstream>

#include "datasets/loader.h"
#include "src/core/error.h"

namespace vlprompt::pipeline {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    const size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

std::vector<std::string> split_class_list(const std::string& command, const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  size_t position = 0;
  for (std::string item; std::getline(ss, item, ',');) {
    ++position;
    const size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    // Dropping it would shift every later class onto its neighbour's prompts.
    if (b == std::string::npos)
      throw Error(command + ": --classes has an empty name at position " +
                  std::to_string(position) + " (\"" + s + "\"); every slot must name a class");
    out.push_back(item.substr(b, e - b + 1));
  }
  if (!s.empty() && s.back() == ',')
    throw Error(command + ": --classes ends with a comma (\"" + s +
                "\"); every slot must name a class");
  return out;
}

ClassList resolve_classes(const std::string& command, const std::string& classes,
                          const std::string& dataset, const std::string& data_root) {
  if (classes.empty() == dataset.empty()) {
    throw Error(command + ": give either --classes or --dataset");
  }
  ClassList out;
  if (!dataset.empty()) {
    const auto entry = datasets::load_catalog_entry(datasets::parse_dataset_ref(dataset).name);
    out.classnames = entry.classnames;
    out.template_text = entry.template_text;
    // Layouts that keep class names in their split files need the data to name the classes;
    // only the names are used here, so images missing from the split do not matter.
    if (out.classnames.empty()) {
      datasets::LoadOptions names_only;
      names_only.skip_missing = true;
      out.classnames = datasets::load_split(dataset, data_root, "test", names_only).classnames;
    }
  } else {
    out.classnames = split_class_list(command, classes);
  }
  if (out.classnames.size() < 2) throw Error(command + ": need at least two class names");
  datasets::check_unique_classnames(out.classnames,
                                    command + (dataset.empty() ? ": --classes" : ": " + dataset));
  return out;
}

}  // namespace vlprompt::pipeline
