#include "datasets/text/text_labels.h"

#include <algorithm>
#include <set>

#include "src/core/error.h"

namespace vlprompt::datasets {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string comma_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> text_class_list(const std::vector<RawTextRecord>& train,
                                         const std::vector<std::string>& classnames) {
  if (!classnames.empty()) return classnames;
  std::set<std::string> distinct;
  for (const auto& r : train) distinct.insert(r.label);
  std::vector<std::string> out(distinct.begin(), distinct.end());
  if (std::all_of(out.begin(), out.end(), all_digits)) {
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
  }
  return out;
}

std::vector<TextRecord> assign_text_labels(std::vector<RawTextRecord> raw,
                                           const std::vector<std::string>& classes,
                                           bool integers_index) {
  std::vector<TextRecord> out;
  out.reserve(raw.size());
  for (auto& r : raw) {
    const auto it = std::find(classes.begin(), classes.end(), r.label);
    int64_t label = it == classes.end() ? -1 : static_cast<int64_t>(it - classes.begin());
    if (label < 0 && integers_index && r.label_is_integer && all_digits(r.label) &&
        std::stoll(r.label) < static_cast<int64_t>(classes.size())) {
      label = std::stoll(r.label);
    }
    if (label < 0) {
      const std::string expected =
          integers_index ? "one of the classes (" + comma_list(classes) + ") or an index 0.." +
                               std::to_string(static_cast<int64_t>(classes.size()) - 1)
                         : "one of the train split's labels (" + comma_list(classes) + ")";
      throw FileError(r.path, "line " + std::to_string(r.line) + ": " + r.label_field + " is '" +
                                  r.label + "', expected " + expected);
    }
    r.record.label = label;
    out.push_back(std::move(r.record));
  }
  return out;
}

std::vector<std::string> text_label_words(const std::vector<std::string>& classes,
                                          const std::vector<std::string>& label_words) {
  if (label_words.empty()) return classes;
  if (label_words.size() != classes.size()) {
    throw Error("label_words has " + std::to_string(label_words.size()) + " words but there are " +
                std::to_string(classes.size()) + " classes (" + comma_list(classes) + ")");
  }
  return label_words;
}

}  // namespace vlprompt::datasets
