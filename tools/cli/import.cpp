// vlprompt import: an official (Dassl) CoOp / CoCoOp checkpoint -> a vlprompt delta file that
// eval, predict and inspect use like a trained run's. The checkpoint is read as data through the
// restricted unpickler; its token_prefix/token_suffix are rebuilt from the classes given, as the
// official load_model does.
#include <cstdio>

#include "prompts/lm/peft_format.h"
#include "prompts/official/convert.h"
#include "src/core/error.h"
#include "tools/cli/command.h"
#include "tools/pipeline/class_names.h"
#include "tools/pipeline/model_loading.h"

namespace vlprompt::cli {
namespace {

struct ImportArgs {
  pipeline::ModelArgs model;
  std::string from, checkpoint, classes, dataset, data_root, position, domains, out;
};

int run_import(const ImportArgs& a) {
  if (a.from == prompts::lm::kPeftFormat) {  // an adapter folder; --model is the LLaMA folder
    prompts::lm::import_peft(a.checkpoint, a.model.model, a.out);
    std::fprintf(stderr, "imported the PEFT adapter %s -> %s\n", a.checkpoint.c_str(),
                 a.out.c_str());
    return 0;
  }
  // Unknown formats are refused before anything is loaded.
  prompts::official::find_official_format(a.from);
  const pipeline::ClassList classes =
      pipeline::resolve_classes("import", a.classes, a.dataset, a.data_root);
  pipeline::ModelBundle m = pipeline::load_model_bundle(a.model);
  prompts::MethodContext context;
  context.clip = m.clip.model;
  context.tokenizer = m.tokenizer;
  context.classnames = classes.classnames;
  context.text_template = classes.template_text;
  const prompts::LoadedMethod imported = prompts::official::import_checkpoint(
      a.from, a.checkpoint, context, a.position, m.vocab_path, pipeline::split_commas(a.domains));
  delta::write_delta(a.out, imported.method->state(), imported.info);
  std::string hyper;
  for (const auto& [k, v] : imported.info.hyperparameters) hyper += " " + k + "=" + v;
  std::fprintf(
      stderr, "imported %s (%s checkpoint, epoch %lld) for %zu classes:%s\n  -> %s\n",
      a.checkpoint.c_str(), a.from.c_str(),
      static_cast<long long>(imported.info.training["imported_from"]["epoch"].get<int64_t>()),
      classes.classnames.size(), hyper.c_str(), a.out.c_str());
  return 0;
}

Runner setup_import(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  std::string formats;
  for (const auto& n : prompts::official::official_format_names()) {
    formats += (formats.empty() ? "" : "|") + n;
  }
  formats += std::string("|") + prompts::lm::kPeftFormat;
  app.add_option("--from", a->from, "the official code that wrote the checkpoint: " + formats)
      ->required();
  app.add_option("checkpoint", a->checkpoint,
                 "model.pth.tar-N or model-best.pth.tar (peft: the adapter folder)")
      ->required()
      ->check(CLI::ExistingPath);
  pipeline::add_model_options(app, a->model);
  app.add_option("--classes", a->classes, "comma-separated class names, in the trained order");
  app.add_option("--dataset", a->dataset, "take class names and template from a catalog entry");
  app.add_option("--data-root", a->data_root, "the dataset's files, where its class names live");
  app.add_option("--position", a->position,
                 "CoOp's class-token position (not stored in the checkpoint): end (default), "
                 "middle, front");
  app.add_option("--domains", a->domains,
                 "DAPL's domains in the trained order, source(s) then target: SRC,TGT");
  app.add_option("--out", a->out, "the delta file to write (.safetensors)")->required();
  app.footer(
      "Example:\n  vlprompt import --from coop output/prompt_learner/model.pth.tar-50 "
      "--model ViT-B-16.pt --dataset caltech101 --out coop.safetensors\n"
      "  vlprompt predict --model ViT-B-16.pt --delta coop.safetensors --dataset caltech101 x.jpg");
  return [a] { return run_import(*a); };
}

}  // namespace

VLPROMPT_COMMAND(
    import, "read an official CoOp/CoCoOp/DAPL/MaPLe/IVLP (Dassl) checkpoint into a delta file",
    setup_import);

}  // namespace vlprompt::cli
