// vlprompt import: an official (Dassl) CoOp / CoCoOp checkpoint -> a vlprompt delta file that
// eval, predict and inspect use like a trained run's. The checkpoint is read as data through the
// restricted unpickler; its token_prefix/token_suffix are rebuilt from the classes given, as the
// official load_model does.
#include <cstdio>

#include "pipeline/delta_formats.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

Runner setup_import(CLI::App& app) {
  auto a = std::make_shared<pipeline::ImportRequest>();
  auto from = std::make_shared<std::string>();
  std::string formats;
  for (const auto& n : pipeline::delta_format_names()) formats += (formats.empty() ? "" : "|") + n;
  app.add_option("--from", *from, "the official code that wrote the checkpoint: " + formats)
      ->required();
  app.add_option("checkpoint", a->checkpoint,
                 "model.pth.tar-N or model-best.pth.tar (peft: the adapter folder)")
      ->required()
      ->check(CLI::ExistingPath);
  add_model_options(app, a->model);
  app.add_option("--classes", a->classes, "comma-separated class names, in the trained order");
  app.add_option("--dataset", a->dataset, "take class names and template from a catalog entry");
  app.add_option("--data-root", a->data_root, "the dataset's files, where its class names live");
  app.add_option("--position", a->position,
                 "CoOp's class-token position (not stored in the checkpoint): end (default), "
                 "middle, front")
      ->check(CLI::IsMember({"end", "middle", "front"}));
  app.add_option("--domains", a->domains,
                 "DAPL's domains in the trained order, source(s) then target: SRC,TGT");
  app.add_option("--out", a->out, "the delta file to write (.safetensors)")->required();
  app.footer(
      "Example:\n  vlprompt import --from coop output/prompt_learner/model.pth.tar-50 "
      "--model ViT-B-16.pt --dataset caltech101 --out coop.safetensors\n"
      "  vlprompt predict --model ViT-B-16.pt --delta coop.safetensors --dataset caltech101 x.jpg");
  return [a, from] {
    std::fprintf(stderr, "%s\n", pipeline::find_delta_format(*from).import_file(*a).c_str());
    return 0;
  };
}

}  // namespace

VLPROMPT_COMMAND(
    import, "read an official CoOp/CoCoOp/DAPL/MaPLe/IVLP (Dassl) checkpoint into a delta file",
    setup_import);

}  // namespace vlprompt::cli
