// Private to the unpickler: the stack machine that runs one pickle under UnpicklerRules, opcode by
// opcode, checking every operand, size, memo index, mark and nesting depth as it goes. pickle.h is
// the public face (unpickle() and PickleValue); this header exists only so that the machine's
// opcode handlers (pickle_machine.cpp) can live apart from its run loop and primitives
// (pickle.cpp). Nothing outside those two files includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "src/core/error.h"
#include "src/core/pickle.h"

namespace vlprompt::core::detail {

class Machine {
 public:
  Machine(const std::string& bytes, const UnpicklerRules& rules, const std::string& source)
      : in_(bytes), rules_(rules), source_(source) {}

  // Every value made stays owned by `arena_` until here, so none is freed while the pickle runs.
  // Whatever the caller does not get back is unlinked before it is freed: freeing a deep chain (or
  // a cycle) link by link would recurse once per level and overflow the stack.
  ~Machine();

  // Runs to the STOP opcode and returns the one value left on the stack.
  PickleRef run();

 private:
  using Kind = PickleValue::Kind;

  // Generous bounds: OpenAI's ViT-L/14 archive has ~3,000 memo entries and stacks a few dozen deep.
  static constexpr size_t kMaxStack = 1 << 20;
  static constexpr size_t kMaxMarks = 1 << 16;
  static constexpr size_t kMaxMemo = 1 << 24;
  // Values nested deeper than this are refused. Python's own pickler cannot write much deeper (its
  // recursion limit is 1,000), and every reader of these values, freeing them included, recurses.
  static constexpr size_t kMaxDepth = 1000;

  // The result's nesting: deeper than kMaxDepth, or containing itself (a memo reference back into
  // an enclosing value), is an error. On success its values are `kept_` so that the destructor
  // leaves them linked for the caller.
  void check_depth(const PickleRef& root, size_t at);

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw FileError(source_, "pickle at byte " + std::to_string(at) + ": " + what);
  }

  // Operands read at `pos_`; each fails on a pickle that ends too early.
  char byte();
  uint64_t le(int n);
  std::string take(uint64_t n);
  std::string line();

  PickleRef pop(size_t at);
  PickleRef& top(size_t at) {
    if (stack_.empty()) fail(at, "stack underflow");
    return stack_.back();
  }
  std::vector<PickleRef> pop_to_mark(size_t at);
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
  void memo_put(uint64_t index, size_t at);
  PickleRef memo_get(uint64_t index, size_t at);
  void set_items(PickleRef& dict, std::vector<PickleRef> kv, size_t at);
  PickleRef global(const std::string& module, const std::string& name, size_t at);

  // One opcode. Each group's handler returns false for an opcode outside its group; every check
  // stays inside the handler that reads the operands.
  void step(unsigned char op, size_t at);
  // PROTO, FRAME, MARK: no value made.
  bool framing_op(unsigned char op, size_t at);
  // None, booleans, integers, floats, strings and bytes read from the opcode's operands.
  bool literal_op(unsigned char op, size_t at);
  // LONG1: little-endian two's complement.
  PickleRef long1(size_t at);
  // BINFLOAT: big-endian double.
  PickleRef binfloat();
  // Empty containers and tuples built from the stack.
  bool container_op(unsigned char op, size_t at);
  // APPEND(S), SETITEM(S), ADDITEMS: values added to the list, dict or set below them.
  bool fill_op(unsigned char op, size_t at);
  bool memo_op(unsigned char op, size_t at);
  // Globals, persistent ids, calls and objects: where the allow-lists in `rules_` decide.
  bool object_op(unsigned char op, size_t at);
  PickleRef reduce(size_t at);
  // NEWOBJ, NEWOBJ_EX: an inert record of the class; its arguments are dropped.
  PickleRef new_object(unsigned char op, size_t at);
  // BUILD: keep the state, run no __setstate__.
  void build(size_t at);

  const std::string& in_;
  const UnpicklerRules& rules_;
  const std::string& source_;
  size_t pos_ = 0;
  std::vector<PickleRef> stack_, memo_, arena_;
  std::vector<size_t> marks_;
  std::unordered_set<const PickleValue*> kept_;
};

}  // namespace vlprompt::core::detail
