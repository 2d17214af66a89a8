// The opcode handlers of the unpickler's stack machine (pickle_machine.h): what each opcode reads
// and does to the stack. The machine's run loop and its operand and stack primitives are in
// pickle.cpp.
#include "src/core/pickle_machine.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace vlprompt::core::detail {

void Machine::step(unsigned char op, size_t at) {
  if (framing_op(op, at) || literal_op(op, at) || container_op(op, at) || fill_op(op, at) ||
      memo_op(op, at) || object_op(op, at)) {
    return;
  }
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", op);
  fail(at, std::string("unsupported pickle opcode ") + hex);
}

bool Machine::framing_op(unsigned char op, size_t at) {
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

bool Machine::literal_op(unsigned char op, size_t at) {
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

PickleRef Machine::long1(size_t at) {
  const uint64_t n = le(1);
  if (n > 8) fail(at, "integer of " + std::to_string(n) + " bytes (at most 8 supported)");
  uint64_t v = le(static_cast<int>(n));
  if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
  return integer(static_cast<int64_t>(v));
}

PickleRef Machine::binfloat() {
  const std::string b = take(8);
  uint64_t bits = 0;
  for (char c : b) bits = (bits << 8) | static_cast<unsigned char>(c);
  PickleRef v = scalar(Kind::Float);
  std::memcpy(&v->real, &bits, 8);
  return v;
}

bool Machine::container_op(unsigned char op, size_t at) {
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

bool Machine::fill_op(unsigned char op, size_t at) {
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

bool Machine::memo_op(unsigned char op, size_t at) {
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

bool Machine::object_op(unsigned char op, size_t at) {
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

PickleRef Machine::reduce(size_t at) {
  PickleRef args = pop(at), fn = pop(at);
  if (fn->kind != Kind::Global) fail(at, std::string("REDUCE on a ") + fn->kind_name());
  if (args->kind != Kind::Tuple) fail(at, "REDUCE arguments are not a tuple");
  const auto it = rules_.reducers.find(fn->text);
  if (it == rules_.reducers.end()) {
    fail(at, "refusing to call global '" + fn->text + "' (not on the allow-list; nothing was run)");
  }
  return it->second(args->items);
}

PickleRef Machine::new_object(unsigned char op, size_t at) {
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

void Machine::build(size_t at) {
  PickleRef state = pop(at);
  PickleRef& target = top(at);
  if (target->kind != Kind::Object && target->kind != Kind::Dict) {
    fail(at, std::string("BUILD on a ") + target->kind_name());
  }
  target->state = state;
}

}  // namespace vlprompt::core::detail
