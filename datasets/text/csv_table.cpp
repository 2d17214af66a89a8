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

// RFC 4180 over the whole file, one character at a time; rows keep the line they start on.
class CsvReader {
 public:
  CsvReader(const std::string& path, const std::string& text)
      : path_(path), s_(text), n_(text.size()) {
    row_.line = 1;
  }

  std::vector<TableRow> rows() {
    while (i_ < n_) {
      const char c = s_[i_];
      if (at_field_start_ && c == '"') {
        quoted_field();
      } else if (c == ',') {
        end_field();
        ++i_;
      } else if (c == '\n' || crlf_at(i_)) {
        i_ += c == '\r' ? 2 : 1;
        ++line_;
        end_row();
      } else if (c == '"') {
        throw FileError(path_, line_str(line_) + ": field " + field_number() +
                                   " has a \" inside an unquoted field (expected the whole field "
                                   "in quotes, with \" written as \"\")");
      } else {
        field_ += c;
        at_field_start_ = false;
        ++i_;
      }
    }
    if (!field_.empty() || !row_.cells.empty() || !at_field_start_) end_row();
    return std::move(rows_);
  }

 private:
  bool crlf_at(size_t i) const { return s_[i] == '\r' && i + 1 < n_ && s_[i + 1] == '\n'; }
  std::string field_number() const { return std::to_string(row_.cells.size() + 1); }

  // From the opening quote past the closing one; "" inside stands for ".
  void quoted_field() {
    const int64_t opened = line_;
    ++i_;
    while (true) {
      if (i_ >= n_) {
        throw FileError(path_, line_str(opened) + ": field " + field_number() +
                                   " opens a quote that is never closed (expected a closing \")");
      }
      if (s_[i_] == '"') {
        if (i_ + 1 < n_ && s_[i_ + 1] == '"') {
          field_ += '"';
          i_ += 2;
          continue;
        }
        ++i_;
        break;
      }
      if (s_[i_] == '\n') ++line_;
      field_ += s_[i_++];
    }
    at_field_start_ = false;
    // After the closing quote: a separator, a line end or the end of the file.
    if (i_ < n_ && s_[i_] != ',' && s_[i_] != '\n' && !crlf_at(i_)) {
      throw FileError(path_, line_str(line_) + ": field " + field_number() +
                                 " has text after its closing quote (expected , or a line end)");
    }
  }

  void end_field() {
    row_.cells.push_back(std::move(field_));
    field_.clear();
    at_field_start_ = true;
  }

  void end_row() {
    end_field();
    rows_.push_back(std::move(row_));
    row_ = TableRow();
    row_.line = line_;
  }

  const std::string& path_;
  const std::string& s_;
  const size_t n_;
  size_t i_ = 0;
  int64_t line_ = 1;
  bool at_field_start_ = true;
  std::string field_;
  TableRow row_;
  std::vector<TableRow> rows_;
};

}  // namespace

int64_t Table::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int64_t>(i);
  }
  return -1;
}

namespace {

// Classic Mac OS line endings read as one endless line, and the header then seems to lack
// columns that are there: say what the file is instead.
void refuse_cr_only(const std::string& path, const std::string& s) {
  const size_t cr = s.find('\r');
  if (cr != std::string::npos && s.find('\n') == std::string::npos && cr + 1 < s.size())
    throw FileError(path,
                    "uses CR-only line endings (classic Mac OS); expected LF or CRLF (convert it, "
                    "e.g. tr '\\r' '\\n')");
}

}  // namespace

Table read_csv_table(const std::string& path) {
  const std::string s = core::drop_bom(core::read_file(path));
  refuse_cr_only(path, s);
  return to_table(path, CsvReader(path, s).rows());
}

Table read_tsv_table(const std::string& path) {
  const std::string s = core::drop_bom(core::read_file(path));
  refuse_cr_only(path, s);
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
