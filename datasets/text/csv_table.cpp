#include "datasets/text/csv_table.h"

#include <set>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/text_lines.h"

namespace vlprompt::datasets {
namespace {

std::string line_str(int64_t line) { return "line " + std::to_string(line); }

// Header names must be unique and non-empty: rows are read by column name.
void check_header(const std::string& path, const std::vector<std::string>& header) {
  std::set<std::string> seen;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) {
      throw FileError(path, "line 1: header column " + std::to_string(i + 1) +
                                " has no name (expected a name for every column)");
    }
    if (!seen.insert(header[i]).second) {
      throw FileError(path, "line 1: header names column '" + header[i] + "' twice");
    }
  }
}

// Moves parsed rows into a table: the first is the header; blank rows (one empty field) go.
Table to_table(const std::string& path, std::vector<TableRow> rows) {
  Table t;
  t.path = path;
  size_t first = 0;
  while (first < rows.size() && rows[first].cells.size() == 1 && rows[first].cells[0].empty()) {
    ++first;
  }
  if (first == rows.size()) throw FileError(path, "is empty (expected a header line)");
  t.header = std::move(rows[first].cells);
  check_header(path, t.header);
  for (size_t i = first + 1; i < rows.size(); ++i) {
    TableRow& r = rows[i];
    if (r.cells.size() == 1 && r.cells[0].empty()) continue;
    if (r.cells.size() != t.header.size()) {
      throw FileError(path, line_str(r.line) + " has " + std::to_string(r.cells.size()) +
                                " fields, expected " + std::to_string(t.header.size()) +
                                " as in the header");
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

}  // namespace

int64_t Table::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int64_t>(i);
  }
  return -1;
}

Table read_csv_table(const std::string& path) {
  const std::string s = core::drop_bom(core::read_file(path));
  std::vector<TableRow> rows;
  TableRow row;
  std::string field;
  int64_t line = 1;
  row.line = 1;
  size_t i = 0;
  const size_t n = s.size();
  bool at_field_start = true;
  auto end_field = [&] {
    row.cells.push_back(std::move(field));
    field.clear();
    at_field_start = true;
  };
  auto end_row = [&] {
    end_field();
    rows.push_back(std::move(row));
    row = TableRow();
    row.line = line;
  };
  while (i < n) {
    const char c = s[i];
    if (at_field_start && c == '"') {
      const int64_t opened = line;
      ++i;
      while (true) {
        if (i >= n) {
          throw FileError(path, line_str(opened) + ": field " +
                                    std::to_string(row.cells.size() + 1) +
                                    " opens a quote that is never closed (expected a closing \")");
        }
        if (s[i] == '"') {
          if (i + 1 < n && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (s[i] == '\n') ++line;
        field += s[i++];
      }
      at_field_start = false;
      // After the closing quote: a separator, a line end or the end of the file.
      if (i < n && s[i] != ',' && s[i] != '\n' &&
          !(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')) {
        throw FileError(path, line_str(line) + ": field " + std::to_string(row.cells.size() + 1) +
                                  " has text after its closing quote (expected , or a line end)");
      }
      continue;
    }
    if (c == ',') {
      end_field();
      ++i;
    } else if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
      i += c == '\r' ? 2 : 1;
      ++line;
      end_row();
    } else if (c == '"') {
      throw FileError(path, line_str(line) + ": field " + std::to_string(row.cells.size() + 1) +
                                " has a \" inside an unquoted field (expected the whole field in "
                                "quotes, with \" written as \"\")");
    } else {
      field += c;
      at_field_start = false;
      ++i;
    }
  }
  if (!field.empty() || !row.cells.empty() || !at_field_start) end_row();
  return to_table(path, std::move(rows));
}

Table read_tsv_table(const std::string& path) {
  const std::string s = core::drop_bom(core::read_file(path));
  std::vector<TableRow> rows;
  size_t start = 0;
  for (int64_t line = 1; start < s.size(); ++line) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string text = s.substr(start, end - start);
    start = end + 1;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    TableRow row;
    row.line = line;
    size_t from = 0;
    while (true) {
      const size_t tab = text.find('\t', from);
      row.cells.push_back(
          text.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    rows.push_back(std::move(row));
  }
  return to_table(path, std::move(rows));
}

}  // namespace vlprompt::datasets
