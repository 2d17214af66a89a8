#include "datasets/text/plain_text.h"

#include "src/core/error.h"
#include "src/core/file_io.h"

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
  size_t start = s.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  for (int64_t line = 1; start < s.size(); ++line) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    std::string text = s.substr(start, end - start);
    start = end + 1;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) {
      flush();
      continue;
    }
    if (doc.key.empty()) doc.key = key_base + ":" + std::to_string(line);
    if (!doc.completion.empty()) doc.completion += '\n';
    doc.completion += text;
  }
  flush();
  if (out.empty()) throw FileError(path, "holds no text (expected paragraphs of plain text)");
  return out;
}

}  // namespace vlprompt::datasets
