// A restricted reader of Python pickles (protocols 2-5): it builds plain values and never runs
// anything. A global is only a name; calling one (REDUCE) or instantiating one (NEWOBJ) goes
// through the caller's allow-list, and anything not on it is an error naming the global and the
// file. Sizes, memo indices, marks and nesting are checked; a crafted pickle cannot crash it.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vlprompt::core {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    String,
    Bytes,
    List,
    Tuple,
    Dict,
    Global,
    Object,
    Tensor
  };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;                                      // String, Bytes; Global: "module.name"
  std::vector<PickleRef> items;                          // List, Tuple
  std::vector<std::pair<PickleRef, PickleRef>> entries;  // Dict (in insertion order)
  std::string class_name;  // Object: its class global; Dict: "collections.OrderedDict" or ""
  PickleRef state;         // Object, Dict: what BUILD gave it (or null)
  at::Tensor tensor;       // Tensor (and storages, as 1-d tensors)

  static PickleRef make(Kind kind);
  const char* kind_name() const;
  // The value under a string key of a Dict (or an Object's state Dict), or null.
  PickleRef get(const std::string& key) const;
};

struct UnpicklerRules {
  // Called for REDUCE on an allowed global, with the argument tuple's items.
  using Reducer = std::function<PickleRef(const std::vector<PickleRef>& args)>;
  std::map<std::string, Reducer> reducers;
  // Whether NEWOBJ may make an inert record of this class (e.g. TorchScript's "__torch__.*").
  std::function<bool(const std::string& class_name)> allow_object;
  // BINPERSID: turns a persistent id (torch: a storage tuple) into a value.
  std::function<PickleRef(const PickleRef& pid)> persistent_load;
};

// Unpickles `bytes`; `source` names the file in errors. Throws FileError on anything malformed or
// not allowed.
PickleRef unpickle(const std::string& bytes, const UnpicklerRules& rules,
                   const std::string& source);

}  // namespace vlprompt::core
