#include "prompts/coop_layout.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

using testing::clip_tokenizer;
using testing::token_of;
constexpr int64_t kSos = text::ClipTokenizer::kStartOfText;
constexpr int64_t kEos = text::ClipTokenizer::kEndOfText;

std::vector<int64_t> row(const at::Tensor& ids, int64_t r, int64_t n) {
  const at::Tensor t = ids[r].slice(0, 0, n).contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

std::vector<int64_t> as_vector(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

class CoOpLayoutTest : public ::testing::Test {
 protected:
  CoOpLayout layout(const std::string& position, int64_t n_ctx = 4) {
    std::string prefix = "X";
    for (int64_t i = 1; i < n_ctx; ++i) prefix += " X";
    // "x ray" contains the placeholder word itself: positions must not come from matching it.
    return coop_layout(*clip_tokenizer(), prefix, n_ctx, {"dog", "sea_lion", "x ray"}, position,
                       77);
  }
};

TEST_F(CoOpLayoutTest, EndPutsContextBeforeTheClass) {
  const CoOpLayout l = layout("end");
  const int64_t x = token_of("x"), dot = token_of(".");
  const int64_t dog = token_of("dog"), sea = token_of("sea"), lion = token_of("lion");
  const int64_t ray = token_of("ray");
  ASSERT_EQ(l.token_ids.sizes(), (at::IntArrayRef{3, 77}));
  EXPECT_EQ(row(l.token_ids, 0, 9), (std::vector<int64_t>{kSos, x, x, x, x, dog, dot, kEos, 0}));
  EXPECT_EQ(row(l.token_ids, 1, 10),
            (std::vector<int64_t>{kSos, x, x, x, x, sea, lion, dot, kEos, 0}));
  EXPECT_EQ(row(l.token_ids, 2, 10),
            (std::vector<int64_t>{kSos, x, x, x, x, x, ray, dot, kEos, 0}));
  EXPECT_EQ(as_vector(l.rows), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  EXPECT_EQ(as_vector(l.cols), (std::vector<int64_t>{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}));
  // The end layout is exactly the tokenized reference prompt.
  EXPECT_TRUE(at::equal(l.token_ids[1], clip_tokenizer()->tokenize({"X X X X sea lion."})[0]));
}

TEST_F(CoOpLayoutTest, FrontPutsTheClassFirst) {
  const CoOpLayout l = layout("front");
  const int64_t x = token_of("x"), dot = token_of(".");
  const int64_t sea = token_of("sea"), lion = token_of("lion"), ray = token_of("ray");
  EXPECT_EQ(row(l.token_ids, 1, 10),
            (std::vector<int64_t>{kSos, sea, lion, x, x, x, x, dot, kEos, 0}));
  EXPECT_EQ(row(l.token_ids, 2, 10),
            (std::vector<int64_t>{kSos, x, ray, x, x, x, x, dot, kEos, 0}));
  EXPECT_EQ(as_vector(l.cols), (std::vector<int64_t>{2, 3, 4, 5, 3, 4, 5, 6, 3, 4, 5, 6}));
}

TEST_F(CoOpLayoutTest, MiddleSplitsTheContextAroundTheClass) {
  const CoOpLayout even = layout("middle", 4);
  const int64_t x = token_of("x"), dot = token_of(".");
  const int64_t dog = token_of("dog"), sea = token_of("sea"), lion = token_of("lion");
  EXPECT_EQ(row(even.token_ids, 1, 10),
            (std::vector<int64_t>{kSos, x, x, sea, lion, x, x, dot, kEos, 0}));
  EXPECT_EQ(as_vector(even.cols), (std::vector<int64_t>{1, 2, 4, 5, 1, 2, 5, 6, 1, 2, 5, 6}));
  // Odd n_ctx: the first half is n_ctx / 2 (rounded down), as in the reference.
  const CoOpLayout odd = layout("middle", 3);
  EXPECT_EQ(row(odd.token_ids, 0, 8), (std::vector<int64_t>{kSos, x, dog, x, x, dot, kEos, 0}));
  EXPECT_EQ(as_vector(odd.cols).size(), 9u);
  EXPECT_EQ(as_vector(odd.cols)[0], 1);
  EXPECT_EQ(as_vector(odd.cols)[1], 3);
  EXPECT_EQ(as_vector(odd.cols)[2], 4);
}

TEST_F(CoOpLayoutTest, ContextInitWordsStandAtTheContextPositions) {
  const CoOpLayout l = coop_layout(*clip_tokenizer(), "a photo of a", 4, {"dog"}, "end", 77);
  EXPECT_TRUE(at::equal(l.token_ids[0], clip_tokenizer()->tokenize({"a photo of a dog."})[0]));
}

// Ids from OpenAI's tokenizer (shared/data/clip/tokenizer_reference.json: "a photo of a
// brontosaurus." -> 320 1125 539 320 | 4011 580 22118 | 269), a three-token class name.
TEST_F(CoOpLayoutTest, ReferenceIdsForAMultiTokenClass) {
  const auto layout_of = [](const std::string& position) {
    return coop_layout(*clip_tokenizer(), "a photo of a", 4, {"brontosaurus"}, position, 77);
  };
  const CoOpLayout end = layout_of("end"), middle = layout_of("middle"), front = layout_of("front");
  EXPECT_EQ(row(end.token_ids, 0, 11),
            (std::vector<int64_t>{kSos, 320, 1125, 539, 320, 4011, 580, 22118, 269, kEos, 0}));
  EXPECT_EQ(row(middle.token_ids, 0, 11),
            (std::vector<int64_t>{kSos, 320, 1125, 4011, 580, 22118, 539, 320, 269, kEos, 0}));
  EXPECT_EQ(row(front.token_ids, 0, 11),
            (std::vector<int64_t>{kSos, 4011, 580, 22118, 320, 1125, 539, 320, 269, kEos, 0}));
  EXPECT_EQ(as_vector(end.cols), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(as_vector(middle.cols), (std::vector<int64_t>{1, 2, 6, 7}));
  EXPECT_EQ(as_vector(front.cols), (std::vector<int64_t>{4, 5, 6, 7}));
}

TEST_F(CoOpLayoutTest, RejectsBadInputs) {
  try {
    layout("back");
    FAIL() << "bad position accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'back', expected one of: end, middle, front"),
              std::string::npos);
  }
  EXPECT_THROW(coop_layout(*clip_tokenizer(), "X X", 3, {"dog"}, "end", 77), Error);
  EXPECT_THROW(coop_layout(*clip_tokenizer(), "X", 1, {}, "end", 77), Error);
  // 80 context tokens cannot fit in 77 positions: the tokenizer refuses, naming the prompt.
  std::string prefix = "X";
  for (int i = 1; i < 80; ++i) prefix += " X";
  EXPECT_THROW(coop_layout(*clip_tokenizer(), prefix, 80, {"dog"}, "end", 77), Error);
}

}  // namespace
}  // namespace vlprompt::prompts
