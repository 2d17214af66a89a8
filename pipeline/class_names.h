// The class list a command runs on, from --classes "a,b,c" or --dataset NAME (the catalog's list,
// or the names in the dataset's split files under --data-root), with the dataset's template.
#pragma once

#include <string>
#include <vector>

namespace vlprompt::pipeline {

struct ClassList {
  std::vector<std::string> classnames;
  std::string template_text = "a photo of a {}.";
};

// Exactly one of `classes` and `dataset` must be given; `command` names the caller in errors.
ClassList resolve_classes(const std::string& command, const std::string& classes,
                          const std::string& dataset, const std::string& data_root);

// --classes "a, b ,c" -> {"a", "b", "c"}; an empty slot ("a,,c", "a,b,") is an Error naming
// `command` and its position (dropping it would shift every later class).
std::vector<std::string> split_class_list(const std::string& command, const std::string& s);

// "a, b ,c" -> {"a", "b", "c"}; empty items are dropped (lists of options, not of classes).
std::vector<std::string> split_commas(const std::string& s);

}  // namespace vlprompt::pipeline
