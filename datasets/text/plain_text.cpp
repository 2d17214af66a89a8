#include "datasets/text/plain_text.h"

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/text_lines.h"

namespace vlprompt::datasets {

std::vector<TextRecord> read_plain_text_documents(const std::string& path,
                                                  const std::string& key_base) {
  const std::string s = core::read_file(path);
  std::vector<TextRecord> out;
  TextRecord doc;
  auto flush = [&] {
    const size_t last = doc.completion.find_last_not_of(" \t\r\n");
    if (last != std::string::npos) {
      doc.completion.erase(last + 1);
      out.push_back(std::move(doc));
    }
    doc = TextRecord();
  };
  core::for_each_line(s, [&](int64_t line, const std::string& text) {
    if (core::is_blank(text)) {
      flush();
      return;
    }
    if (doc.key.empty()) doc.key = key_base + ":" + std::to_string(line);
    if (!doc.completion.empty()) doc.completion += '\n';
    doc.completion += text;
  });
  flush();
  if (out.empty()) throw FileError(path, "holds no text (expected paragraphs of plain text)");
  return out;
}

}  // namespace vlprompt::datasets
