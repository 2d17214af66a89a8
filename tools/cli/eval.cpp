// vlprompt eval: a trained delta evaluated on a dataset's test split (its own, base -> new, or
// another dataset's classes: cross-dataset transfer) beside that dataset's hand-written prompt
// (or, for a text delta, the zero-prompt LM). The model kind of the delta decides how
// (pipeline/model_kind.h).
#include "pipeline/model_kind.h"
#include "src/delta/delta_file.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

using pipeline::EvalArgs;

Runner setup_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  app.add_option("--delta", a->delta, "delta file (RUN/delta.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  add_model_options(app, a->model);
  app.add_option("--dataset", a->dataset,
                 "catalog name or image folder; another dataset's classes transfer a delta that "
                 "is not tied to its classes")
      ->required();
  app.add_option("--data-root", a->data_root, "where the dataset's files are");
  app.add_option("--subsample", a->subsample, "classes: all | base | new")->default_val("all");
  app.add_option("--split", a->split, "split to evaluate")->default_val("test");
  app.add_option("--device", a->device, "cpu | cuda | cuda:N")->default_val("cpu");
  app.add_option("--domain", a->domain,
                 "domain-adaptation deltas (dapl): classify with this domain's prompts "
                 "(default: the target the delta was trained for)");
  app.add_option("--batch-size", a->batch_size, "images per image-tower batch")
      ->default_val(64)
      ->check(at_least(1));
  app.add_option("--out", a->out, "output folder for results.json and report.html")->required();
  app.footer(
      "Example:\n  vlprompt eval --delta runs/coop-16-1/delta.safetensors --model ViT-B-16.pt "
      "--dataset fashion_mnist --out runs/coop-16-1-eval\n"
      "  vlprompt eval --delta runs/base/delta.safetensors --model ViT-B-16.pt --dataset "
      "fashion_mnist --subsample new --out runs/new");
  return [a] {
    // Read once: the backbone is checked on, and the method built from, the same version of it.
    const delta::DeltaFile file = delta::read_delta(a->delta);
    return pipeline::model_kind_of(file).evaluate(*a, file);
  };
}

}  // namespace

VLPROMPT_COMMAND(eval, "evaluate a trained delta on a dataset (cross-dataset too)", setup_eval);

}  // namespace vlprompt::cli
