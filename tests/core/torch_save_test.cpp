// torch.save-format writing: the zip container (CRC, 64-byte alignment, archive folder) and the
// protocol-2 pickle, read back through the project's own restricted reader. Python's torch.load
// reading these files is checked in tests/prompts/official_export_test.cpp.
#include "src/core/torch_save.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "src/core/file_io.h"
#include "src/core/torch_archive.h"
#include "src/core/zip_writer.h"
#include "tests/test_support.h"

namespace vlprompt::torch_save_test {

using core::PickleRef;
using core::PickleValue;
using Kind = PickleValue::Kind;

PickleRef str(const std::string& s) {
  PickleRef v = PickleValue::make(Kind::String);
  v->text = s;
  return v;
}
PickleRef num(int64_t i) {
  PickleRef v = PickleValue::make(Kind::Int);
  v->integer = i;
  return v;
}
PickleRef tensor(const at::Tensor& t) {
  PickleRef v = PickleValue::make(Kind::Tensor);
  v->tensor = t;
  return v;
}

TEST(TorchSave, Crc32MatchesTheStandardCheckValue) {
  // The CRC-32 check value of the ASCII digits, as published with the algorithm.
  EXPECT_EQ(core::crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(core::crc32(""), 0u);
}

TEST(TorchSave, ArchiveNameIsTheFileNameLessItsLastExtension) {
  EXPECT_EQ(core::torch_archive_name("out/prompt_learner/model.pth.tar-50"), "model.pth");
  EXPECT_EQ(core::torch_archive_name("x.pt"), "x");
  EXPECT_EQ(core::torch_archive_name("plain"), "plain");
}

TEST(TorchSave, RecordsStartAt64ByteBoundaries) {
  const std::string zip = core::zip_stored({{"a/data.pkl", "xyz"}, {"a/data/0", "0123456789"}});
  // Each record's data follows its 30-byte local header, name and extra field.
  size_t at = 0;
  for (const std::string& data : {std::string("xyz"), std::string("0123456789")}) {
    ASSERT_EQ(zip.compare(at, 4, "PK\x03\x04"), 0);
    const auto u16 = [&](size_t p) {
      return static_cast<size_t>(static_cast<unsigned char>(zip[p])) |
             static_cast<size_t>(static_cast<unsigned char>(zip[p + 1])) << 8;
    };
    const size_t start = at + 30 + u16(at + 26) + u16(at + 28);
    EXPECT_EQ(start % 64, 0u);
    EXPECT_EQ(zip.substr(start, data.size()), data);
    at = start + data.size();
  }
}

TEST(TorchSave, RoundTripsThroughTheRestrictedReader) {
  const std::string path = testing::scratch_dir("torch_save") + "/model.pth.tar-7";
  PickleRef state = PickleValue::make(Kind::Dict);
  state->class_name = "collections.OrderedDict";
  const at::Tensor ctx = at::arange(12, at::kFloat).view({3, 4}) / 7;
  const at::Tensor ids = at::arange(5, at::kLong) * 100000;
  const at::Tensor half = at::linspace(-2, 2, 6).to(at::kHalf);
  state->entries = {{str("ctx"), tensor(ctx)},
                    {str("ids"), tensor(ids)},
                    {str("half"), tensor(half)},
                    {str("view"), tensor(ctx.t())}};  // non-contiguous: written contiguous
  PickleRef root = PickleValue::make(Kind::Dict);
  PickleRef list = PickleValue::make(Kind::List);
  list->items = {num(-3), num(70000), num(int64_t{1} << 40), PickleValue::make(Kind::None)};
  PickleRef real = PickleValue::make(Kind::Float);
  real->real = 0.002;
  root->entries = {{str("state_dict"), state},
                   {str("epoch"), num(7)},
                   {str("list"), list},
                   {str("lr"), real},
                   {str("none"), PickleValue::make(Kind::None)}};
  core::torch_save(path, root);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));

  const core::TorchArchive back = core::read_torch_archive(path, false);
  EXPECT_TRUE(core::has_record(back, "data.pkl"));
  EXPECT_TRUE(core::has_record(back, "version"));
  const PickleRef s = back.root->get("state_dict");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->class_name, "collections.OrderedDict");
  ASSERT_EQ(s->entries.size(), 4u);
  EXPECT_EQ(s->entries[0].first->text, "ctx");
  EXPECT_TRUE(at::equal(s->get("ctx")->tensor, ctx));
  EXPECT_TRUE(at::equal(s->get("ids")->tensor, ids));
  EXPECT_TRUE(at::equal(s->get("half")->tensor, half));
  EXPECT_TRUE(at::equal(s->get("view")->tensor, ctx.t()));
  EXPECT_EQ(back.root->get("epoch")->integer, 7);
  EXPECT_DOUBLE_EQ(back.root->get("lr")->real, 0.002);
  const PickleRef l = back.root->get("list");
  ASSERT_EQ(l->items.size(), 4u);
  EXPECT_EQ(l->items[0]->integer, -3);
  EXPECT_EQ(l->items[1]->integer, 70000);
  EXPECT_EQ(l->items[2]->integer, int64_t{1} << 40);
  EXPECT_EQ(l->items[3]->kind, Kind::None);
  // The folder torch derives from the name.
  const std::string bytes = core::read_file(path);
  EXPECT_NE(bytes.find("model.pth/data.pkl"), std::string::npos);
}

TEST(TorchSave, RefusesObjectsAndGlobals) {
  PickleRef root = PickleValue::make(Kind::Dict);
  PickleRef obj = PickleValue::make(Kind::Object);
  obj->class_name = "os.system";
  root->entries = {{str("bad"), obj}};
  const std::string path = testing::scratch_dir("torch_save") + "/refused.pt";
  const std::string e = testing::error_of([&] { core::torch_save(path, root); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("['bad'] is a object"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace vlprompt::torch_save_test
