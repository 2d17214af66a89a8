#include "src/core/pickle.h"

#include <memory>
#include <string>
#include <vector>

#include "src/core/pickle_graph.h"
#include "src/core/pickle_machine.h"

// The machine's run loop, its operand readers and its stack and memo primitives; the opcode
// handlers are in pickle_machine.cpp.
namespace vlprompt::core::detail {

Machine::~Machine() {
  stack_.clear();
  memo_.clear();
  unlink_pickle_values(arena_, kept_);
}

PickleRef Machine::run() {
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

void Machine::check_depth(const PickleRef& root, size_t at) {
  const std::string problem = walk_pickle_nesting(*root, kMaxDepth, kept_);
  if (!problem.empty()) fail(at, problem);
}

char Machine::byte() {
  if (pos_ >= in_.size()) fail(pos_, "truncated (no STOP opcode)");
  return in_[pos_++];
}

uint64_t Machine::le(int n) {
  if (in_.size() - pos_ < static_cast<size_t>(n)) fail(pos_, "truncated");
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
  pos_ += n;
  return v;
}

std::string Machine::take(uint64_t n) {
  if (n > in_.size() - pos_)
    fail(pos_, "a " + std::to_string(n) + "-byte string runs past the end");
  std::string s = in_.substr(pos_, n);
  pos_ += n;
  return s;
}

std::string Machine::line() {
  const size_t end = in_.find('\n', pos_);
  if (end == std::string::npos) fail(pos_, "unterminated line");
  std::string s = in_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return s;
}

PickleRef Machine::pop(size_t at) {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
    fail(at, "stack underflow");
  PickleRef v = stack_.back();
  stack_.pop_back();
  return v;
}

std::vector<PickleRef> Machine::pop_to_mark(size_t at) {
  if (marks_.empty()) fail(at, "no MARK");
  const size_t m = marks_.back();
  marks_.pop_back();
  std::vector<PickleRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
  stack_.resize(m);
  return items;
}

void Machine::memo_put(uint64_t index, size_t at) {
  if (index >= kMaxMemo) fail(at, "memo index " + std::to_string(index) + " out of range");
  if (memo_.size() <= index) memo_.resize(index + 1);
  memo_[index] = top(at);
}

PickleRef Machine::memo_get(uint64_t index, size_t at) {
  if (index >= memo_.size() || !memo_[index])
    fail(at, "memo index " + std::to_string(index) + " never stored");
  return memo_[index];
}

void Machine::set_items(PickleRef& dict, std::vector<PickleRef> kv, size_t at) {
  if (dict->kind != Kind::Dict) fail(at, std::string("SETITEM(S) on a ") + dict->kind_name());
  if (kv.size() % 2) fail(at, "SETITEMS with an odd number of values");
  for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
}

PickleRef Machine::global(const std::string& module, const std::string& name, size_t at) {
  if (module.size() > 256 || name.size() > 256) fail(at, "global name too long");
  return string(Kind::Global, module + "." + name);
}

}  // namespace vlprompt::core::detail

namespace vlprompt::core {

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
  return detail::Machine(bytes, rules, source).run();
}

}  // namespace vlprompt::core
