// Walks over the graph of values an unpickling made, none of which recurse: a crafted pickle can
// nest values hundreds of thousands deep or make one contain itself, and a recursive walk (or a
// chain of shared_ptr destructors) would overflow the stack.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "src/core/pickle.h"

namespace vlprompt::core {

// Adds the values reachable from `root` to `reachable` and returns "" when they nest at most
// `max_depth` levels and none contains itself; otherwise returns what is wrong and adds nothing.
std::string walk_pickle_nesting(const PickleValue& root, size_t max_depth,
                                std::unordered_set<const PickleValue*>& reachable);

// Clears the links (items, entries, state) of every value in `values` that is not in `kept`, so
// that freeing them frees one level at a time.
void unlink_pickle_values(const std::vector<PickleRef>& values,
                          const std::unordered_set<const PickleValue*>& kept);

}  // namespace vlprompt::core
