#include "src/core/pickle_writer.h"

#include <cstring>
#include <limits>
#include <map>

#include "src/core/error.h"

namespace vlprompt::core {
namespace {

using Kind = PickleValue::Kind;

constexpr const char* kOrderedDict = "collections.OrderedDict";

// The storage class torch pickles for each element type (torch_archive.cpp reads the same names).
std::string storage_class(at::ScalarType type) {
  static const std::map<at::ScalarType, std::string> names = {
      {at::kFloat, "FloatStorage"},   {at::kHalf, "HalfStorage"},
      {at::kDouble, "DoubleStorage"}, {at::kBFloat16, "BFloat16Storage"},
      {at::kLong, "LongStorage"},     {at::kInt, "IntStorage"},
      {at::kShort, "ShortStorage"},   {at::kChar, "CharStorage"},
      {at::kByte, "ByteStorage"},     {at::kBool, "BoolStorage"}};
  const auto it = names.find(type);
  if (it == names.end()) {
    throw Error(std::string("pickle: tensors of dtype ") + c10::toString(type) +
                " cannot be written");
  }
  return it->second;
}

class Writer {
 public:
  Pickled run(const PickleRef& root) {
    out_.bytes = "\x80\x02";  // PROTO 2
    value(root, "the root");
    out_.bytes += '.';  // STOP
    return std::move(out_);
  }

 private:
  void op(char c) { out_.bytes.push_back(c); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void global(const std::string& module, const std::string& name) {
    op('c');
    out_.bytes += module + "\n" + name + "\n";
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= std::numeric_limits<int32_t>::min() &&
               v <= std::numeric_limits<int32_t>::max()) {
      op('J');
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      op('\x8a');  // LONG1, 8 bytes two's complement
      le(8, 1);
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void text(const std::string& s) {
    if (s.size() > std::numeric_limits<uint32_t>::max()) throw Error("pickle: string too long");
    op('X');
    le(s.size(), 4);
    out_.bytes += s;
  }
  void real(double d) {
    uint64_t bits = 0;
    std::memcpy(&bits, &d, 8);
    op('G');
    for (int i = 7; i >= 0; --i) out_.bytes.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  void boolean(bool b) { op(b ? '\x88' : '\x89'); }
  void tuple_of(const std::vector<PickleRef>& items, const std::string& where) {
    if (items.empty()) return op(')');
    if (items.size() > 3) op('(');
    for (size_t i = 0; i < items.size(); ++i)
      value(items[i], where + "[" + std::to_string(i) + "]");
    op(items.size() == 1 ? '\x85' : items.size() == 2 ? '\x86' : items.size() == 3 ? '\x87' : 't');
  }
  void int_tuple(at::IntArrayRef v) {
    std::vector<PickleRef> items;
    for (int64_t x : v) {
      PickleRef i = PickleValue::make(Kind::Int);
      i->integer = x;
      items.push_back(i);
    }
    tuple_of(items, "a tensor shape");
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
  // torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
  void tensor(const at::Tensor& t) {
    const at::Tensor data = t.detach().to(at::kCPU).contiguous();
    const std::string key = std::to_string(out_.storages.size());
    const std::string cls = storage_class(data.scalar_type());
    out_.storages.push_back({key, data});
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');
    text("storage");
    global("torch", cls);
    text(key);
    text("cpu");
    integer(data.numel());
    op('t');
    op('Q');  // BINPERSID
    integer(0);
    int_tuple(data.sizes());
    int_tuple(data.strides());
    boolean(false);
    empty_ordered_dict();
    op('t');
    op('R');
  }
  void dict(const PickleValue& d, const std::string& where) {
    if (d.class_name == kOrderedDict) {
      empty_ordered_dict();
    } else if (d.class_name.empty()) {
      op('}');
    } else {
      throw Error("pickle: " + where + " is a dict of class '" + d.class_name +
                  "'; only dict and collections.OrderedDict are written");
    }
    if (d.entries.empty()) return;
    op('(');
    for (const auto& [k, v] : d.entries) {
      const std::string name = k->kind == Kind::String ? k->text : std::string(k->kind_name());
      value(k, where + " key");
      value(v, where + "['" + name + "']");
    }
    op('u');
  }

  void value(const PickleRef& v, const std::string& where) {
    if (!v) throw Error("pickle: " + where + " is null");
    if (++depth_ > 256) throw Error("pickle: " + where + " is nested deeper than 256");
    switch (v->kind) {
      case Kind::None:
        op('N');
        break;
      case Kind::Bool:
        boolean(v->boolean);
        break;
      case Kind::Int:
        integer(v->integer);
        break;
      case Kind::Float:
        real(v->real);
        break;
      case Kind::String:
        text(v->text);
        break;
      case Kind::List:
        op(']');
        if (!v->items.empty()) {
          op('(');
          for (size_t i = 0; i < v->items.size(); ++i) {
            value(v->items[i], where + "[" + std::to_string(i) + "]");
          }
          op('e');
        }
        break;
      case Kind::Tuple:
        tuple_of(v->items, where);
        break;
      case Kind::Dict:
        dict(*v, where);
        break;
      case Kind::Tensor:
        tensor(v->tensor);
        break;
      default:
        throw Error(std::string("pickle: ") + where + " is a " + v->kind_name() +
                    ", which is not written (plain data and tensors only)");
    }
    --depth_;
  }

  Pickled out_;
  int depth_ = 0;
};

}  // namespace

Pickled pickle_protocol2(const PickleRef& root) { return Writer().run(root); }

}  // namespace vlprompt::core
