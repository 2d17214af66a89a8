// Header tables of text data: CSV (RFC 4180) and GLUE-style TSV.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlprompt::datasets {

struct TableRow {
  int64_t line = 0;  // 1-based line of the file where the row starts
  std::vector<std::string> cells;
};

struct Table {
  std::string path;
  std::vector<std::string> header;
  std::vector<TableRow> rows;  // each with exactly header.size() cells

  // Index of the column called `name`, or -1.
  int64_t column(const std::string& name) const;
};

// RFC 4180: comma-separated; a field in double quotes may hold commas, line breaks (kept as they
// are in the file) and doubled quotes ("" for "). CRLF or LF line ends; a UTF-8 byte-order mark is
// dropped; blank lines are skipped. FileError naming the file and line for an unterminated quote,
// a quote inside an unquoted field, text after a closing quote, a row whose field count differs
// from the header's, or an empty / duplicated header name.
Table read_csv_table(const std::string& path);

// GLUE's TSV: tab-separated, one row per line, no quoting (quote characters are text, as GLUE's
// own readers take them). Same header and field-count checks as CSV.
Table read_tsv_table(const std::string& path);

}  // namespace vlprompt::datasets
