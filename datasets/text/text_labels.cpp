#include "datasets/text/text_labels.h"

#include <algorithm>
#include <cstdio>
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

// The offset of the first byte that does not start a well-formed UTF-8 sequence, or npos.
size_t first_invalid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80         ? 1
                       : (c >> 5) == 6  ? 2
                       : (c >> 4) == 14 ? 3
                       : (c >> 3) == 30 ? 4
                                        : 0;
    if (len == 0 || (len == 2 && c < 0xC2) || i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1 < s.size() ? i + 1 : i]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 >= 0x90) || c > 0xF4)
      return i;  // overlong, surrogate or past U+10FFFF
    i += len;
  }
  return std::string::npos;
}

// A label column with more values than this, or with a value for almost every record, is a
// number or an id read as a label (each would become a class of one record).
constexpr size_t kMaxTextClasses = 1000;

void check_label_values(const std::vector<RawTextRecord>& train,
                        const std::vector<std::string>& classes) {
  if (train.empty()) return;
  const RawTextRecord& first = train.front();
  const std::string what = "the train split's '" + first.label_field + "' labels";
  if (classes.size() < 2) {
    throw FileError(first.path, what + " take the single value '" + classes.front() +
                                    "': classification needs at least 2 classes (texts without "
                                    "classes are causal-LM data: --task lm)");
  }
  if (classes.size() > kMaxTextClasses ||
      (classes.size() >= 50 && classes.size() * 2 > train.size())) {
    std::string examples;
    for (size_t i = 0; i < 3; ++i)
      examples += (i ? "', '" : "") + train[i * train.size() / 3].label;
    throw FileError(first.path,
                    what + " take " + std::to_string(classes.size()) + " distinct values in " +
                        std::to_string(train.size()) + " records (e.g. '" + examples +
                        "'): a number or an id, not class labels; expected at most " +
                        std::to_string(kMaxTextClasses) + " classes, most with several records");
  }
}

}  // namespace

std::vector<std::string> text_class_list(const std::vector<RawTextRecord>& train,
                                         const std::vector<std::string>& classnames) {
  if (classnames.size() == 1)
    throw Error("the catalog's classnames list one class ('" + classnames.front() +
                "'): classification needs at least 2");
  if (!classnames.empty()) return classnames;
  std::set<std::string> distinct;
  for (const auto& r : train) distinct.insert(r.label);
  std::vector<std::string> out(distinct.begin(), distinct.end());
  check_label_values(train, out);
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
    if (const size_t bad = first_invalid_utf8(r.label); bad != std::string::npos) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(r.label[bad]));
      throw FileError(r.path, "line " + std::to_string(r.line) + ": " + r.label_field +
                                  " is not valid UTF-8 (byte " + byte + " at offset " +
                                  std::to_string(bad) + "); expected UTF-8 text");
    }
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
