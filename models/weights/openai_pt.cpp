// OpenAI's released CLIP files are TorchScript archives (zip). They are read as data: data.pkl
// through the restricted unpickler (src/core/torch_archive.h), module objects as inert records
// whose tensor attributes are the weights; the archive's code is never compiled or run (which
// LibTorch's TorchScript loader would do, __setstate__ included). Written files are TorchScript
// archives of a parameter-only module tree with the same dotted names, so OpenAI-style loaders read
// them back.
#include <torch/csrc/jit/api/module.h>

#include <fstream>
#include <map>
#include <sstream>

#include "models/weights/canonical_layout.h"
#include "models/weights/formats.h"
#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/torch_archive.h"

namespace vlprompt::models::weights::detail {
namespace {

constexpr const char* kExpected = "expected an OpenAI TorchScript .pt archive";

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string read_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open for reading");
  char buf[4] = {0, 0, 0, 0};
  in.read(buf, 4);
  return std::string(buf, static_cast<size_t>(in.gcount()));
}

// Tells apart the things users hand us as ".pt": a TorchScript archive, a torch.save() zip (a
// pickled state dict, which LibTorch 1.13 cannot unpickle), a legacy torch.save pickle, and
// anything else. Only the first is accepted.
void check_torchscript_archive(const std::string& path) {
  const std::string magic = read_magic(path);
  if (!magic.empty() && static_cast<unsigned char>(magic[0]) == 0x80)
    throw FileError(path,
                    "this is a legacy torch.save() pickle, not a TorchScript archive; "
                    "LibTorch cannot read pickled state dicts. Re-save it as safetensors "
                    "(safetensors.torch.save_file(model.state_dict(), 'model.safetensors'))");
  if (magic != std::string("PK\x03\x04", 4))
    throw FileError(path, std::string("not a zip archive (") + kExpected + ")");
  std::vector<std::string> records;
  try {
    records = core::torch_archive_records(path);
  } catch (const FileError& e) {
    // The zip reader names the broken record; say also what the file was meant to be.
    std::string detail = e.what();
    const std::string prefix = e.path() + ": ";
    if (detail.rfind(prefix, 0) == 0) detail = detail.substr(prefix.size());
    throw FileError(e.path(), detail + " (" + kExpected + ")");
  }
  bool has_code = false, has_data = false;
  for (const std::string& r : records) {
    if (r.rfind("code/", 0) == 0 || r == "constants.pkl") has_code = true;
    if (r == "data.pkl") has_data = true;
  }
  if (has_data && !has_code)
    throw FileError(path,
                    "this is a torch.save() file (a pickled state dict), not a TorchScript "
                    "archive; LibTorch 1.13 cannot unpickle it. Re-save it as safetensors "
                    "(safetensors.torch.save_file(model.state_dict(), 'model.safetensors'))");
  if (!has_code || !has_data)
    throw FileError(
        path, std::string("zip archive without TorchScript code/data records (") + kExpected + ")");
}

bool is_dropped_entry(const std::string& name) {
  // OpenAI's build_model deletes these scalar entries before loading the state dict.
  return name == "input_resolution" || name == "context_length" || name == "vocab_size";
}

bool is_buffer_name(const std::string& name) {
  for (const char* suffix : {".running_mean", ".running_var", ".num_batches_tracked"}) {
    const std::string s(suffix);
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

// Dotted names as a tree: each inner node becomes a submodule, each leaf a parameter/buffer.
struct Node {
  std::map<std::string, Node> children;
  std::map<std::string, at::Tensor> leaves;    // last name component -> tensor
  std::map<std::string, bool> leaf_is_buffer;  // BatchNorm statistics are buffers, as in PyTorch
};

torch::jit::Module build_module(const Node& node,
                                const std::shared_ptr<torch::jit::CompilationUnit>& cu,
                                int& counter) {
  torch::jit::Module m(c10::QualifiedName("__torch__.vlprompt.Weights" + std::to_string(counter++)),
                       cu, /*shouldMangle=*/false);
  // Every nn.Module has `training`; Python's torch.jit.load reads it back.
  m.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& [name, child] : node.children)
    m.register_module(name, build_module(child, cu, counter));
  for (const auto& [name, tensor] : node.leaves)
    m.register_parameter(name, tensor, /*is_buffer=*/node.leaf_is_buffer.at(name));
  return m;
}

}  // namespace

namespace {

// Module objects nest as attributes; a crafted archive could nest (or cycle) without end.
constexpr int kMaxModuleDepth = 64;

void collect_tensors(const core::PickleRef& module, const std::string& prefix, int depth,
                     const std::string& path, core::TensorMap& out) {
  if (depth > kMaxModuleDepth) {
    throw FileError(path, "module tree deeper than " + std::to_string(kMaxModuleDepth) +
                              " levels at '" + prefix + "'");
  }
  const core::PickleRef& state = module->state;
  if (!state || state->kind != core::PickleValue::Kind::Dict) return;
  for (const auto& [key, value] : state->entries) {
    if (key->kind != core::PickleValue::Kind::String) continue;
    const std::string name = prefix + key->text;
    if (value->kind == core::PickleValue::Kind::Tensor) {
      if (!is_dropped_entry(name)) out[name] = to_canonical_tensor(value->tensor);
    } else if (value->kind == core::PickleValue::Kind::Object) {
      collect_tensors(value, name + ".", depth + 1, path, out);
    }
  }
}

}  // namespace

core::TensorMap read_openai_pt(const std::string& path) {
  check_torchscript_archive(path);
  const core::TorchArchive archive = core::read_torch_archive(path, /*torchscript_objects=*/true);
  if (archive.root->kind != core::PickleValue::Kind::Object) {
    throw FileError(path, std::string("data.pkl holds a ") + archive.root->kind_name() +
                              ", not a TorchScript module (" + kExpected + ")");
  }
  core::TensorMap tensors;
  collect_tensors(archive.root, "", 0, path, tensors);
  if (tensors.empty())
    throw FileError(path, std::string("the TorchScript archive holds no parameters (") + kExpected +
                              " of a CLIP model)");
  return tensors;
}

void write_openai_pt(const std::string& path, const core::TensorMap& tensors) {
  Node root;
  for (const auto& [name, tensor] : tensors) {
    Node* node = &root;
    size_t start = 0;
    for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
      node = &node->children[name.substr(start, dot - start)];
      start = dot + 1;
    }
    const std::string leaf = name.substr(start);
    node->leaves[leaf] = to_canonical_tensor(tensor);
    node->leaf_is_buffer[leaf] = is_buffer_name(name);
  }
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  int counter = 0;
  torch::jit::Module module = build_module(root, cu, counter);
  std::ostringstream bytes;
  try {
    module.save(bytes);
  } catch (const c10::Error& e) {
    throw FileError(path, std::string("cannot serialize the TorchScript archive: ") +
                              first_line(e.what_without_backtrace()));
  }
  core::atomic_write(path, bytes.str());
}

}  // namespace vlprompt::models::weights::detail
