#include "src/text/text_clean.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/text/html_unescape.h"
#include "src/text/utf8.h"

namespace vlprompt::text {
namespace {

std::string unescape(const std::string& s) {
  return utf8::encode(html_unescape(utf8::decode_strict(s, "test text")));
}

std::string clean(const std::string& s) {
  return utf8::encode(clean_text(utf8::decode_strict(s, "test text")));
}

// Expected strings are what Python 3.11's html.unescape returns.
TEST(HtmlUnescape, NumericReferencesFollowHtml5) {
  EXPECT_EQ(unescape("&#x41;&#65&#0;&#128;&#xD800;&#1114112;&#1;&#99999999999999999999;&#X62;"),
            "AA\uFFFD\u20AC\uFFFD\uFFFD\uFFFDb");
  EXPECT_EQ(unescape("&#xg &# &#13;&#x9f;&#xFDD0;"), "&#xg &# \r\u0178");
}

TEST(HtmlUnescape, NamedReferencesIncludingLegacyPrefixes) {
  EXPECT_EQ(unescape("&amp &AMP; &ampfoo &hellip &hellip; &lang; &;x &amp;amp;"),
            "& & &foo &hellip \u2026 \u27E8 &;x &amp;");
  EXPECT_EQ(unescape("&eacute;t&eacutee &nbsp;&Omega;&unknown; no refs"),
            "\u00E9t\u00E9e \u00A0\u03A9&unknown; no refs");
}

TEST(TextClean, UnescapesTwiceCollapsesWhitespaceAndLowerCases) {
  EXPECT_EQ(clean("  &amp;amp; A\u00A0\u00A0B\t\nC&#32;&#32;D  "), "& a b c d");
  EXPECT_EQ(clean("\x1f X \x1c Y \x1d"), "x \x1c y");
  EXPECT_EQ(clean("ΣΑΣ İ"), "σας i\u0307");
}

TEST(TextClean, SplitsLikeTheClipPattern) {
  const auto words = split_words(utf8::decode_strict("it's x<|endoftext|>12ab!!?? 'll''d", "t"));
  EXPECT_EQ(words, (std::vector<std::string>{"it", "'s", "x", "<|endoftext|>", "1", "2", "ab",
                                             "!!??", "'ll", "''", "d"}));
}

TEST(Utf8, ReplacesMaximalIllFormedSubpartsLikePython) {
  // b"\xe2\x82 \xe0\x80 \xf0\x9f\x90 \xff".decode("utf-8", "replace")
  EXPECT_EQ(utf8::replace_invalid("\xE2\x82 \xE0\x80 \xF0\x9F\x90 \xFF ok"),
            "\uFFFD \uFFFD\uFFFD \uFFFD \uFFFD ok");
  EXPECT_THROW(utf8::decode_strict("\xED\xA0\x80", "surrogate"), Error);
}

}  // namespace
}  // namespace vlprompt::text
