// vlprompt train: learn a delta (or fit a baseline) on K shots per class, select on val, report
// on test beside the baseline (the dataset's hand-written prompt, or the zero-prompt LM).
// Resumable: --resume RUN_DIR. The run itself is pipeline::train (pipeline/training_run.h).
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "pipeline/training_run.h"
#include "src/distributed/launch.h"
#include "tools/cli/cli_checks.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace vlprompt::cli {
namespace {

// This process's arguments after the subcommand's executable name, without --nproc: what every
// rank runs.
std::vector<std::string> arguments_without_nproc() {
  // /proc files report size 0: read to the end.
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < raw.size();) {
    const size_t end = raw.find('\0', start);
    args.push_back(raw.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::vector<std::string> out;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

using pipeline::TrainArgs;

Runner setup_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto nproc = std::make_shared<int>(0);
  app.add_option("--method", a->method,
                 "a registered method (vlprompt methods), or deltas joined by '+' (coop+vpt)");
  add_model_options(app, a->model);
  app.get_option("--model")->required(false);
  app.add_option("--dataset", a->dataset,
                 "catalog name, image folder, or (text LMs) a folder of train/test "
                 ".jsonl/.tsv/.csv files");
  app.add_option("--data-root", a->data_root, "where the dataset's files are");
  app.add_option("--shots", a->shots, "training images per class")
      ->default_val(16)
      ->check(at_least(1));
  app.add_option("--seed", a->seed, "run seed: shots, shuffling, augmentation, init")
      ->default_val(1);
  app.add_option("--subsample", a->subsample, "classes: all | base | new")->default_val("all");
  app.add_option("--config", a->config_file, "YAML layered over the method's defaults");
  app.add_option("--out", a->out, "run folder");
  app.add_option("--resume", a->resume, "continue the run in this folder from its checkpoint");
  app.add_option("--device", a->device, "cpu | cuda | cuda:N")->default_val("cpu");
  app.add_option("--init-delta", a->init_delta,
                 "stack --method's deltas on this trained delta (its members come first)")
      ->check(CLI::ExistingFile);
  app.add_flag("--freeze-init", a->freeze_init,
               "keep the --init-delta members fixed: a sequential combination");
  app.add_flag("--no-augment", a->no_augment, "train on cached center-view image features");
  app.add_option("--aug-views", a->aug_views,
                 "encode K augmented views per image once and sample among them")
      ->default_val(0)
      ->check(at_least(0));
  app.add_option("--eval-batch-size", a->eval_batch_size)->default_val(64)->check(at_least(1));
  app.add_option("--target", a->target,
                 "domain adaptation (dapl): the unlabelled target dataset; its labels are never "
                 "read by training, and the run is tested on its test split");
  app.add_option("--target-data-root", a->target_data_root,
                 "where --target lives (default: "
                 "--data-root)");
  app.add_option("--target-max", a->target_max,
                 "use at most this many target train images (a seeded subset; 0 = all)")
      ->default_val(0);
  app.add_option("--task", a->task,
                 "text LMs: classify (rank classification through label words) | lm (causal LM "
                 "on completions)")
      ->default_val("classify");
  app.add_option("--tasks", a->tasks,
                 "class-incremental: split the classes into T tasks learned one after the other, "
                 "every task seen so far tested after each (0: one ordinary run)")
      ->default_val(0)
      ->check(at_least(0));
  app.add_option("--task-order", a->task_order,
                 "--tasks: seeded (classes shuffled by --seed) | given (the dataset's order)")
      ->default_val("seeded");
  app.add_option("--nproc", *nproc,
                 "data-parallel on this machine: start N ranks (torchrun --nproc-per-node; on "
                 "several machines set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT instead)")
      ->check(at_least(1));
  app.add_option("overrides", a->overrides, "key=value config overrides (optim.lr=0.01)");
  app.footer(
      "Example:\n  vlprompt train --method coop --model ViT-B-16.pt --dataset fashion_mnist "
      "--shots 16 --seed 1 --out runs/coop-16-1\n  vlprompt train --resume runs/coop-16-1\n  "
      "vlprompt train --method l2p --model ViT-B-16.pt --dataset cifar100 --data-root DIR "
      "--tasks 10 --shots 500 --out runs/l2p-split-cifar100");
  return [a, nproc, app = &app] {
    if (*nproc > 1 && !std::getenv("RANK")) {
      return distributed::run_local_ranks(*nproc, arguments_without_nproc());
    }
    std::vector<std::string> given;
    for (const CLI::Option* option : app->get_options()) {
      if (option->count() > 0 && option->get_name() != "--nproc") {
        given.push_back(option->get_name());
      }
    }
    return pipeline::train(*a, given);
  };
}

}  // namespace

VLPROMPT_COMMAND(train, "learn a delta on K shots per class (resumable)", setup_train);

}  // namespace vlprompt::cli
