#include "src/core/torch_archive.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "src/core/error.h"
#include "src/core/zip_reader.h"

namespace vlprompt::core {
namespace {

using Kind = PickleValue::Kind;

// Storage classes as torch pickles them ("torch.FloatStorage") and the element type they hold.
const std::map<std::string, at::ScalarType>& storage_types() {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat},   {"torch.HalfStorage", at::kHalf},
      {"torch.DoubleStorage", at::kDouble}, {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool}};
  return types;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A view may reach each storage element once (a state dict's tensors do); one that repeats
// elements through zero strides may stay small, as an expanded bias would.
constexpr int64_t kMaxRepeatedElements = int64_t{1} << 24;
constexpr int64_t kMaxViewElements = int64_t{1} << 40;

class ArchiveReader {
 public:
  explicit ArchiveReader(const std::string& path) : path_(path), zip_(path) {
    // As PyTorch lays archives out: every record inside one folder (the archive's name), and a
    // "version" record (".data/version" in TorchScript files).
    const auto& entries = zip_.entries();
    if (entries.empty()) throw FileError(path, "the zip archive holds no records");
    const size_t slash = entries[0].name.find('/');
    if (slash == std::string::npos) {
      throw FileError(path, "record '" + entries[0].name +
                                "' is not inside the archive's folder (not a PyTorch archive)");
    }
    prefix_ = entries[0].name.substr(0, slash + 1);
    for (const ZipEntry& e : entries) {
      if (e.name.compare(0, prefix_.size(), prefix_) != 0) {
        throw FileError(path, "record '" + e.name + "' is outside the archive's folder '" +
                                  prefix_ + "' (not a PyTorch archive)");
      }
      records_.push_back(e.name.substr(prefix_.size()));
    }
    const std::string version_record = has(".data/version") ? ".data/version" : "version";
    const std::string version = first_line(record(version_record));
    if (version.empty() || version.size() > 9 ||
        version.find_first_not_of("0123456789") != std::string::npos) {
      throw FileError(path, "record '" + version_record + "' is '" + version.substr(0, 40) +
                                "', expected the archive format's version number");
    }
  }

  const std::vector<std::string>& records() const { return records_; }

  bool has(const std::string& name) const {
    return std::find(records_.begin(), records_.end(), name) != records_.end();
  }

  std::string record(const std::string& name) {
    const ZipEntry* entry = zip_.find(prefix_ + name);
    if (!entry) throw FileError(path_, "the archive has no record '" + name + "'");
    return zip_.read(*entry);
  }

  // A storage: ("storage", <storage class>, key, location, numel) -> a 1-d tensor.
  PickleRef storage(const PickleRef& pid) {
    const auto& t = pid->items;
    if (pid->kind != Kind::Tuple || t.size() != 5 || t[0]->kind != Kind::String ||
        t[0]->text != "storage" || t[1]->kind != Kind::Global || t[2]->kind != Kind::String ||
        t[4]->kind != Kind::Int) {
      throw FileError(path_,
                      "persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    const auto type = storage_types().find(t[1]->text);
    if (type == storage_types().end()) {
      throw FileError(path_, "storage type '" + t[1]->text + "' is not supported");
    }
    const std::string& key = t[2]->text;
    if (auto cached = storages_.find(key); cached != storages_.end()) return cached->second;
    const int64_t numel = t[4]->integer;
    const std::string bytes = record("data/" + key);
    const size_t element = c10::elementSize(type->second);
    if (numel < 0 || static_cast<uint64_t>(numel) > bytes.size() / element) {
      throw FileError(path_, "storage data/" + key + " holds " + std::to_string(bytes.size()) +
                                 " bytes, fewer than " + std::to_string(numel) + " elements of " +
                                 std::to_string(element) + " bytes");
    }
    PickleRef v = PickleValue::make(Kind::Tensor);
    v->tensor = at::empty({numel}, at::TensorOptions().dtype(type->second));
    if (numel > 0) std::memcpy(v->tensor.data_ptr(), bytes.data(), numel * element);
    storages_[key] = v;
    return v;
  }

  std::vector<int64_t> ints(const PickleRef& tuple, const char* what) const {
    if (tuple->kind != Kind::Tuple) throw FileError(path_, std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (const PickleRef& i : tuple->items) {
      if (i->kind != Kind::Int || i->integer < 0) {
        throw FileError(path_, std::string(what) + " holds a non-integer or negative entry");
      }
      out.push_back(i->integer);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, ...): a strided view, checked to stay
  // inside its storage, copied out contiguous.
  PickleRef rebuild_tensor(const std::vector<PickleRef>& a) {
    if (a.size() < 4 || a[0]->kind != Kind::Tensor || a[1]->kind != Kind::Int) {
      throw FileError(path_,
                      "_rebuild_tensor_v2 arguments are not (storage, offset, size, stride)");
    }
    const at::Tensor& storage = a[0]->tensor;
    const std::vector<int64_t> size = ints(a[2], "tensor size"),
                               stride = ints(a[3], "tensor stride");
    const int64_t offset = a[1]->integer;
    if (size.size() != stride.size() || size.size() > 64 || offset < 0) {
      throw FileError(path_, "tensor size, stride and offset do not fit together");
    }
    // The last element reached, in 128-bit arithmetic so that no product overflows.
    __int128 last = offset, elements = 1, nonzero_elements = 1;
    bool empty = false;
    for (size_t d = 0; d < size.size(); ++d) {
      if (size[d] == 0) empty = true;
      if (size[d] > 0) last += static_cast<__int128>(size[d] - 1) * stride[d];
      elements = std::min<__int128>(elements * size[d], kMaxViewElements + 1);
      if (size[d] > 0) {
        nonzero_elements = std::min<__int128>(nonzero_elements * size[d], kMaxViewElements + 1);
      }
    }
    if (!empty && last >= storage.numel()) {
      throw FileError(path_, "a tensor of size " + c10::str(at::IntArrayRef(size)) +
                                 " reaches past its storage of " + std::to_string(storage.numel()) +
                                 " elements");
    }
    // Zero strides repeat a storage's elements: a few bytes could otherwise ask for terabytes
    // (and an empty tensor's other sizes still have to fit in memory arithmetic).
    if (nonzero_elements > kMaxViewElements ||
        (elements > storage.numel() && elements > kMaxRepeatedElements)) {
      throw FileError(path_, "a tensor of size " + c10::str(at::IntArrayRef(size)) +
                                 " repeats its storage of " + std::to_string(storage.numel()) +
                                 " elements beyond " + std::to_string(kMaxRepeatedElements) +
                                 " elements (expected a tensor no larger than its storage)");
    }
    PickleRef v = PickleValue::make(Kind::Tensor);
    v->tensor = empty
                    ? at::empty(size, storage.options())
                    : storage.as_strided(size, stride, offset).clone(at::MemoryFormat::Contiguous);
    return v;
  }

  UnpicklerRules rules(bool torchscript_objects) {
    UnpicklerRules r;
    r.persistent_load = [this](const PickleRef& pid) { return storage(pid); };
    r.reducers["torch._utils._rebuild_tensor_v2"] = [this](const std::vector<PickleRef>& a) {
      return rebuild_tensor(a);
    };
    r.reducers["torch._utils._rebuild_tensor"] = [this](const std::vector<PickleRef>& a) {
      return rebuild_tensor(a);
    };
    r.reducers["torch._utils._rebuild_parameter"] = [this](const std::vector<PickleRef>& a) {
      if (a.empty() || a[0]->kind != Kind::Tensor) {
        throw FileError(path_, "_rebuild_parameter without a tensor");
      }
      return a[0];
    };
    r.reducers["collections.OrderedDict"] = [](const std::vector<PickleRef>& a) {
      PickleRef d = PickleValue::make(Kind::Dict);  // entries follow as SETITEMS
      d->class_name = "collections.OrderedDict";
      return d;
    };
    r.allow_object = [torchscript_objects](const std::string& cls) {
      return torchscript_objects && cls.rfind("__torch__.", 0) == 0;
    };
    return r;
  }

 private:
  std::string path_;
  ZipReader zip_;
  std::string prefix_;  // "archive/"
  std::vector<std::string> records_;
  std::map<std::string, PickleRef> storages_;
};

}  // namespace

namespace {

TorchArchive read_with(ArchiveReader& reader, const UnpicklerRules& rules,
                       const std::string& path) {
  TorchArchive archive;
  archive.records = reader.records();
  archive.root = unpickle(reader.record("data.pkl"), rules, path + " (data.pkl)");
  return archive;
}

}  // namespace

TorchArchive read_torch_archive(const std::string& path, bool torchscript_objects) {
  ArchiveReader reader(path);
  return read_with(reader, reader.rules(torchscript_objects), path);
}

TorchArchive read_torch_archive(const std::string& path, const ArchiveAllowList& allow) {
  ArchiveReader reader(path);
  UnpicklerRules rules = reader.rules(/*torchscript_objects=*/false);
  for (const auto& [name, reducer] : allow.reducers) {
    // torch's own rebuilding functions stay as they are: a caller cannot loosen their checks.
    rules.reducers.emplace(name, reducer);
  }
  rules.allow_object = [classes = allow.inert_classes](const std::string& cls) {
    return std::find(classes.begin(), classes.end(), cls) != classes.end();
  };
  return read_with(reader, rules, path);
}

std::vector<std::string> torch_archive_records(const std::string& path) {
  return ArchiveReader(path).records();
}

bool has_record(const TorchArchive& archive, const std::string& name) {
  return std::find(archive.records.begin(), archive.records.end(), name) != archive.records.end();
}

}  // namespace vlprompt::core
