#include "study/study_grid.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "prompts/registry.h"
#include "src/core/error.h"

namespace vlprompt::study {
namespace {

bool rule_matches(const CellRule& rule, const Cell& cell) {
  const std::map<std::string, std::string> values = {{"model", cell.model},
                                                     {"dataset", cell.dataset},
                                                     {"method", cell.method->label},
                                                     {"shots", std::to_string(cell.shots)},
                                                     {"seed", std::to_string(cell.seed)},
                                                     {"protocol", cell.protocol}};
  for (const auto& [key, allowed] : rule.when) {
    if (std::find(allowed.begin(), allowed.end(), values.at(key)) == allowed.end()) return false;
  }
  return true;
}

// "bitfit.lr=..." names the section "bitfit": a method section when a method is registered by
// that name.
bool belongs_to_stage(const std::string& override, const std::vector<std::string>& members) {
  const std::string section = override.substr(0, override.find_first_of(".="));
  const std::vector<std::string> names = prompts::method_names();
  if (std::find(names.begin(), names.end(), section) == names.end()) return true;
  return std::find(members.begin(), members.end(), section) != members.end();
}

void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

std::string folder_name(const std::string& text) {
  std::string base = text;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  if (base.find('/') != std::string::npos) base = std::filesystem::path(base).filename().string();
  std::string out;
  for (char c : base) {
    const unsigned char u = static_cast<unsigned char>(c);
    const bool keep = std::isalnum(u) || c == '.' || c == '_' || c == '+' || c == '-';
    if (keep) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.empty()) throw Error("'" + text + "' gives no usable folder name");
  return out;
}

std::vector<Cell> expand_cells(const StudySpec& spec) {
  if (spec.models.empty()) {
    throw FileError(spec.file, "models: no model to run on (give one in the file or --model M)");
  }
  std::vector<Cell> cells;
  std::set<std::string> folders;
  for (const auto& model : spec.models) {
    for (const auto& dataset : spec.datasets) {
      for (const auto& protocol : spec.protocols) {
        for (const auto& method : spec.methods) {
          if (method.baseline || (protocol == "base-to-new" && !method.base_to_new)) continue;
          const std::string label = folder_name(method.label);
          if (!folders.insert(model + "\n" + dataset + "\n" + protocol + "\n" + label).second) {
            throw FileError(spec.file, "the labels of two methods give one folder name '" + label +
                                           "'; rename one");
          }
          for (int64_t shots : spec.shots) {
            for (int64_t seed : spec.seeds) {
              Cell c;
              c.model = model;
              c.dataset = dataset;
              c.protocol = protocol;
              c.method = &method;
              c.shots = shots;
              c.seed = seed;
              c.id = folder_name(model) + "/" + folder_name(dataset) + "/" + label + "/" +
                     std::to_string(shots) + "-shot" + (protocol == "all" ? "" : "-" + protocol) +
                     "/seed-" + std::to_string(seed);
              cells.push_back(std::move(c));
            }
          }
        }
      }
    }
  }
  return cells;
}

std::vector<CellStep> cell_steps(const StudySpec& spec, const Cell& cell, const std::string& dir) {
  const StudyMethod& m = *cell.method;
  std::vector<std::string> args = spec.args, overrides = spec.overrides;
  append(args, m.args);
  append(overrides, m.overrides);
  for (const auto& rule : spec.rules) {
    if (!rule_matches(rule, cell)) continue;
    append(args, rule.args);
    append(overrides, rule.overrides);
  }
  const std::string cell_dir = dir + "/" + cell.id;
  std::vector<CellStep> steps;
  std::string previous;
  for (size_t i = 0; i < m.stages.size(); ++i) {
    const std::string& method = m.stages[i];
    CellStep s;
    s.out = i + 1 == m.stages.size()
                ? cell_dir
                : cell_dir + "/stages/" + std::to_string(i + 1) + "-" + folder_name(method);
    s.argv = {"train",
              "--method",
              method,
              "--model",
              cell.model,
              "--dataset",
              cell.dataset,
              "--shots",
              std::to_string(cell.shots),
              "--seed",
              std::to_string(cell.seed),
              "--out",
              s.out};
    if (!spec.data_root.empty()) append(s.argv, {"--data-root", spec.data_root});
    if (cell.protocol == "base-to-new") append(s.argv, {"--subsample", "base"});
    if (!previous.empty())
      append(s.argv, {"--init-delta", previous + "/delta.safetensors", "--freeze-init"});
    append(s.argv, args);
    const std::vector<std::string> members = prompts::method_members(method);
    for (const auto& o : overrides) {
      if (belongs_to_stage(o, members)) s.argv.push_back(o);
    }
    previous = s.out;
    steps.push_back(std::move(s));
  }
  if (cell.protocol == "base-to-new") {
    CellStep e;
    e.kind = CellStep::Kind::kEval;
    e.out = cell_dir + "/new";
    e.argv = {"eval",       "--delta",     cell_dir + "/delta.safetensors",
              "--model",    cell.model,    "--dataset",
              cell.dataset, "--subsample", "new",
              "--out",      e.out};
    if (!spec.data_root.empty()) append(e.argv, {"--data-root", spec.data_root});
    steps.push_back(std::move(e));
  }
  return steps;
}

std::vector<std::string> resume_argv(const CellStep& step) {
  if (step.kind != CellStep::Kind::kTrain) return step.argv;
  return {"train", "--resume", step.out};
}

}  // namespace vlprompt::study
