#include "datasets/text/text_formats.h"

#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/text_lines.h"

namespace vlprompt::datasets {
namespace {

using nlohmann::json;

const std::vector<std::vector<std::string>>& guessed_text_fields() {
  static const std::vector<std::vector<std::string>> guesses{{"text"},
                                                             {"sentence"},
                                                             {"sentence1", "sentence2"},
                                                             {"question", "sentence"},
                                                             {"question1", "question2"},
                                                             {"premise", "hypothesis"}};
  return guesses;
}

std::string guesses_list() {
  std::string out;
  for (const auto& g : guessed_text_fields()) {
    std::string one;
    for (const auto& k : g) one += (one.empty() ? "" : "+") + k;
    out += (out.empty() ? "" : ", ") + one;
  }
  return out;
}

// The text fields: the given ones, or the first guess whose names `has` accepts.
template <typename Has>
std::vector<std::string> text_fields_for(const TextFields& fields, Has has, const std::string& path,
                                         const std::string& where) {
  if (!fields.text.empty()) return fields.text;
  for (const auto& g : guessed_text_fields()) {
    bool all = true;
    for (const auto& k : g) all = all && has(k);
    if (all) return g;
  }
  throw FileError(path, where + " has none of the text fields " + guesses_list() +
                            " (expected one of them, or name the text field)");
}

// Lines of a file with their 1-based numbers; blank lines skipped.
template <typename Fn>
void for_each_line(const std::string& path, Fn fn) {
  core::for_each_line(core::read_file(path), [&](int64_t line, const std::string& text) {
    if (!core::is_blank(text)) fn(line, text);
  });
}

std::string at_line(int64_t line) { return "line " + std::to_string(line); }

json parse_object(const std::string& path, int64_t line, const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FileError(path, at_line(line) + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) {
    throw FileError(
        path, at_line(line) + ": is " + std::string(j.type_name()) + ", expected a JSON object");
  }
  return j;
}

std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::string string_key(const json& j, const std::string& key, const std::string& path,
                       int64_t line) {
  const auto it = j.find(key);
  if (it == j.end()) {
    throw FileError(path, at_line(line) + ": key '" + key + "' is missing (expected a string)");
  }
  if (!it->is_string()) {
    throw FileError(path,
                    at_line(line) + ": key '" + key + "' is " + shown(*it) + ", expected a string");
  }
  return it->get<std::string>();
}

std::string join_fields(const std::vector<std::string>& parts, const std::string& joiner) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? joiner : "") + parts[i];
  return out;
}

std::string key_of(const std::string& base, int64_t line) {
  return base + ":" + std::to_string(line);
}

}  // namespace

std::vector<RawTextRecord> read_jsonl_classification(const std::string& path,
                                                     const std::string& key_base,
                                                     const TextFields& fields) {
  std::vector<RawTextRecord> out;
  std::vector<std::string> text_keys;
  for_each_line(path, [&](int64_t line, const std::string& text) {
    const json j = parse_object(path, line, text);
    if (text_keys.empty()) {
      text_keys = text_fields_for(
          fields, [&](const std::string& k) { return j.contains(k); }, path, at_line(line));
    }
    std::vector<std::string> parts;
    for (const auto& k : text_keys) parts.push_back(string_key(j, k, path, line));
    RawTextRecord r;
    r.record.text = join_fields(parts, fields.joiner);
    r.record.key = key_of(key_base, line);
    r.path = path;
    r.line = line;
    r.label_field = "key '" + fields.label + "'";
    const auto label = j.find(fields.label);
    if (label == j.end()) {
      throw FileError(path, at_line(line) + ": key '" + fields.label +
                                "' is missing (expected a string or an integer)");
    }
    if (label->is_string()) {
      r.label = label->get<std::string>();
    } else if (label->is_number_integer() && label->get<int64_t>() >= 0) {
      r.label = std::to_string(label->get<int64_t>());
      r.label_is_integer = true;
    } else {
      throw FileError(path, at_line(line) + ": key '" + fields.label + "' is " + shown(*label) +
                                ", expected a string or an integer >= 0");
    }
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<RawTextRecord> read_table_classification(const Table& table,
                                                     const std::string& key_base,
                                                     const TextFields& fields) {
  const std::vector<std::string> text_cols = text_fields_for(
      fields, [&](const std::string& k) { return table.column(k) >= 0; }, table.path,
      "the header (line 1)");
  std::vector<int64_t> text_idx;
  for (const auto& c : text_cols) {
    text_idx.push_back(table.column(c));
    if (text_idx.back() < 0) {
      throw FileError(table.path, "line 1: the header has no column '" + c +
                                      "' (expected the text column; the header has: " +
                                      join_fields(table.header, ", ") + ")");
    }
  }
  const int64_t label_idx = table.column(fields.label);
  if (label_idx < 0) {
    throw FileError(table.path, "line 1: the header has no column '" + fields.label +
                                    "' (expected the label column; the header has: " +
                                    join_fields(table.header, ", ") + ")");
  }
  std::vector<RawTextRecord> out;
  out.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    std::vector<std::string> parts;
    for (int64_t i : text_idx) parts.push_back(row.cells[i]);
    RawTextRecord r;
    r.record.text = join_fields(parts, fields.joiner);
    r.record.key = key_of(key_base, row.line);
    r.path = table.path;
    r.line = row.line;
    r.label_field = "column '" + fields.label + "'";
    r.label = row.cells[label_idx];
    if (r.label.empty()) {
      throw FileError(table.path, at_line(row.line) + ": column '" + fields.label +
                                      "' is empty, expected a label");
    }
    r.label_is_integer = r.label.find_first_not_of("0123456789") == std::string::npos;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<TextRecord> read_jsonl_completions(const std::string& path, const std::string& key_base,
                                               const TextFields& fields) {
  std::vector<TextRecord> out;
  for_each_line(path, [&](int64_t line, const std::string& text) {
    const json j = parse_object(path, line, text);
    TextRecord r;
    r.text = string_key(j, fields.prompt, path, line);
    r.completion = string_key(j, fields.completion, path, line);
    if (r.completion.empty()) {
      throw FileError(path, at_line(line) + ": key '" + fields.completion +
                                "' is empty, expected the text the loss is taken on");
    }
    r.key = key_of(key_base, line);
    out.push_back(std::move(r));
  });
  return out;
}

std::string truncate_code_points(const std::string& text, int64_t max_chars) {
  if (max_chars <= 0) return text;
  int64_t count = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    // A code point starts at every byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && count++ == max_chars) break;
  }
  if (i == text.size()) return text;
  std::string out = text.substr(0, i);
  const size_t last = out.find_last_not_of(" \t\r\n");
  out.erase(last == std::string::npos ? 0 : last + 1);
  return out;
}

}  // namespace vlprompt::datasets
