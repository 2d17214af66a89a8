#include "prompts/official/checkpoint.h"

#include <algorithm>

#include "src/core/error.h"
#include "src/core/torch_archive.h"
#include "src/core/torch_save.h"

namespace vlprompt::prompts::official {
namespace {

using core::PickleRef;
using core::PickleValue;
using Kind = PickleValue::Kind;

// What Dassl's build_optimizer / build_lr_scheduler put in a checkpoint, and the classes pickled
// inside them (a warm-up scheduler's `successor` pickles the whole wrapped scheduler and its
// optimizer). NEWOBJ builds each as an inert record: a class name and its state as data.
const std::vector<std::string>& optimizer_and_scheduler_classes() {
  static const std::vector<std::string> classes = {
      "torch.optim.sgd.SGD",
      "torch.optim.adam.Adam",
      "torch.optim.adamw.AdamW",
      "torch.optim.rmsprop.RMSprop",
      "torch.optim.lr_scheduler.StepLR",
      "torch.optim.lr_scheduler.MultiStepLR",
      "torch.optim.lr_scheduler.CosineAnnealingLR",
      "dassl.optim.lr_scheduler.ConstantWarmupScheduler",
      "dassl.optim.lr_scheduler.LinearWarmupScheduler",
      "dassl.optim.radam.RAdam",
      "dassl.optim.radam.PlainRAdam",
      "dassl.optim.radam.AdamW",
  };
  return classes;
}

core::ArchiveAllowList dassl_allow_list() {
  core::ArchiveAllowList allow;
  allow.inert_classes = optimizer_and_scheduler_classes();
  // An optimizer's `state` is a defaultdict(dict): its entries follow as SETITEMS, the default
  // factory (a global naming `dict`, never called) is dropped.
  allow.reducers["collections.defaultdict"] = [](const std::vector<PickleRef>&) {
    return PickleValue::make(Kind::Dict);
  };
  // Newer torch pickles a Parameter carrying Python attributes (the optimizer's `params`, inside a
  // pickled scheduler) this way: keep its tensor, drop the attributes (never set on anything).
  allow.reducers["torch._utils._rebuild_parameter_with_state"] =
      [](const std::vector<PickleRef>& a) {
        if (a.empty() || a[0]->kind != Kind::Tensor) {
          throw Error("_rebuild_parameter_with_state without a tensor");
        }
        return a[0];
      };
  return allow;
}

std::string shape_text(const std::vector<Dim>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + shape[i].name;
  return s + "]";
}

PickleRef make_string(const std::string& s) {
  PickleRef v = PickleValue::make(Kind::String);
  v->text = s;
  return v;
}

}  // namespace

const at::Tensor* DasslCheckpoint::find(const std::string& key) const {
  for (const auto& [k, t] : state_dict) {
    if (k == key) return &t;
  }
  return nullptr;
}

DasslCheckpoint read_dassl_checkpoint(const std::string& path) {
  core::TorchArchive archive;
  try {
    archive = core::read_torch_archive(path, dassl_allow_list());
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {  // from an allow-list reducer: name the file
    throw FileError(path, e.what());
  }
  const PickleRef& root = archive.root;
  if (root->kind != Kind::Dict) {
    throw FileError(path, std::string("holds a ") + root->kind_name() +
                              ", not a Dassl checkpoint dict {state_dict, epoch, ...}");
  }
  const PickleRef state = root->get("state_dict");
  if (!state || state->kind != Kind::Dict) {
    throw FileError(path,
                    "has no 'state_dict' dict (not a Dassl checkpoint written by "
                    "save_checkpoint; a bare state dict is not read)");
  }
  DasslCheckpoint out;
  out.path = path;
  for (const auto& [k, v] : state->entries) {
    if (k->kind != Kind::String) throw FileError(path, "state_dict has a non-string key");
    if (v->kind != Kind::Tensor) {
      throw FileError(
          path, "state_dict['" + k->text + "'] is a " + v->kind_name() + ", expected a tensor");
    }
    out.state_dict.emplace_back(k->text, v->tensor);
  }
  if (const PickleRef epoch = root->get("epoch"); epoch && epoch->kind == Kind::Int) {
    out.epoch = epoch->integer;
  }
  return out;
}

at::Tensor state_tensor(const DasslCheckpoint& checkpoint, const std::string& key,
                        const std::vector<Dim>& shape, const std::string& method) {
  const at::Tensor* found = checkpoint.find(key);
  if (!found) {
    std::string keys;
    for (const auto& kv : checkpoint.state_dict) keys += (keys.empty() ? "" : ", ") + kv.first;
    throw FileError(checkpoint.path, "state_dict has no '" + key + "' (a " + method +
                                         " checkpoint holds it with shape " + shape_text(shape) +
                                         "); its keys: " + (keys.empty() ? "none" : keys));
  }
  const at::Tensor& t = *found;
  bool fits = t.dim() == static_cast<int64_t>(shape.size());
  for (size_t d = 0; fits && d < shape.size(); ++d) {
    fits = shape[d].size < 0 ? t.size(d) > 0 : t.size(d) == shape[d].size;
  }
  if (!fits) {
    throw FileError(checkpoint.path, "state_dict['" + key + "'] has shape " + c10::str(t.sizes()) +
                                         ", expected " + shape_text(shape) + " for " + method +
                                         " on this model");
  }
  if (!at::isFloatingType(t.scalar_type())) {
    throw FileError(checkpoint.path, "state_dict['" + key + "'] has dtype " +
                                         std::string(c10::toString(t.scalar_type())) +
                                         ", expected a floating-point tensor");
  }
  return t.to(at::kFloat).contiguous();
}

void check_state_keys(const DasslCheckpoint& checkpoint, const std::vector<std::string>& known,
                      const std::string& method) {
  std::string unknown, expected;
  for (const auto& [key, tensor] : checkpoint.state_dict) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      unknown += (unknown.empty() ? "'" : ", '") + key + "'";
    }
  }
  if (unknown.empty()) return;
  for (const auto& k : known) expected += (expected.empty() ? "" : ", ") + k;
  throw FileError(checkpoint.path, "state_dict holds " + unknown + ", which a " + method +
                                       " checkpoint does not (it holds " + expected +
                                       "); is it another method's checkpoint?");
}

void write_dassl_checkpoint(const std::string& path, const StateDict& state_dict, int64_t epoch) {
  PickleRef state = PickleValue::make(Kind::Dict);
  state->class_name = "collections.OrderedDict";  // as module.state_dict() returns it
  for (const auto& [key, tensor] : state_dict) {
    PickleRef t = PickleValue::make(Kind::Tensor);
    t->tensor = tensor;
    state->entries.emplace_back(make_string(key), t);
  }
  PickleRef e = PickleValue::make(Kind::Int);
  e->integer = epoch;
  PickleRef root = PickleValue::make(Kind::Dict);
  root->entries = {{make_string("state_dict"), state},
                   {make_string("epoch"), e},
                   {make_string("optimizer"), PickleValue::make(Kind::None)},
                   {make_string("scheduler"), PickleValue::make(Kind::None)},
                   {make_string("val_result"), PickleValue::make(Kind::None)}};
  core::torch_save(path, root);
}

}  // namespace vlprompt::prompts::official
