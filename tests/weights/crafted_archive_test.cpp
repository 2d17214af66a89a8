// Model files are data: an archive whose pickle asks to call or instantiate anything outside the
// allow-list is refused, naming the global and the file, and nothing runs. Storage records that
// are too small, tensors that reach past their storage, endless nesting and truncation are each
// a clear error. The archives are written here byte by byte.
#include <caffe2/serialize/inline_container.h>

#include <filesystem>

#include "models/weights/weights.h"
#include "src/core/file_io.h"
#include "src/core/torch_archive.h"
#include "tests/weights/weights_test_support.h"

namespace vlprompt::models::weights {
namespace {

using testing::error_of;

// Protocol-2 pickle opcodes, spelled out.
std::string proto() { return std::string("\x80\x02", 2); }
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
std::string unicode(const std::string& s) {
  std::string out = "X";
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + s;
}
std::string int1(int v) { return std::string("K") + static_cast<char>(v); }

std::string archive(const std::string& name, const std::string& pickle,
                    const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  const std::string path = testing::scratch_dir("crafted") + "/" + name + ".pt";
  std::filesystem::remove(path);
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  const std::string code = "class M(Module):\n  __parameters__ = []\n";
  writer.writeRecord("code/__torch__/m.py", code.data(), code.size());
  for (const auto& [record, bytes] : extra) writer.writeRecord(record, bytes.data(), bytes.size());
  writer.writeEndOfFile();
  return path;
}

// A TorchScript-like module object whose state dict is `entries` (key/value opcodes).
std::string module_pickle(const std::string& entries) {
  return proto() + global("__torch__.m", "M") + ")\x81}(" + entries + "ub.";
}

// A float tensor rebuilt from storage key "0" of `numel` elements, with size/stride given.
std::string tensor(int numel, const std::string& size, const std::string& stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
         global("torch", "FloatStorage") + unicode("0") + unicode("cpu") + int1(numel) + "tQ" +
         int1(0) + "(" + size + "t(" + stride + "t\x89" + global("collections", "OrderedDict") +
         ")RtR";
}

std::string floats(int n) { return std::string(static_cast<size_t>(4 * n), '\0'); }

TEST(CraftedArchive, ACallToOsSystemIsRefusedAndNothingRuns) {
  const std::string marker = testing::scratch_dir("crafted") + "/ran";
  std::filesystem::remove(marker);
  const std::string path = archive(
      "os_system", proto() + global("os", "system") + "(" + unicode("touch " + marker) + "tR.");
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("'os.system'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allow-list"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(CraftedArchive, EvalAndForeignClassesAreRefusedByName) {
  const std::string eval =
      archive("eval", proto() + global("builtins", "eval") + "(" + unicode("1+1") + "tR.");
  EXPECT_NE(error_of([&] { read_weights(eval); }).find("'builtins.eval'"), std::string::npos);
  const std::string popen = archive("popen", proto() + global("subprocess", "Popen") + ")\x81.");
  const std::string msg = error_of([&] { read_weights(popen); });
  EXPECT_NE(msg.find("refusing to instantiate global 'subprocess.Popen'"), std::string::npos)
      << msg;
  // Even a tensor-rebuilding global may only be called, never instantiated.
  const std::string odd =
      archive("newobj_rebuild", proto() + global("torch._utils", "_rebuild_tensor_v2") + ")\x81.");
  EXPECT_NE(error_of([&] { read_weights(odd); }).find("refusing to instantiate"),
            std::string::npos);
}

TEST(CraftedArchive, AWellFormedModuleReadsItsTensor) {
  const std::string path =
      archive("good", module_pickle(unicode("w") + tensor(6, int1(2) + int1(3), int1(3) + int1(1))),
              {{"data/0", std::string("\0\0\x80\x3f", 4) + floats(5)}});
  const core::TorchArchive a = core::read_torch_archive(path, true);
  const core::PickleRef w = a.root->get("w");
  ASSERT_TRUE(w);
  ASSERT_EQ(w->kind, core::PickleValue::Kind::Tensor);
  EXPECT_EQ(w->tensor.sizes(), at::IntArrayRef({2, 3}));
  EXPECT_EQ(w->tensor[0][0].item<float>(), 1.0f);
}

TEST(CraftedArchive, StorageAndTensorBoundsAreChecked) {
  const std::string short_storage = archive(
      "short", module_pickle(unicode("w") + tensor(6, int1(6), int1(1))), {{"data/0", floats(5)}});
  std::string msg = error_of([&] { core::read_torch_archive(short_storage, true); });
  EXPECT_NE(msg.find("fewer than 6 elements"), std::string::npos) << msg;
  const std::string past_end = archive(
      "past_end", module_pickle(unicode("w") + tensor(6, int1(4) + int1(2), int1(2) + int1(1))),
      {{"data/0", floats(6)}});
  msg = error_of([&] { core::read_torch_archive(past_end, true); });
  EXPECT_NE(msg.find("reaches past its storage of 6 elements"), std::string::npos) << msg;
  const std::string missing =
      archive("missing", module_pickle(unicode("w") + tensor(6, int1(6), int1(1))));
  msg = error_of([&] { core::read_torch_archive(missing, true); });
  EXPECT_NE(msg.find("no record 'data/0'"), std::string::npos) << msg;
}

TEST(CraftedArchive, EndlessNestingAndTruncationAreErrorsNotCrashes) {
  // 100 modules each holding the next: deeper than any real model.
  std::string nested = proto();
  for (int i = 0; i < 100; ++i) nested += global("__torch__.m", "M") + ")\x81}(" + unicode("child");
  nested += global("__torch__.m", "M") + ")\x81";
  for (int i = 0; i < 100; ++i) nested += "ub";
  nested += ".";
  const std::string deep = archive("deep", nested);
  EXPECT_NE(error_of([&] { read_weights(deep); }).find("deeper than 64"), std::string::npos);
  const std::string truncated = archive("truncated", module_pickle(unicode("w")).substr(0, 20));
  EXPECT_NE(error_of([&] { read_weights(truncated); }).find("truncated"), std::string::npos);
  const std::string underflow = archive("underflow", proto() + "u.");
  EXPECT_NE(error_of([&] { read_weights(underflow); }).find("pickle at byte"), std::string::npos);
}

std::string int4(int32_t v) {
  std::string out = "J";
  for (int i = 0; i < 4; ++i)
    out += static_cast<char>((static_cast<uint32_t>(v) >> (8 * i)) & 0xff);
  return out;
}

TEST(CraftedArchive, ZeroStridesAndHugeEmptySizesAreRefusedNamingTheFile) {
  // Regression: a one-element storage viewed as 2^30 x 2^30 through zero strides asked
  // for 4 EiB; an empty tensor whose other sizes overflow gave c10's "Storage size calculation
  // overflowed" with no file name.
  const std::string repeated = archive(
      "repeated",
      module_pickle(unicode("w") + tensor(1, int4(1 << 30) + int4(1 << 30), int1(0) + int1(0))),
      {{"data/0", floats(1)}});
  std::string msg = error_of([&] { core::read_torch_archive(repeated, true); });
  EXPECT_NE(msg.find(repeated), std::string::npos) << msg;
  EXPECT_NE(msg.find("repeats its storage of 1 elements"), std::string::npos) << msg;
  const int32_t big = 0x7fffffff;
  const std::string empty_huge =
      archive("empty_huge",
              module_pickle(unicode("w") + tensor(1, int1(0) + int4(big) + int4(big) + int4(big),
                                                  int1(1) + int1(1) + int1(1) + int1(1))),
              {{"data/0", floats(1)}});
  msg = error_of([&] { core::read_torch_archive(empty_huge, true); });
  EXPECT_NE(msg.find(empty_huge), std::string::npos) << msg;
}

TEST(CraftedArchive, APickleNested300000DeepIsAnErrorNotAStackOverflow) {
  // Regression: 300,000 nested tuples overflowed the stack when freed.
  std::string deep = proto() + ")";
  deep += std::string(300000, '\x85');  // TUPLE1, each wrapping the one before
  deep += ".";
  const std::string path = archive("nested_tuples", deep);
  std::string msg = error_of([&] { core::read_torch_archive(path, true); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper than 1000"), std::string::npos) << msg;
  // The same depth built as lists (EMPTY_LIST x N, then APPEND x N), failing mid-way: the
  // half-built values are freed without recursion too.
  std::string lists = proto() + std::string(300000, ']') + std::string(299999, 'a') + "u.";
  msg = error_of([&] { core::read_torch_archive(archive("nested_lists", lists), true); });
  EXPECT_NE(msg.find("pickle at byte"), std::string::npos) << msg;
  // A list that holds itself through the memo is refused rather than walked for ever.
  const std::string cycle = archive("cycle", proto() + std::string("]q\0h\0a.", 7));
  msg = error_of([&] { core::read_torch_archive(cycle, true); });
  EXPECT_NE(msg.find("contains itself"), std::string::npos) << msg;
  // Ordinary nesting still reads.
  std::string fine = proto() + ")" + std::string(500, '\x85') + ".";
  EXPECT_NO_THROW(core::read_torch_archive(archive("nested_500", fine), true));
}

TEST(CraftedArchive, ABareIntIsNamedNotAnInternalAssert) {
  // Regression: a pickle of a bare int gave "INTERNAL ASSERT FAILED ... report a bug
  // to PyTorch".
  const std::string path = archive("bare_int", proto() + int1(5) + ".");
  const std::string msg = error_of([&] { read_weights(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("data.pkl holds a int, not a TorchScript module"), std::string::npos) << msg;
}

TEST(CraftedArchive, EveryCutOfAnArchiveIsAnErrorNamingTheFile) {
  // Regression: an archive cut short loaded with exit 0 and read past its records (the
  // fingerprint changed on every run). Every prefix of a valid archive must be refused.
  const std::string good =
      archive("cut_source", module_pickle(unicode("w") + tensor(200, int1(200), int1(1))),
              {{"data/0", floats(200)}});
  const std::string bytes = core::read_file(good);
  const std::string cut = testing::scratch_dir("crafted") + "/cut.pt";
  for (size_t size = 0; size < bytes.size(); size += 97) {
    core::atomic_write(cut, bytes.substr(0, size));
    const std::string msg = error_of([&] { core::read_torch_archive(cut, true); });
    EXPECT_NE(msg.find(cut), std::string::npos) << size << ": " << msg;
  }
}

}  // namespace
}  // namespace vlprompt::models::weights
