// Python's html.unescape (HTML5 character-reference rules), which OpenAI's basic_clean applies
// twice. Numeric references follow the standard exactly (including its Windows-1252 repairs and
// dropped code points). Named references cover the HTML 4 set (every Latin-1, symbol and Greek
// entity, plus &apos; and the upper-case legacy names), with HTML5's rule that the legacy names
// also match without ';' and as a prefix ("&ampfoo" -> "&foo"). The ~2,000 rarer HTML5-only names
// (&NegativeMediumSpace; ...) are left as text.
#pragma once

#include <string>

namespace vlprompt::text {

std::u32string html_unescape(const std::u32string& text);

// The code point of a named reference, "amp;" or (legacy names only) "amp"; 0 when unknown.
char32_t html_entity(const std::string& name_with_optional_semicolon);

}  // namespace vlprompt::text
