#include "src/text/clip_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::text {
namespace {

using vlprompt::testing::shared_path;

constexpr const char* kReference = "data/clip/tokenizer_reference.json";

// Loading takes ~0.1 s; share one tokenizer across the tests of this file.
const ClipTokenizer& openai_tokenizer() {
  static const ClipTokenizer tokenizer = ClipTokenizer::from_file(vlprompt::testing::clip_vocab());
  return tokenizer;
}

nlohmann::json reference_cases() {
  return nlohmann::json::parse(core::read_file(shared_path(kReference)))["cases"];
}

std::string tokenizer_scratch(const std::string& name) {
  return vlprompt::testing::scratch_dir("text") + "/" + name;
}

TEST(ClipTokenizer, MatchesOpenAiReferenceIdsAndDecoding) {
  VLP_REQUIRE_SHARED(kReference);
  const ClipTokenizer& tok = openai_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 49408);
  const nlohmann::json cases = reference_cases();
  ASSERT_GE(cases.size(), 60u);
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const auto expected = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(tok.encode(text), expected) << text;
    EXPECT_EQ(tok.decode(expected), c["decoded"].get<std::string>()) << text;
  }
}

TEST(ClipTokenizer, VocabularyOrderFollowsOpenAi) {
  const ClipTokenizer& tok = openai_tokenizer();
  EXPECT_EQ(tok.token(0), "!");
  EXPECT_EQ(tok.token(188), "\xC4\x80");  // byte 0x00 -> U+0100, first of the shifted bytes
  EXPECT_EQ(tok.token(256), "!</w>");
  EXPECT_EQ(tok.token(2368), "cat</w>");
  EXPECT_EQ(tok.token(ClipTokenizer::kStartOfText), "<|startoftext|>");
  EXPECT_EQ(tok.token(ClipTokenizer::kEndOfText), "<|endoftext|>");
  EXPECT_THROW(tok.token(49408), Error);
  EXPECT_THROW(tok.decode({-1}), Error);
}

// Expected ids from the reference implementation (without ftfy) for cases the shared set lacks.
TEST(ClipTokenizer, MatchesReferenceOnUnicodeCornerCases) {
  const ClipTokenizer& tok = openai_tokenizer();
  // Final sigma when lower-casing.
  EXPECT_EQ(tok.encode("ΣΑΣ ΟΔΟΣ"), (std::vector<int64_t>{139, 225, 138, 109, 139, 480, 138, 123,
                                                          138, 112, 138, 123, 139, 480}));
  // IGNORECASE: long s matches 's' in the pattern, but only the exact special string is special.
  EXPECT_EQ(tok.encode("it'ſ <|ſtartoftext|>"),
            (std::vector<int64_t>{585, 6, 129, 379, 27, 91, 129, 123, 2002, 6659, 18169, 91, 285}));
  // U+001C is stripped at the ends (str.strip) but is not \s inside the text.
  EXPECT_EQ(tok.encode("a\x1c"
                       "b \x1c"),
            (std::vector<int64_t>{320, 472, 321}));
  EXPECT_EQ(tok.encode("&#38;amp; &ampfoo &hellip &lang;x&rang; &#x41;&#128;"),
            (std::vector<int64_t>{261, 261, 23435, 261, 919, 8546, 158, 253, 357, 343, 158, 253,
                                  358, 320, 6309}));
  // Full lower-case mapping: U+0130 becomes "i" + U+0307; titlecase U+01C5 -> U+01C6.
  EXPECT_EQ(tok.encode("İstanbul ǅ"), (std::vector<int64_t>{328, 16384, 11231, 131, 484}));
  EXPECT_EQ(tok.encode("<|endoftext|>!<|endoftext|>"),
            (std::vector<int64_t>{49407, 0, 27, 347, 40786, 4160, 91, 285}));
  EXPECT_EQ(tok.encode("١٢٣ ½ ⅷ"),
            (std::vector<int64_t>{149, 350, 149, 351, 149, 352, 33613, 158, 227, 371}));
  EXPECT_EQ(tok.encode("\u00a0a\u2003b\u3000"), (std::vector<int64_t>{320, 321}));
  EXPECT_TRUE(tok.encode("  \t ").empty());
}

TEST(ClipTokenizer, DecodeReplacesBrokenUtf8LikePython) {
  const ClipTokenizer& tok = openai_tokenizer();
  // byte 0xE2 + "</w>", "a</w>", byte 0xE2, byte 0x82: two incomplete sequences.
  const std::vector<int64_t> ids = {414, 320, 158, 224};
  ASSERT_EQ(tok.token(414), "\xC3\xA2</w>");  // U+00E2 spells byte 0xE2
  EXPECT_EQ(tok.decode(ids), "\uFFFD a \uFFFD");
}

TEST(ClipTokenizer, TokenizeAddsStartEndAndPads) {
  const at::Tensor t = openai_tokenizer().tokenize({"a photo of a cat.", ""});
  ASSERT_EQ(t.sizes(), (at::IntArrayRef{2, 77}));
  EXPECT_EQ(t.scalar_type(), at::kLong);
  std::vector<int64_t> first(77, 0), second(77, 0);
  const std::vector<int64_t> head = {49406, 320, 1125, 539, 320, 2368, 269, 49407};
  std::copy(head.begin(), head.end(), first.begin());
  second[0] = 49406, second[1] = 49407;
  EXPECT_TRUE(at::equal(t[0], at::tensor(first, at::kLong)));
  EXPECT_TRUE(at::equal(t[1], at::tensor(second, at::kLong)));
  EXPECT_EQ(openai_tokenizer().tokenize({"cat"}, 5).sizes(), (at::IntArrayRef{1, 5}));
}

TEST(ClipTokenizer, TooLongTextIsAnErrorNamingItUnlessTruncated) {
  const ClipTokenizer& tok = openai_tokenizer();
  std::string text = "zebra";
  for (int i = 0; i < 80; ++i) text += " dog";
  try {
    tok.tokenize({"fine", text});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zebra dog dog"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("83 tokens"), std::string::npos) << e.what();
  }
  const at::Tensor t = tok.tokenize({text}, 77, /*truncate=*/true);
  EXPECT_EQ(t[0][0].item<int64_t>(), ClipTokenizer::kStartOfText);
  EXPECT_EQ(t[0][1].item<int64_t>(), tok.encode("zebra")[0]);
  EXPECT_EQ(t[0][75].item<int64_t>(), tok.encode("dog")[0]);
  EXPECT_EQ(t[0][76].item<int64_t>(), ClipTokenizer::kEndOfText);
  // Exactly full: 75 words + start + end fit without truncation.
  std::string full = "dog";
  for (int i = 1; i < 75; ++i) full += " dog";
  EXPECT_EQ(tok.tokenize({full})[0][76].item<int64_t>(), ClipTokenizer::kEndOfText);
  EXPECT_THROW(tok.tokenize({"cat"}, 1), Error);
}

TEST(ClipTokenizer, HuggingFaceFilesGiveTheSameTokenizer) {
  VLP_REQUIRE_SHARED(kReference);
  const std::string folder = tokenizer_scratch("hf_vocab");
  openai_tokenizer().save_hugging_face(folder);
  const ClipTokenizer from_folder = ClipTokenizer::from_file(folder);
  const ClipTokenizer from_json = ClipTokenizer::from_file(folder + "/vocab.json");
  ASSERT_EQ(from_folder.vocab_size(), 49408);
  for (int64_t id : {0, 300, 2368, 40000, 49407}) {
    EXPECT_EQ(from_folder.token(id), openai_tokenizer().token(id));
  }
  for (const auto& c : reference_cases()) {
    const std::string text = c["text"];
    EXPECT_EQ(from_folder.encode(text), c["ids"].get<std::vector<int64_t>>()) << text;
    EXPECT_EQ(from_json.encode(text), c["ids"].get<std::vector<int64_t>>()) << text;
  }
  EXPECT_TRUE(at::equal(from_json.tokenize({"a photo of a dog."}),
                        openai_tokenizer().tokenize({"a photo of a dog."})));
}

void expect_file_error(const std::string& path, const std::string& named, const std::string& why) {
  try {
    ClipTokenizer::from_file(path);
    FAIL() << "expected an error loading " << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(ClipTokenizer, MissingOrCorruptVocabularyIsAnErrorNamingTheFile) {
  expect_file_error(tokenizer_scratch("absent.txt.gz"), tokenizer_scratch("absent.txt.gz"),
                    "not found");
  const std::string garbage = tokenizer_scratch("garbage.txt.gz");
  core::atomic_write(garbage, std::string("\x1f\x8b\x08\x00garbage-not-deflate", 24));
  expect_file_error(garbage, garbage, "corrupt gzip");
  const std::string short_file = tokenizer_scratch("short.txt");
  core::atomic_write(short_file, "#version: 0.2\ni n\nt h\n");
  expect_file_error(short_file, short_file, "expected a header and 48894 merges");

  const std::string hf = tokenizer_scratch("hf_bad");
  core::atomic_write(hf + "/vocab.json", "{\"a\": 0,");
  core::atomic_write(hf + "/merges.txt", "#version: 0.2\n");
  expect_file_error(hf, hf + "/vocab.json", "not valid JSON");
  const std::string no_merges = tokenizer_scratch("hf_no_merges");
  core::atomic_write(no_merges + "/vocab.json", "{\"a\": 0}");
  expect_file_error(no_merges, no_merges + "/merges.txt", "cannot open");
}

TEST(ClipTokenizer, HuggingFaceMergeWithUnknownTokenNamesTheLine) {
  const std::string folder = tokenizer_scratch("hf_bad_merge");
  openai_tokenizer().save_hugging_face(folder);
  core::atomic_write(folder + "/merges.txt", "#version: 0.2\ni n\nqq zz\n");
  expect_file_error(folder, folder + "/merges.txt", "line 3: merge uses 'qqzz'");
}

TEST(ClipTokenizer, InvalidUtf8TextIsAnError) {
  try {
    openai_tokenizer().encode("caf\xE9 au lait");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte 3"), std::string::npos) << e.what();
  }
}

TEST(ClipTokenizer, TenThousandPromptsTakeWellUnderASecond) {
  const ClipTokenizer& tok = openai_tokenizer();
  const std::vector<std::string> classes = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};
  std::vector<std::string> prompts;
  for (int i = 0; i < 10000; ++i) {
    prompts.push_back("a photo of a " + classes[i % classes.size()] + " number " +
                      std::to_string(i) + ".");
  }
  at::Tensor t;
  const double seconds = vlprompt::testing::thread_cpu_seconds([&] { t = tok.tokenize(prompts); });
  EXPECT_EQ(t.size(0), 10000);
  EXPECT_LT(seconds, 1.0);
}

// CPU seconds to tokenize one word of `n` letters, the least of three runs; each run's letters are
// new (random from `seed`, or all 'a' in a word whose length differs by a letter), so the word
// cache never answers.
double word_seconds(const ClipTokenizer& tok, size_t n, bool random, uint32_t seed) {
  double best = 1e9;
  for (uint32_t run = 0; run < 3; ++run) {
    std::string word(n + (random ? 0 : run), 'a');
    uint32_t state = seed + 7919 * run;
    for (char& c : word) {
      if (!random) break;
      state = state * 1103515245u + 12345u;
      c = static_cast<char>('a' + (state >> 16) % 26);
    }
    at::Tensor t;
    best = std::min(best, vlprompt::testing::thread_cpu_seconds(
                              [&] { t = tok.tokenize({word}, 77, /*truncate=*/true); }));
    EXPECT_EQ(t.size(1), 77);
    EXPECT_EQ(t[0][76].item<int64_t>(), ClipTokenizer::kEndOfText);
  }
  return best;
}

// Regression: BPE rescanned the whole word for every merge, so one 400k-character word took 30 s.
// The work is bounded against the same tokenizer on a word 16 times shorter, not in seconds
// (sanitizers and shared CI cores stretch those): near-linear BPE takes about 16-20 times as
// long on the longer word, the quadratic one 256 times.
TEST(ClipTokenizer, OneMegabyteWordTakesWorkLinearInItsLength) {
  const ClipTokenizer& tok = openai_tokenizer();
  for (const bool random : {true, false}) {
    const double small = word_seconds(tok, 1 << 16, random, 12345);
    const double large = word_seconds(tok, 1 << 20, random, 54321);
    std::cout << (random ? "random letters" : "'a' only") << ": 64 KB " << small << " CPU s, 1 MB "
              << large << " CPU s\n";
    EXPECT_LT(large, 64 * small) << (random ? "random letters" : "'a' only");
  }
  // Merging stays exact on long words: ids from the reference's merge rule, run in Python by
  // tests/fixtures/long_word_bpe.py.
  const nlohmann::json cases = nlohmann::json::parse(
      core::read_file(vlprompt::testing::source_path("tests/text/long_word_bpe.json")))["cases"];
  ASSERT_EQ(cases.size(), 4u);
  for (const auto& c : cases) {
    EXPECT_EQ(tok.encode(c["word"].get<std::string>()), c["ids"].get<std::vector<int64_t>>())
        << c["word"].get<std::string>().substr(0, 20);
  }
}

}  // namespace
}  // namespace vlprompt::text
