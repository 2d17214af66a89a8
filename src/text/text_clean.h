// The text side of OpenAI's SimpleTokenizer.encode() before BPE: cleaning, lower-casing and the
// pre-tokenizing regular expression, reproduced on code points.
#pragma once

#include <string>
#include <vector>

namespace vlprompt::text {

// basic_clean + whitespace_clean + lower(): html.unescape twice, strip, collapse whitespace runs
// to one space, strip, Unicode lower-casing (ICU, root locale; like Python's str.lower it uses
// full mappings and the final-sigma rule).
//
// Not reproduced: the reference first runs ftfy.fix_text (mojibake repair, NFC normalization,
// ligature/width folding, ...), a large heuristic Python library with no C++ counterpart. Text it
// would leave alone (all ordinary prompts) tokenizes identically.
std::u32string clean_text(const std::u32string& text);

// The pieces that OpenAI's pattern
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (IGNORECASE) finds in cleaned text, as UTF-8.
std::vector<std::string> split_words(const std::u32string& cleaned);

}  // namespace vlprompt::text
