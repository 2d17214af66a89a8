// vlprompt study: a grid of methods x models x data sets x shots x seeds from one YAML, each cell
// an ordinary run folder, summarised in study.json and report.html.
#include <unistd.h>

#include <climits>

#include "src/core/error.h"
#include "study/study_run.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

std::string own_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) throw Error("study: cannot find its own executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

Runner setup_study(CLI::App& app) {
  auto o = std::make_shared<study::StudyOptions>();
  app.add_option("--config", o->config,
                 "the study YAML, or the name of one in prompts/studies/ (delta-tuning, "
                 "vpt-baselines, coop-family)")
      ->required();
  app.add_option("--out", o->out,
                 "the study folder: one run folder per cell, study.json, "
                 "report.html")
      ->required();
  app.add_option("--model", o->models,
                 "run on these models instead of the file's (repeat for several)");
  app.add_flag("--keep-going", o->keep_going, "go on with the other cells after a failed one");
  app.add_flag("--report", o->report_only,
               "run nothing: write study.json and report.html from the finished cells");
  app.add_flag("--dry-run", o->dry_run, "print every cell's commands and run nothing");
  app.footer(
      "Finished cells are skipped, a cell cut short resumes from its checkpoint, and several\n"
      "processes may share one --out (a lock per cell).\n"
      "Example:\n  vlprompt study --config vpt-baselines --out studies/vpt\n"
      "  vlprompt study --config delta-tuning --model tiny-pretrained-lm --model /models/llama "
      "--out studies/dt");
  return [o] {
    o->executable = own_executable();
    o->command = "vlprompt study --config " + o->config + " --out " + o->out;
    for (const auto& m : o->models) o->command += " --model " + m;
    return study::run_study(*o);
  };
}

}  // namespace

VLPROMPT_COMMAND(study, "run a grid of methods x shots x seeds from one YAML, with plots",
                 setup_study);

}  // namespace vlprompt::cli
