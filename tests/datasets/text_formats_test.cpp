// Text data formats: CSV (RFC 4180), GLUE TSV, JSONL classification and prompt/completion, plain
// text; the ad-hoc file/folder loader and its label rules. Expected values are the hand-written
// data below.
#include "datasets/text/text_formats.h"

#include <gtest/gtest.h>

#include "datasets/text/csv_table.h"
#include "datasets/text/plain_text.h"
#include "datasets/text/text_loader.h"
#include "tests/datasets/dataset_test_util.h"

namespace vlprompt::datasets::text_formats_test {

using testutil::error_of;
using testutil::fresh_dir;
using testutil::put;

TEST(TextCsv, QuotingEmbeddedNewlinesQuotesCommasAndUnicode) {
  const std::string dir = fresh_dir("text_csv");
  const std::string path = put(dir, "train.csv",
                               "\xEF\xBB\xBFtext,label\r\n"
                               "plain,a\r\n"
                               "\"with, comma\",b\r\n"
                               "\"two\nlines\",a\r\n"
                               "\"say \"\"hi\"\"\",b\r\n"
                               "caf\xC3\xA9 \xE2\x98\x95,a\r\n"
                               "\r\n"
                               "\"\",b");
  const Table t = read_csv_table(path);
  ASSERT_EQ(t.header, (std::vector<std::string>{"text", "label"}));
  ASSERT_EQ(t.rows.size(), 6u);
  EXPECT_EQ(t.rows[0].cells, (std::vector<std::string>{"plain", "a"}));
  EXPECT_EQ(t.rows[1].cells[0], "with, comma");
  EXPECT_EQ(t.rows[2].cells[0], "two\nlines");
  EXPECT_EQ(t.rows[3].cells[0], "say \"hi\"");
  EXPECT_EQ(t.rows[4].cells[0], "caf\xC3\xA9 \xE2\x98\x95");
  EXPECT_EQ(t.rows[5].cells, (std::vector<std::string>{"", "b"}));
  // Line numbers are where each row starts in the file; the quoted line break moves them on.
  EXPECT_EQ(t.rows[0].line, 2);
  EXPECT_EQ(t.rows[2].line, 4);
  EXPECT_EQ(t.rows[3].line, 6);
  EXPECT_EQ(t.rows[5].line, 9);
}

TEST(TextCsv, BadLinesNameFileLineAndWhatWasExpected) {
  const std::string dir = fresh_dir("text_csv_bad");
  const std::string open = put(dir, "open.csv", "text,label\nok,a\n\"never closed,a\n");
  EXPECT_EQ(error_of([&] { read_csv_table(open); }),
            open + ": line 3: field 1 opens a quote that is never closed (expected a closing \")");
  const std::string inner = put(dir, "inner.csv", "text,label\nsay \"hi\",a\n");
  EXPECT_EQ(error_of([&] { read_csv_table(inner); }),
            inner +
                ": line 2: field 1 has a \" inside an unquoted field (expected the whole "
                "field in quotes, with \" written as \"\")");
  const std::string after = put(dir, "after.csv", "text,label\n\"a\"b,a\n");
  EXPECT_EQ(
      error_of([&] { read_csv_table(after); }),
      after + ": line 2: field 1 has text after its closing quote (expected , or a line end)");
  const std::string count = put(dir, "count.csv", "text,label\na,b,c\n");
  EXPECT_EQ(error_of([&] { read_csv_table(count); }),
            count + ": line 2 has 3 fields, expected 2 as in the header");
  const std::string dup = put(dir, "dup.csv", "text,text\na,b\n");
  EXPECT_EQ(error_of([&] { read_csv_table(dup); }),
            dup + ": line 1: header names column 'text' twice");
}

TEST(TextTsv, GluePairsJoinedAndQuotesKeptAsText) {
  const std::string dir = fresh_dir("text_tsv");
  const std::string path = put(dir, "train.tsv",
                               "index\tsentence1\tsentence2\tlabel\n"
                               "0\tA man \"sings\".\tHe sings.\t1\n"
                               "1\tNo.\tYes.\t0\n");
  const auto raw = read_table_classification(read_tsv_table(path), "train.tsv", TextFields{});
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].record.text, "A man \"sings\". He sings.");
  EXPECT_EQ(raw[0].label, "1");
  EXPECT_TRUE(raw[0].label_is_integer);
  EXPECT_EQ(raw[1].record.key, "train.tsv:3");
  TextFields named;
  named.text = {"sentence2"};
  named.joiner = " | ";
  EXPECT_EQ(read_table_classification(read_tsv_table(path), "t", named)[1].record.text, "Yes.");
  named.text = {"sentence"};
  EXPECT_EQ(error_of([&] { read_table_classification(read_tsv_table(path), "t", named); }),
            path +
                ": line 1: the header has no column 'sentence' (expected the text column; the "
                "header has: index, sentence1, sentence2, label)");
  const std::string nolabel = put(dir, "nolabel.tsv", "sentence\tscore\nhi\t1\n");
  EXPECT_EQ(
      error_of([&] { read_table_classification(read_tsv_table(nolabel), "t", TextFields{}); }),
      nolabel +
          ": line 1: the header has no column 'label' (expected the label column; "
          "the header has: sentence, score)");
  const std::string short_row = put(dir, "short.tsv", "sentence\tlabel\njust text\n");
  EXPECT_EQ(error_of([&] { read_tsv_table(short_row); }),
            short_row + ": line 2 has 1 fields, expected 2 as in the header");
}

TEST(TextJsonl, LabelsAsStringsOrIntegersAndBadLines) {
  const std::string dir = fresh_dir("text_jsonl");
  const std::string path =
      put(dir, "train.jsonl",
          "{\"text\": \"na\\u00efve \\\"quote\\\"\\nline\", \"label\": \"pos\"}\n"
          "\n"
          "{\"text\": \"\xE6\x97\xA5\xE6\x9C\xAC\", \"label\": 2, \"id\": 7}\n");
  const auto raw = read_jsonl_classification(path, "train.jsonl", TextFields{});
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].record.text, "na\xC3\xAFve \"quote\"\nline");
  EXPECT_EQ(raw[0].label, "pos");
  EXPECT_FALSE(raw[0].label_is_integer);
  EXPECT_EQ(raw[1].record.text, "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(raw[1].label, "2");
  EXPECT_TRUE(raw[1].label_is_integer);
  EXPECT_EQ(raw[1].record.key, "train.jsonl:3");

  const std::string bad_json =
      put(dir, "bad.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{oops\n");
  const std::string msg = error_of([&] { read_jsonl_classification(bad_json, "b", {}); });
  EXPECT_EQ(msg.rfind(bad_json + ": line 2: not valid JSON (", 0), 0u) << msg;
  const std::string array = put(dir, "array.jsonl", "[1, 2]\n");
  EXPECT_EQ(error_of([&] { read_jsonl_classification(array, "b", {}); }),
            array + ": line 1: is array, expected a JSON object");
  const std::string float_label = put(dir, "float.jsonl", "{\"text\": \"a\", \"label\": 1.5}\n");
  EXPECT_EQ(error_of([&] { read_jsonl_classification(float_label, "b", {}); }),
            float_label + ": line 1: key 'label' is 1.5, expected a string or an integer >= 0");
  const std::string no_label = put(dir, "nolabel.jsonl", "{\"text\": \"a\"}\n");
  EXPECT_EQ(error_of([&] { read_jsonl_classification(no_label, "b", {}); }),
            no_label + ": line 1: key 'label' is missing (expected a string or an integer)");
  const std::string num_text =
      put(dir, "numtext.jsonl",
          "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": 5, \"label\": \"x\"}\n");
  EXPECT_EQ(error_of([&] { read_jsonl_classification(num_text, "b", {}); }),
            num_text + ": line 2: key 'text' is 5, expected a string");
  const std::string no_text = put(dir, "notext.jsonl", "{\"body\": \"a\", \"label\": \"x\"}\n");
  EXPECT_EQ(error_of([&] { read_jsonl_classification(no_text, "b", {}); }),
            no_text +
                ": line 1 has none of the text fields text, sentence, sentence1+sentence2, "
                "question+sentence, question1+question2, premise+hypothesis (expected one "
                "of them, or name the text field)");
  TextFields body;
  body.text = {"body"};
  EXPECT_EQ(read_jsonl_classification(no_text, "b", body)[0].record.text, "a");
}

TEST(TextJsonl, PromptCompletionPairsKeepTheCompletionApart) {
  const std::string dir = fresh_dir("text_pairs");
  const std::string path = put(dir, "train.jsonl",
                               "{\"prompt\": \"Q: 2+2?\\nA:\", \"completion\": \" 4\"}\n"
                               "{\"prompt\": \"\", \"completion\": \"free text\"}\n");
  const auto recs = read_jsonl_completions(path, "train.jsonl", TextFields{});
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].text, "Q: 2+2?\nA:");
  EXPECT_EQ(recs[0].completion, " 4");
  EXPECT_EQ(recs[0].label, -1);
  EXPECT_EQ(recs[1].text, "");
  EXPECT_EQ(recs[1].key, "train.jsonl:2");
  const std::string empty = put(dir, "empty.jsonl", "{\"prompt\": \"p\", \"completion\": \"\"}\n");
  EXPECT_EQ(error_of([&] { read_jsonl_completions(empty, "e", {}); }),
            empty + ": line 1: key 'completion' is empty, expected the text the loss is taken on");
  const std::string missing = put(dir, "missing.jsonl", "{\"prompt\": \"p\"}\n");
  EXPECT_EQ(error_of([&] { read_jsonl_completions(missing, "e", {}); }),
            missing + ": line 1: key 'completion' is missing (expected a string)");
}

TEST(TextPlain, OneDocumentPerParagraph) {
  const std::string dir = fresh_dir("text_plain");
  const std::string path = put(dir, "train.txt",
                               "\n\nFirst line\r\nsecond line  \r\n\r\n  \t\n"
                               "Another doc\n\n\nlast\n");
  const auto docs = read_plain_text_documents(path, "train.txt");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].completion, "First line\nsecond line");
  EXPECT_EQ(docs[0].text, "");
  EXPECT_EQ(docs[0].key, "train.txt:3");
  EXPECT_EQ(docs[1].completion, "Another doc");
  EXPECT_EQ(docs[2].completion, "last");
  EXPECT_EQ(docs[2].key, "train.txt:10");
  const std::string blank = put(dir, "blank.txt", "\n \n");
  EXPECT_EQ(error_of([&] { read_plain_text_documents(blank, "b"); }),
            blank + ": holds no text (expected paragraphs of plain text)");
}

TEST(TextFormats, TruncationCountsCodePointsAndPromptFormatting) {
  EXPECT_EQ(truncate_code_points("abcdef", 3), "abc");
  EXPECT_EQ(truncate_code_points("ab  cd", 4), "ab");  // trailing space of the cut dropped
  EXPECT_EQ(truncate_code_points("\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(truncate_code_points("short ", 10), "short ");  // not cut: unchanged
  EXPECT_EQ(truncate_code_points("abc", 0), "abc");
  EXPECT_EQ(format_text_prompt("{text} Topic:", "Beer is food."), "Beer is food. Topic:");
  EXPECT_EQ(format_text_prompt("Q: {text}\nA: {text}", "x"), "Q: x\nA: x");
}

TEST(TextLoader, AdhocFolderClassesFromTrainSortedAndTestChecked) {
  const std::string dir = fresh_dir("text_adhoc_folder");
  put(dir, "train.jsonl",
      "{\"text\": \"t1\", \"label\": \"sports\"}\n{\"text\": \"t2\", \"label\": \"food\"}\n"
      "{\"text\": \"t3\", \"label\": \"sports\"}\n");
  put(dir, "test.jsonl", "{\"text\": \"u1\", \"label\": \"food\"}\n");
  EXPECT_TRUE(is_text_dataset(dir));
  const TextSplit train = load_text_split(dir, "", "train");
  EXPECT_EQ(train.classnames, (std::vector<std::string>{"food", "sports"}));
  EXPECT_EQ(train.label_words, train.classnames);
  EXPECT_EQ(train.template_text, "{text} Label:");
  ASSERT_EQ(train.items.size(), 3u);
  EXPECT_EQ(train.items[0].label, 1);
  EXPECT_EQ(train.items[1].label, 0);
  const TextSplit test = load_text_split(dir, "", "test");
  EXPECT_EQ(test.classnames, train.classnames);
  EXPECT_EQ(test.items[0].label, 0);
  EXPECT_EQ(test.split, "test");
  EXPECT_FALSE(text_split_exists(dir, "", "val"));
  put(dir, "val.jsonl", "{\"text\": \"v\", \"label\": \"law\"}\n");
  EXPECT_EQ(error_of([&] { load_text_split(dir, "", "val"); }),
            dir +
                "/val.jsonl: line 1: key 'label' is 'law', expected one of the train split's "
                "labels (food, sports)");
  put(dir, "val.csv", "text,label\nv,food\n");
  EXPECT_EQ(error_of([&] { load_text_split(dir, "", "val"); }),
            dir +
                ": holds both val.jsonl and val.csv for the 'val' split (expected one file per "
                "split)");
}

TEST(TextLoader, AdhocFileFindsItsTestSiblingAndSortsIntegerLabelsAsNumbers) {
  const std::string dir = fresh_dir("text_adhoc_file");
  const std::string train = put(dir, "sst_train.tsv", "sentence\tlabel\na\t10\nb\t9\nc\t2\n");
  put(dir, "sst_test.tsv", "sentence\tlabel\nd\t9\n");
  const TextSplit tr = load_text_split(train, "", "train");
  EXPECT_EQ(tr.classnames, (std::vector<std::string>{"2", "9", "10"}));
  EXPECT_EQ(tr.items[0].label, 2);
  EXPECT_EQ(tr.root, dir);
  EXPECT_EQ(load_text_split(train, "", "test").items[0].label, 1);
  EXPECT_EQ(error_of([&] { load_text_split(train, "", "val"); }),
            dir + "/sst_val.tsv: the 'val' file of text dataset '" + train + "' not found");
  // Labels in a plain-text file: a task the format cannot serve.
  const std::string txt = put(dir, "notes.txt", "hello\n");
  EXPECT_EQ(error_of([&] { load_text_split(txt, "", "train"); }),
            txt +
                ": a .txt file holds no labels: classification reads .jsonl, .tsv or .csv "
                "(plain text is causal-LM data: use the lm task)");
  const TextSplit lm = load_text_split(txt, "", "train", TextTask::kLm);
  ASSERT_EQ(lm.items.size(), 1u);
  EXPECT_EQ(lm.items[0].completion, "hello");
  EXPECT_EQ(lm.template_text, "{text}");
}

TEST(TextLoader, ImageAndTextDatasetsRefuseTheOtherKind) {
  EXPECT_EQ(error_of([] { text_dataset_entry("oxford_pets"); }),
            "dataset 'oxford_pets' holds images (layout coop_split), not text: use it with an "
            "image method");
  EXPECT_FALSE(is_text_dataset("oxford_pets"));
  EXPECT_TRUE(is_text_dataset("fortunes"));
}

}  // namespace vlprompt::datasets::text_formats_test
