#include "src/core/pickle.h"

#include <cstring>
#include <unordered_set>

#include "src/core/error.h"
#include "src/core/pickle_graph.h"

namespace vlprompt::core {
namespace {

using Kind = PickleValue::Kind;

// Generous bounds: OpenAI's ViT-L/14 archive has ~3,000 memo entries and stacks a few dozen deep.
constexpr size_t kMaxStack = 1 << 20;
constexpr size_t kMaxMarks = 1 << 16;
constexpr size_t kMaxMemo = 1 << 24;
// Values nested deeper than this are refused. Python's own pickler cannot write much deeper (its
// recursion limit is 1,000), and every reader of these values, freeing them included, recurses.
constexpr size_t kMaxDepth = 1000;

class Machine {
 public:
  Machine(const std::string& bytes, const UnpicklerRules& rules, const std::string& source)
      : in_(bytes), rules_(rules), source_(source) {}

  // Every value made stays owned by `arena_` until here, so none is freed while the pickle runs.
  // Whatever the caller does not get back is unlinked before it is freed: freeing a deep chain (or
  // a cycle) link by link would recurse once per level and overflow the stack.
  ~Machine() {
    stack_.clear();
    memo_.clear();
    unlink_pickle_values(arena_, kept_);
  }

  PickleRef run() {
    while (true) {
      const size_t at = pos_;
      const auto op = static_cast<unsigned char>(byte());
      if (op == '.') {
        if (stack_.size() != 1)
          fail(at, "STOP with " + std::to_string(stack_.size()) + " values on the stack");
        check_depth(stack_.back(), at);
        return stack_.back();
      }
      step(op, at);
      if (stack_.size() > kMaxStack) fail(at, "stack deeper than " + std::to_string(kMaxStack));
      if (!stack_.empty() && (arena_.empty() || arena_.back() != stack_.back())) {
        arena_.push_back(stack_.back());  // values made by reducers and persistent_load too
      }
    }
  }

 private:
  // The result's nesting: deeper than kMaxDepth, or containing itself (a memo reference back into
  // an enclosing value), is an error. On success its values are `kept_` so that the destructor
  // leaves them linked for the caller.
  void check_depth(const PickleRef& root, size_t at) {
    const std::string problem = walk_pickle_nesting(*root, kMaxDepth, kept_);
    if (!problem.empty()) fail(at, problem);
  }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw FileError(source_, "pickle at byte " + std::to_string(at) + ": " + what);
  }

  char byte() {
    if (pos_ >= in_.size()) fail(pos_, "truncated (no STOP opcode)");
    return in_[pos_++];
  }
  uint64_t le(int n) {
    if (in_.size() - pos_ < static_cast<size_t>(n)) fail(pos_, "truncated");
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string take(uint64_t n) {
    if (n > in_.size() - pos_)
      fail(pos_, "a " + std::to_string(n) + "-byte string runs past the end");
    std::string s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string line() {
    const size_t end = in_.find('\n', pos_);
    if (end == std::string::npos) fail(pos_, "unterminated line");
    std::string s = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  PickleRef pop(size_t at) {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail(at, "stack underflow");
    PickleRef v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleRef& top(size_t at) {
    if (stack_.empty()) fail(at, "stack underflow");
    return stack_.back();
  }
  std::vector<PickleRef> pop_to_mark(size_t at) {
    if (marks_.empty()) fail(at, "no MARK");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void push(PickleRef v) { stack_.push_back(std::move(v)); }
  PickleRef scalar(Kind k) {
    arena_.push_back(PickleValue::make(k));
    return arena_.back();
  }
  PickleRef integer(int64_t i) {
    PickleRef v = scalar(Kind::Int);
    v->integer = i;
    return v;
  }
  PickleRef string(Kind k, std::string s) {
    PickleRef v = scalar(k);
    v->text = std::move(s);
    return v;
  }
  PickleRef sequence(Kind k, std::vector<PickleRef> items) {
    PickleRef v = scalar(k);
    v->items = std::move(items);
    return v;
  }
  void memo_put(uint64_t index, size_t at) {
    if (index >= kMaxMemo) fail(at, "memo index " + std::to_string(index) + " out of range");
    if (memo_.size() <= index) memo_.resize(index + 1);
    memo_[index] = top(at);
  }
  PickleRef memo_get(uint64_t index, size_t at) {
    if (index >= memo_.size() || !memo_[index])
      fail(at, "memo index " + std::to_string(index) + " never stored");
    return memo_[index];
  }
  void set_items(PickleRef& dict, std::vector<PickleRef> kv, size_t at) {
    if (dict->kind != Kind::Dict) fail(at, std::string("SETITEM(S) on a ") + dict->kind_name());
    if (kv.size() % 2) fail(at, "SETITEMS with an odd number of values");
    for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
  }
  PickleRef global(const std::string& module, const std::string& name, size_t at) {
    if (module.size() > 256 || name.size() > 256) fail(at, "global name too long");
    return string(Kind::Global, module + "." + name);
  }

  // One opcode. Each group's handler returns false for an opcode outside its group; every check
  // stays inside the handler that reads the operands.
  void step(unsigned char op, size_t at) {
    if (framing_op(op, at) || literal_op(op, at) || container_op(op, at) || fill_op(op, at) ||
        memo_op(op, at) || object_op(op, at)) {
      return;
    }
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", op);
    fail(at, std::string("unsupported pickle opcode ") + hex);
  }

  // PROTO, FRAME, MARK: no value made.
  bool framing_op(unsigned char op, size_t at) {
    switch (op) {
      case 0x80:
        byte();
        return true;  // PROTO n
      case 0x95:
        le(8);
        return true;  // FRAME size (framing changes nothing here)
      case '(':
        if (marks_.size() >= kMaxMarks)
          fail(at, "MARKs nested deeper than " + std::to_string(kMaxMarks));
        marks_.push_back(stack_.size());
        return true;
      default:
        return false;
    }
  }

  // None, booleans, integers, floats, strings and bytes read from the opcode's operands.
  bool literal_op(unsigned char op, size_t at) {
    switch (op) {
      case 'N':
        push(scalar(Kind::None));
        return true;
      case 0x88:
      case 0x89: {
        PickleRef v = scalar(Kind::Bool);
        v->boolean = op == 0x88;
        push(v);
        return true;
      }
      case 'K':
        push(integer(static_cast<int64_t>(le(1))));
        return true;
      case 'M':
        push(integer(static_cast<int64_t>(le(2))));
        return true;
      case 'J':
        push(integer(static_cast<int32_t>(le(4))));
        return true;
      case 0x8a:
        push(long1(at));
        return true;
      case 'G':
        push(binfloat());
        return true;
      case 'X':
        push(string(Kind::String, take(le(4))));
        return true;
      case 0x8c:
        push(string(Kind::String, take(le(1))));
        return true;
      case 0x8d:
        push(string(Kind::String, take(le(8))));
        return true;
      case 'C':
        push(string(Kind::Bytes, take(le(1))));
        return true;
      case 'B':
        push(string(Kind::Bytes, take(le(4))));
        return true;
      case 0x8e:
        push(string(Kind::Bytes, take(le(8))));
        return true;
      default:
        return false;
    }
  }
  // LONG1: little-endian two's complement.
  PickleRef long1(size_t at) {
    const uint64_t n = le(1);
    if (n > 8) fail(at, "integer of " + std::to_string(n) + " bytes (at most 8 supported)");
    uint64_t v = le(static_cast<int>(n));
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
    return integer(static_cast<int64_t>(v));
  }
  // BINFLOAT: big-endian double.
  PickleRef binfloat() {
    const std::string b = take(8);
    uint64_t bits = 0;
    for (char c : b) bits = (bits << 8) | static_cast<unsigned char>(c);
    PickleRef v = scalar(Kind::Float);
    std::memcpy(&v->real, &bits, 8);
    return v;
  }

  // Empty containers and tuples built from the stack.
  bool container_op(unsigned char op, size_t at) {
    switch (op) {
      case ')':
        push(sequence(Kind::Tuple, {}));
        return true;
      case ']':
        push(sequence(Kind::List, {}));
        return true;
      case '}':
      case 0x8f:
        push(scalar(Kind::Dict));
        return true;  // EMPTY_SET as a dict of keys
      case 't':
        push(sequence(Kind::Tuple, pop_to_mark(at)));
        return true;
      case 'l':
        push(sequence(Kind::List, pop_to_mark(at)));
        return true;
      case 0x85: {
        PickleRef a = pop(at);
        push(sequence(Kind::Tuple, {a}));
        return true;
      }
      case 0x86: {
        PickleRef b = pop(at), a = pop(at);
        push(sequence(Kind::Tuple, {a, b}));
        return true;
      }
      case 0x87: {
        PickleRef c = pop(at), b = pop(at), a = pop(at);
        push(sequence(Kind::Tuple, {a, b, c}));
        return true;
      }
      default:
        return false;
    }
  }

  // APPEND(S), SETITEM(S), ADDITEMS: values added to the list, dict or set below them.
  bool fill_op(unsigned char op, size_t at) {
    switch (op) {
      case 'a': {
        PickleRef v = pop(at);
        PickleRef& list = top(at);
        if (list->kind != Kind::List) fail(at, std::string("APPEND to a ") + list->kind_name());
        list->items.push_back(v);
        return true;
      }
      case 'e': {
        std::vector<PickleRef> vs = pop_to_mark(at);
        PickleRef& list = top(at);
        if (list->kind != Kind::List) fail(at, std::string("APPENDS to a ") + list->kind_name());
        list->items.insert(list->items.end(), vs.begin(), vs.end());
        return true;
      }
      case 's': {
        PickleRef v = pop(at), k = pop(at);
        set_items(top(at), {k, v}, at);
        return true;
      }
      case 'u': {
        std::vector<PickleRef> kv = pop_to_mark(at);
        set_items(top(at), std::move(kv), at);
        return true;
      }
      case 0x90: {  // ADDITEMS (to a set)
        std::vector<PickleRef> vs = pop_to_mark(at);
        PickleRef& set = top(at);
        if (set->kind != Kind::Dict) fail(at, "ADDITEMS to a non-set");
        for (auto& v : vs) set->entries.emplace_back(v, scalar(Kind::None));
        return true;
      }
      default:
        return false;
    }
  }

  bool memo_op(unsigned char op, size_t at) {
    switch (op) {
      case 'q':
        memo_put(le(1), at);
        return true;
      case 'r':
        memo_put(le(4), at);
        return true;
      case 0x94:
        memo_put(memo_.size(), at);
        return true;  // MEMOIZE
      case 'h':
        push(memo_get(le(1), at));
        return true;
      case 'j':
        push(memo_get(le(4), at));
        return true;
      default:
        return false;
    }
  }

  // Globals, persistent ids, calls and objects: where the allow-lists in `rules_` decide.
  bool object_op(unsigned char op, size_t at) {
    switch (op) {
      case 'c': {
        const std::string module = line();
        push(global(module, line(), at));
        return true;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleRef name = pop(at), module = pop(at);
        if (name->kind != Kind::String || module->kind != Kind::String)
          fail(at, "STACK_GLOBAL of non-strings");
        push(global(module->text, name->text, at));
        return true;
      }
      case 'Q': {
        PickleRef pid = pop(at);
        if (!rules_.persistent_load) fail(at, "persistent id where none is expected");
        push(rules_.persistent_load(pid));
        return true;
      }
      case 'R':
        push(reduce(at));
        return true;
      case 0x81:
      case 0x92:
        push(new_object(op, at));
        return true;
      case 'b':
        build(at);
        return true;
      default:
        return false;
    }
  }
  PickleRef reduce(size_t at) {
    PickleRef args = pop(at), fn = pop(at);
    if (fn->kind != Kind::Global) fail(at, std::string("REDUCE on a ") + fn->kind_name());
    if (args->kind != Kind::Tuple) fail(at, "REDUCE arguments are not a tuple");
    const auto it = rules_.reducers.find(fn->text);
    if (it == rules_.reducers.end()) {
      fail(at,
           "refusing to call global '" + fn->text + "' (not on the allow-list; nothing was run)");
    }
    return it->second(args->items);
  }
  // NEWOBJ, NEWOBJ_EX: an inert record of the class; its arguments are dropped.
  PickleRef new_object(unsigned char op, size_t at) {
    if (op == 0x92) pop(at);  // kwargs
    pop(at);                  // args
    PickleRef cls = pop(at);
    if (cls->kind != Kind::Global) fail(at, std::string("NEWOBJ of a ") + cls->kind_name());
    if (!rules_.allow_object || !rules_.allow_object(cls->text)) {
      fail(at, "refusing to instantiate global '" + cls->text + "' (not on the allow-list)");
    }
    PickleRef obj = scalar(Kind::Object);
    obj->class_name = cls->text;
    return obj;
  }
  // BUILD: keep the state, run no __setstate__.
  void build(size_t at) {
    PickleRef state = pop(at);
    PickleRef& target = top(at);
    if (target->kind != Kind::Object && target->kind != Kind::Dict) {
      fail(at, std::string("BUILD on a ") + target->kind_name());
    }
    target->state = state;
  }

  const std::string& in_;
  const UnpicklerRules& rules_;
  const std::string& source_;
  size_t pos_ = 0;
  std::vector<PickleRef> stack_, memo_, arena_;
  std::vector<size_t> marks_;
  std::unordered_set<const PickleValue*> kept_;
};

}  // namespace

PickleRef PickleValue::make(Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

const char* PickleValue::kind_name() const {
  static const char* names[] = {"None", "bool",  "int",  "float",  "string", "bytes",
                                "list", "tuple", "dict", "global", "object", "tensor"};
  return names[static_cast<int>(kind)];
}

PickleRef PickleValue::get(const std::string& key) const {
  const PickleValue* dict = this;
  if (kind == Kind::Object) {
    if (!state) return nullptr;
    dict = state.get();
  }
  if (dict->kind != Kind::Dict) return nullptr;
  for (const auto& [k, v] : dict->entries) {
    if (k->kind == Kind::String && k->text == key) return v;
  }
  return nullptr;
}

PickleRef unpickle(const std::string& bytes, const UnpicklerRules& rules,
                   const std::string& source) {
  // The globals allowed as plain values (storage types) need no rule: GLOBAL only names them.
  return Machine(bytes, rules, source).run();
}

}  // namespace vlprompt::core
