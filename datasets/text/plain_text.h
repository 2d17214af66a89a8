// Plain-text causal-LM data: one document per paragraph. Paragraphs are runs of lines separated
// by one or more blank (whitespace-only) lines, so a file of one-line texts gives one document per
// line and a file without blank lines is one document. (Paragraphs rather than whole files: a
// corpus is often one big file, and a tiny model's context is short.)
#pragma once

#include <string>
#include <vector>

#include "datasets/text/text_dataset.h"

namespace vlprompt::datasets {

// The documents of `path` as LM records: text "" (no prompt), completion = the paragraph's lines
// joined by '\n' with trailing whitespace dropped, key "<key_base>:<first line>". CRLF line ends
// read as LF. FileError when the file holds no document.
std::vector<TextRecord> read_plain_text_documents(const std::string& path,
                                                  const std::string& key_base);

}  // namespace vlprompt::datasets
