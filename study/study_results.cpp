#include "study/study_results.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "src/core/safetensors.h"

namespace vlprompt::study {
namespace {

constexpr uint64_t kMaxJsonBytes = 64 << 20;

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(core::read_regular_file(path, kMaxJsonBytes));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("not valid JSON: ") + e.what());
  }
}

double number(const nlohmann::json& j, const char* section, const char* key,
              const std::string& file) {
  if (!j.contains(section) || !j[section].contains(key) || !j[section][key].is_number()) {
    throw FileError(file, std::string("has no number at ") + section + "." + key);
  }
  return j[section][key].get<double>();
}

// The hand-written prompt's numbers (CLIP runs) or the zero-prompt model's (LM runs).
const char* baseline_section(const nlohmann::json& results) {
  return results.contains("zeroshot_manual") ? "zeroshot_manual" : "zero_prompt";
}

double harmonic(double base, double fresh) {
  return base + fresh > 0 ? 2 * base * fresh / (base + fresh) : 0;
}

// Appends one run folder's epochs (metrics.jsonl; absent for fitted methods) to the curve and the
// step timing.
void read_epochs(const std::string& run, CellResult& r, int64_t& steps, double& seconds) {
  const std::string path = run + "/metrics.jsonl";
  if (!core::file_exists(path)) return;
  std::istringstream lines(core::read_regular_file(path, kMaxJsonBytes));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    nlohmann::json e;
    try {
      e = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& x) {
      throw FileError(path, std::string("a line is not JSON: ") + x.what());
    }
    const int64_t epoch_steps = e.value("steps", int64_t{0});
    steps += epoch_steps;
    seconds += e.value("step_seconds", 0.0);
    const int64_t at =
        (r.curve.empty() ? 0 : r.curve.back().step) + std::max<int64_t>(1, epoch_steps);
    r.curve.push_back({at, e.value("train_acc", 0.0), e.value("loss", 0.0)});
  }
}

CellResult read_cell(const StudySpec& spec, const Cell& cell, const StudyPaths& paths) {
  CellResult r;
  r.cell = &cell;
  const std::vector<CellStep> steps = cell_steps(spec, cell, paths.dir);
  if (!cell_finished(steps)) return r;
  r.done = true;
  const std::string dir = paths.dir + "/" + cell.id;
  const std::string results_path = dir + "/results.json";
  const nlohmann::json results = read_json(results_path);
  r.top1 = number(results, "test", "top1", results_path);
  r.macro = number(results, "test", "macro", results_path);
  r.macro_f1 = results["test"].value("macro_f1", 0.0);
  const char* base = baseline_section(results);
  r.baseline_top1 = number(results, base, "top1", results_path);
  r.baseline_macro_f1 = results[base].value("macro_f1", 0.0);
  if (cell.protocol == "base-to-new") {
    const std::string new_path = dir + "/new/results.json";
    const nlohmann::json fresh = read_json(new_path);
    r.new_top1 = number(fresh, "test", "top1", new_path);
    r.new_baseline_top1 = number(fresh, baseline_section(fresh), "top1", new_path);
    r.hm = harmonic(r.top1, *r.new_top1);
    r.baseline_hm = harmonic(r.baseline_top1, *r.new_baseline_top1);
  }
  const std::string delta = dir + "/delta.safetensors";
  r.delta_bytes = static_cast<int64_t>(std::filesystem::file_size(delta));
  for (const auto& [name, info] : core::read_safetensors_header(delta)) {
    int64_t n = 1;
    for (int64_t d : info.shape) n *= d;
    r.parameters += n;
  }
  int64_t total_steps = 0;
  double step_seconds = 0;
  for (const auto& s : steps) {
    if (s.kind == CellStep::Kind::kTrain) read_epochs(s.out, r, total_steps, step_seconds);
  }
  if (total_steps > 0) r.seconds_per_step = step_seconds / static_cast<double>(total_steps);
  r.steps_to_90 = steps_to_fraction(r.curve, 0.9);
  const nlohmann::json record = read_cell_record(paths, cell);
  if (!record.is_null()) {
    int64_t peak = 0;
    double seconds = 0;
    for (const auto& c : record.value("commands", nlohmann::json::array())) {
      peak = std::max<int64_t>(peak, c.value("peak_rss_bytes", int64_t{0}));
      seconds += c.value("seconds", 0.0);
    }
    r.peak_rss_bytes = peak;
    r.train_seconds = seconds;
  }
  return r;
}

template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json spread(const std::vector<double>& v) {
  if (v.empty()) return nullptr;
  const Spread s = spread_of(v);
  return {{"mean", s.mean}, {"std", s.n > 1 ? nlohmann::json(s.std) : nlohmann::json(nullptr)},
          {"min", s.lo},    {"max", s.hi},
          {"n", s.n},       {"values", v}};
}

}  // namespace

Spread spread_of(const std::vector<double>& v) {
  Spread s;
  s.n = v.size();
  if (v.empty()) return s;
  for (double x : v) s.mean += x / static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / static_cast<double>(v.size() - 1)) : 0;
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  return s;
}

int64_t parameters_at(const std::vector<const CellResult*>& cells, int64_t shots) {
  for (const auto* r : cells) {
    if (r->cell->shots == shots) return r->parameters;
  }
  return cells.empty() ? 0 : cells.front()->parameters;
}

std::optional<int64_t> steps_to_fraction(const std::vector<CurvePoint>& curve, double fraction) {
  if (curve.empty()) return std::nullopt;
  const double goal = fraction * curve.back().train_acc;
  for (const auto& p : curve) {
    if (p.train_acc >= goal) return p.step;
  }
  return curve.back().step;
}

std::vector<CellResult> read_results(const StudySpec& spec, const std::vector<Cell>& cells,
                                     const StudyPaths& paths) {
  std::vector<CellResult> out;
  out.reserve(cells.size());
  for (const auto& c : cells) out.push_back(read_cell(spec, c, paths));
  return out;
}

nlohmann::json study_json(const StudySpec& spec, const std::vector<CellResult>& results) {
  nlohmann::json cells = nlohmann::json::array();
  // (model, dataset, protocol, label, shots) -> the seeds' numbers, in the spec's order.
  using Key = std::tuple<std::string, std::string, std::string, std::string, int64_t>;
  std::map<Key, std::map<std::string, std::vector<double>>> groups;
  std::vector<Key> order;
  for (const auto& r : results) {
    const Cell& c = *r.cell;
    nlohmann::json j = {{"id", c.id},
                        {"model", c.model},
                        {"dataset", c.dataset},
                        {"protocol", c.protocol},
                        {"method", c.method->label},
                        {"stages", c.method->stages},
                        {"group", c.method->group},
                        {"shots", c.shots},
                        {"seed", c.seed},
                        {"done", r.done}};
    if (r.done) {
      j.update({{"test_top1", r.top1},
                {"test_macro", r.macro},
                {"test_macro_f1", r.macro_f1},
                {"baseline_top1", r.baseline_top1},
                {"baseline_macro_f1", r.baseline_macro_f1},
                {"new_top1", optional_json(r.new_top1)},
                {"hm", optional_json(r.hm)},
                {"trainable_parameters", r.parameters},
                {"delta_bytes", r.delta_bytes},
                {"peak_rss_bytes", optional_json(r.peak_rss_bytes)},
                {"seconds_per_step", optional_json(r.seconds_per_step)},
                {"steps_to_90pct_train_acc", optional_json(r.steps_to_90)},
                {"seconds", optional_json(r.train_seconds)}});
      nlohmann::json curve = nlohmann::json::array();
      for (const auto& p : r.curve) curve.push_back({p.step, p.train_acc, p.loss});
      j["curve"] = curve;  // [step, train accuracy, loss] per epoch
      const Key key{c.model, c.dataset, c.protocol, c.method->label, c.shots};
      if (!groups.count(key)) order.push_back(key);
      auto& g = groups[key];
      g["test_top1"].push_back(r.top1);
      g["test_macro_f1"].push_back(r.macro_f1);
      g["baseline_top1"].push_back(r.baseline_top1);
      if (r.new_top1) {
        g["new_top1"].push_back(*r.new_top1);
        g["hm"].push_back(*r.hm);
        g["baseline_new_top1"].push_back(*r.new_baseline_top1);
        g["baseline_hm"].push_back(*r.baseline_hm);
      }
    }
    cells.push_back(std::move(j));
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& key : order) {
    nlohmann::json row = {{"model", std::get<0>(key)},
                          {"dataset", std::get<1>(key)},
                          {"protocol", std::get<2>(key)},
                          {"method", std::get<3>(key)},
                          {"shots", std::get<4>(key)}};
    for (const auto& [name, values] : groups[key]) row[name] = spread(values);
    rows.push_back(std::move(row));
  }
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& m : spec.methods) {
    methods.push_back({{"label", m.label},
                       {"stages", m.stages},
                       {"baseline", m.baseline},
                       {"group", m.group},
                       {"base_to_new", m.base_to_new},
                       {"args", m.args},
                       {"overrides", m.overrides}});
  }
  int64_t done = 0;
  for (const auto& r : results) done += r.done ? 1 : 0;
  return {{"study", spec.name},
          {"description", spec.description},
          {"file", spec.file},
          {"protocols", spec.protocols},
          {"models", spec.models},
          {"datasets", spec.datasets},
          {"shots", spec.shots},
          {"seeds", spec.seeds},
          {"methods", methods},
          {"cells_done", done},
          {"cells_total", results.size()},
          {"cells", cells},
          {"rows", rows}};
}

}  // namespace vlprompt::study
