#include "src/delta/delta_stack.h"

#include <algorithm>
#include <type_traits>

#include "src/core/error.h"
#include "src/nn/delta_linear.h"

namespace vlprompt::delta {

// One tower's sites of every member that touches it, applied in member order.
class StackedSites : public nn::DeltaSites {
 public:
  std::vector<nn::DeltaSites*> parts;

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override {
    at::Tensor x = tokens;
    for (nn::DeltaSites* s : parts) x = s->input_tokens(x, token_ids);
    return x;
  }

  int64_t inserted_tokens() const override {
    int64_t n = 0;
    for (const nn::DeltaSites* s : parts) n += s->inserted_tokens();
    return n;
  }

  // The shortest promise; rows are grouped by the one member that groups them (two members
  // grouping differently share nothing).
  nn::SharedPrefix shared_prefix() const override {
    nn::SharedPrefix out{nn::SharedPrefix::kUnlimited, {}};
    for (const nn::DeltaSites* s : parts) {
      nn::SharedPrefix p = s->shared_prefix();
      out.length = std::min(out.length, p.length);
      if (!p.groups.defined()) continue;
      if (out.groups.defined() && !out.groups.is_same(p.groups)) return {};
      out.groups = p.groups;
    }
    return out;
  }

  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override {
    at::Tensor y = x;
    for (nn::DeltaSites* s : parts) y = s->layer_tokens(layer, y);
    return y;
  }

  std::optional<nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override {
    std::vector<at::Tensor> keys, values;
    for (nn::DeltaSites* s : parts) {
      if (auto p = s->kv_prefix(layer, batch)) {
        keys.push_back(p->key);
        values.push_back(p->value);
      }
    }
    if (keys.empty()) return std::nullopt;
    if (keys.size() == 1) return nn::KVPrefix{keys[0], values[0]};
    return nn::KVPrefix{at::cat(keys, 1), at::cat(values, 1)};
  }

  // Module-level sites: the members' terms on one projection or norm combine (nn::combine);
  // adapters on a sublayer's output chain in member order.
  bool has_module_sites() const override {
    return std::any_of(parts.begin(), parts.end(),
                       [](const nn::DeltaSites* s) { return s->has_module_sites(); });
  }

  std::optional<nn::LinearDelta> linear(int64_t layer, nn::LinearSite site) override {
    std::optional<nn::LinearDelta> out;
    for (nn::DeltaSites* s : parts) out = nn::combine(std::move(out), s->linear(layer, site));
    return out;
  }

  std::optional<nn::NormDelta> norm(int64_t layer, nn::NormSite site) override {
    std::optional<nn::NormDelta> out;
    for (nn::DeltaSites* s : parts) out = nn::combine(std::move(out), s->norm(layer, site));
    return out;
  }

  at::Tensor sublayer_output(int64_t layer, nn::Sublayer sublayer,
                             const at::Tensor& output) override {
    at::Tensor y = output;
    for (nn::DeltaSites* s : parts) y = s->sublayer_output(layer, sublayer, y);
    return y;
  }

  std::optional<std::pair<int64_t, int64_t>> readout_span() const override {
    std::optional<std::pair<int64_t, int64_t>> out;
    for (const nn::DeltaSites* s : parts) {
      auto span = s->readout_span();
      if (span && out) throw Error("two members of the stack choose the image tower's readout");
      if (span) out = span;
    }
    return out;
  }

  at::Tensor tower_tensor(const std::string& name) override {
    at::Tensor out;
    for (nn::DeltaSites* s : parts) {
      at::Tensor t = s->tower_tensor(name);
      if (t.defined() && out.defined()) {
        throw Error("two members of the stack replace " + name + "; only one may train it");
      }
      if (t.defined()) out = t;
    }
    return out;
  }
};

DeltaStackImpl::DeltaStackImpl(DeltaStackOptions options)
    : Delta("stack"),
      options_(options),
      text_sites_(std::make_unique<StackedSites>()),
      image_sites_(std::make_unique<StackedSites>()) {}

DeltaStackImpl::~DeltaStackImpl() = default;

void DeltaStackImpl::add(const std::string& name, std::shared_ptr<Delta> delta) {
  if (!delta) throw Error("delta stack: member '" + name + "' is null");
  if (name.empty() || name.find('.') != std::string::npos) {
    throw Error("delta stack: member name '" + name +
                "' must be non-empty and contain no '.' (tensors are named <member>.<param>)");
  }
  for (const auto& existing : names_) {
    if (existing == name)
      throw Error("delta stack: there is already a member named '" + name + "'");
  }
  const auto refuse_second = [&](auto* capability, const char* what) {
    if (!capability) return;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i]->find<std::remove_pointer_t<decltype(capability)>>()) {
        throw Error("delta stack: members '" + names_[i] + "' and '" + name + "' both " + what +
                    "; only one may");
      }
    }
  };
  refuse_second(delta->find<ClassPrompts>(), "lay out the class prompts of the text tower");
  refuse_second(delta->find<DomainAdaptive>(), "adapt prompts to domains");
  refuse_second(delta->find<ImageFeatureBlend>(), "blend their own image features");
  refuse_second(delta->find<ImageFeatureMap>(), "map the image feature");
  refuse_second(delta->find<FewShotCache>(), "hold a few-shot cache");
  refuse_second(delta->find<LogitResidual>(), "add residual logits");
  for (size_t i = 0; i < members_.size(); ++i) {
    const auto& m = members_[i];
    const bool query = delta->find<ImageQuery>() || m->find<ImageQuery>();
    if (query && delta->touches(Tower::kImage) && m->touches(Tower::kImage)) {
      throw Error("delta stack: members '" + names_[i] + "' and '" + name +
                  "' cannot be combined: one chooses its image tokens per image from a "
                  "prompt-free pass (and reads its feature at their positions), so it must be "
                  "the only member in the image tower");
    }
    const bool head = delta->find<ClassHead>(), other_head = m->find<ClassHead>();
    const bool head_beside_text = (head && (other_head || m->touches(Tower::kText))) ||
                                  (other_head && delta->touches(Tower::kText));
    if (head_beside_text) {
      throw Error("delta stack: members '" + names_[i] + "' and '" + name +
                  "' cannot be combined: one classifies with its own head, so the other's " +
                  (head && other_head ? "head" : "text prompts") + " would never be used");
    }
  }
  if (options_.sequential()) {
    for (const auto& earlier : names_) freeze(earlier);
  }
  if (auto* c = delta->find<ClassPrompts>()) provide(c);
  if (auto* c = delta->find<DomainAdaptive>()) provide(c);
  if (auto* c = delta->find<ClassHead>()) provide(c);
  if (auto* c = delta->find<ImageConditioned>()) provide(c);
  if (auto* c = delta->find<ImageQuery>()) provide(c);
  if (auto* c = delta->find<ImageFeatureBlend>()) provide(c);
  if (auto* c = delta->find<ImageFeatureMap>()) provide(c);
  if (auto* c = delta->find<FewShotCache>()) provide(c);
  if (auto* c = delta->find<LogitResidual>()) provide(c);
  if (delta->find<LossTerm>()) provide<LossTerm>(this);
  register_module(name, delta);
  names_.push_back(name);
  members_.push_back(std::move(delta));
}

size_t DeltaStackImpl::index_of(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  std::string known;
  for (const auto& n : names_) known += (known.empty() ? "" : ", ") + n;
  throw Error("delta stack: no member named '" + name +
              "' (members: " + (known.empty() ? "none" : known) + ")");
}

std::shared_ptr<Delta> DeltaStackImpl::member(const std::string& name) const {
  return members_[index_of(name)];
}

void DeltaStackImpl::set_frozen(const std::string& name, bool frozen) {
  const auto& m = members_[index_of(name)];
  for (auto& p : m->parameters(/*recurse=*/true)) p.requires_grad_(!frozen);
  if (frozen) {
    frozen_.insert(name);
  } else {
    frozen_.erase(name);
  }
}

void DeltaStackImpl::freeze(const std::string& name) { set_frozen(name, true); }
void DeltaStackImpl::unfreeze(const std::string& name) { set_frozen(name, false); }

bool DeltaStackImpl::is_frozen(const std::string& name) const {
  index_of(name);  // unknown names are an error, not "not frozen"
  return frozen_.count(name) > 0;
}

std::vector<at::Tensor> DeltaStackImpl::trainable_parameters() const {
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (frozen_.count(names_[i])) continue;
    for (const auto& p : members_[i]->parameters(/*recurse=*/true)) {
      if (p.requires_grad()) out.push_back(p);
    }
  }
  return out;
}

nn::DeltaSites* DeltaStackImpl::sites(Tower tower, const SiteContext& context) {
  StackedSites& stacked = tower == Tower::kText ? *text_sites_ : *image_sites_;
  stacked.parts.clear();
  for (const auto& m : members_) {
    if (nn::DeltaSites* s = m->sites(tower, context)) stacked.parts.push_back(s);
  }
  if (stacked.parts.empty()) return nullptr;
  // One member: hand its sites over directly, saving a layer of virtual calls.
  if (stacked.parts.size() == 1) return stacked.parts.front();
  return &stacked;
}

bool DeltaStackImpl::touches(Tower tower) const {
  for (const auto& m : members_) {
    if (m->touches(tower)) return true;
  }
  return false;
}

void DeltaStackImpl::set_classnames(const std::vector<std::string>& classnames) {
  for (const auto& m : members_) m->set_classnames(classnames);
}

at::Tensor DeltaStackImpl::loss_term(const LossContext& context) {
  at::Tensor total;
  for (const auto& m : members_) {
    LossTerm* own = m->find<LossTerm>();
    const at::Tensor term = own ? own->loss_term(context) : at::Tensor();
    if (term.defined()) total = total.defined() ? total + term : term;
  }
  return total;
}

std::map<std::string, double> DeltaStackImpl::epoch_metrics() {
  std::map<std::string, double> out;
  for (const auto& m : members_) {
    for (const auto& [key, value] : m->epoch_metrics()) out[key] = value;
  }
  return out;
}

std::map<std::string, std::string> DeltaStackImpl::hyperparameters() const {
  std::map<std::string, std::string> out;
  std::string members;
  for (size_t i = 0; i < members_.size(); ++i) {
    members += (i ? "," : "") + names_[i];
    out[names_[i] + ".method"] = members_[i]->method();
    for (const auto& [key, value] : members_[i]->hyperparameters()) {
      out[names_[i] + "." + key] = value;
    }
  }
  out["members"] = members;
  out["sequential"] = options_.sequential() ? "true" : "false";
  // Which members were held fixed shapes the run (a resume must hold the same ones); only when
  // some are, so the files of simultaneous stacks keep their keys.
  std::string frozen;
  for (const auto& n : names_) {
    if (frozen_.count(n)) frozen += (frozen.empty() ? "" : ",") + n;
  }
  if (!frozen.empty()) out["frozen"] = frozen;
  return out;
}

core::TensorMap DeltaStackImpl::named_tensors() const {
  core::TensorMap out;
  for (const auto& p : named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  return out;
}

namespace {

// "<from>.<rest>" -> "<to>.<rest>" for every key that starts with "<from>.".
core::TensorMap renamed(const core::TensorMap& tensors, const std::string& from,
                        const std::string& to) {
  core::TensorMap out;
  for (const auto& [name, t] : tensors) {
    if (name.compare(0, from.size() + 1, from + ".") == 0) {
      out[to + "." + name.substr(from.size() + 1)] = t;
    }
  }
  return out;
}

}  // namespace

core::TensorMap DeltaStackImpl::export_tensors() const {
  core::TensorMap out;
  for (size_t i = 0; i < members_.size(); ++i) {
    for (auto& [name, t] : renamed(members_[i]->export_tensors(), members_[i]->method(), names_[i]))
      out[name] = t;
  }
  return out;
}

void DeltaStackImpl::load_named_tensors(const core::TensorMap& tensors, const std::string& source) {
  for (const auto& [name, t] : tensors) {
    const size_t dot = name.find('.');
    const std::string member = name.substr(0, dot);
    if (dot == std::string::npos ||
        std::find(names_.begin(), names_.end(), member) == names_.end()) {
      std::string known;
      for (const auto& n : names_) known += (known.empty() ? "" : ", ") + n;
      throw FileError(source,
                      "unexpected tensor '" + name + "' (the stack's members are: " + known + ")");
    }
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    members_[i]->load_named_tensors(renamed(tensors, names_[i], members_[i]->method()), source);
  }
}

}  // namespace vlprompt::delta
