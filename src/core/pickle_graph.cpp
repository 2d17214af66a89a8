#include "src/core/pickle_graph.h"

#include <unordered_map>

namespace vlprompt::core {

std::string walk_pickle_nesting(const PickleValue& root, size_t max_depth,
                                std::unordered_set<const PickleValue*>& reachable) {
  std::unordered_map<const PickleValue*, int> state;  // 1: on the current path, 2: done
  struct Frame {
    const PickleValue* value;
    size_t next_child;
  };
  std::vector<Frame> path{{&root, 0}};
  state[&root] = 1;
  // Children in a fixed order: list/tuple items, then each dict key and value, then the state.
  auto child = [](const PickleValue* v, size_t i) -> const PickleValue* {
    const size_t ni = v->items.size(), ne = v->entries.size();
    if (i < ni) return v->items[i].get();
    if (i < ni + 2 * ne) {
      const auto& e = v->entries[(i - ni) / 2];
      return ((i - ni) % 2 ? e.second : e.first).get();
    }
    return i == ni + 2 * ne ? v->state.get() : nullptr;
  };
  while (!path.empty()) {
    Frame& f = path.back();
    const size_t count = f.value->items.size() + 2 * f.value->entries.size() + 1;
    if (f.next_child >= count) {
      state[f.value] = 2;
      path.pop_back();
      continue;
    }
    const PickleValue* c = child(f.value, f.next_child++);
    if (!c) continue;
    const int s = state[c];
    if (s == 1) return std::string("a ") + c->kind_name() + " contains itself (a cycle)";
    if (s == 2) continue;
    if (path.size() >= max_depth) {
      return "values nested deeper than " + std::to_string(max_depth) + " levels";
    }
    state[c] = 1;
    path.push_back({c, 0});
  }
  for (const auto& [v, s] : state) reachable.insert(v);
  return "";
}

void unlink_pickle_values(const std::vector<PickleRef>& values,
                          const std::unordered_set<const PickleValue*>& kept) {
  for (const PickleRef& v : values) {
    if (kept.count(v.get())) continue;
    v->items.clear();
    v->entries.clear();
    v->state.reset();
  }
}

}  // namespace vlprompt::core
