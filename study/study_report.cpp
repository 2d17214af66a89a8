#include "study/study_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "study/study_grid.h"
#include "study/svg_chart.h"

namespace vlprompt::study {
namespace {

std::string f2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

std::string pm(const Spread& s) {
  if (s.n == 0) return "-";
  return f2(s.mean) + (s.n > 1 ? " &plusmn; " + f2(s.std) : "");
}

std::string count(int64_t n) {
  if (n >= 1000000) return f2(n / 1e6) + " M";
  if (n >= 10000) return f2(n / 1e3) + " k";
  return std::to_string(n);
}

// The finished cells of one model and data set, by method label.
using ByMethod = std::map<std::string, std::vector<const CellResult*>>;

std::vector<double> values(const std::vector<const CellResult*>& cells, int64_t shots,
                           double (*get)(const CellResult&)) {
  std::vector<double> out;
  for (const auto* r : cells) {
    if (r->cell->shots == shots) out.push_back(get(*r));
  }
  return out;
}

double top1_of(const CellResult& r) { return r.top1; }
double new_of(const CellResult& r) { return r.new_top1.value_or(0); }
double hm_of(const CellResult& r) { return r.hm.value_or(0); }
double baseline_of(const CellResult& r) { return r.baseline_top1; }
double baseline_new_of(const CellResult& r) { return r.new_baseline_top1.value_or(0); }
double baseline_hm_of(const CellResult& r) { return r.baseline_hm.value_or(0); }
double f1_of(const CellResult& r) { return r.macro_f1; }
double baseline_f1_of(const CellResult& r) { return r.baseline_macro_f1; }

void accuracy_table(std::ostringstream& h, const StudySpec& spec, const ByMethod& by,
                    const std::vector<const CellResult*>& all, bool b2n) {
  h << "<table><tr><th>method</th>";
  for (int64_t k : spec.shots) {
    if (b2n) {
      h << "<th>" << k << "-shot base</th><th>new</th><th>H</th>";
    } else {
      h << "<th>" << k << "-shot top-1</th>";
    }
  }
  h << "<th>macro-F1 (" << spec.shots.back() << "-shot)</th><th>parameters</th></tr>\n";
  for (const auto& m : spec.methods) {
    const bool base = m.baseline;
    const std::vector<const CellResult*>& cells = base                ? all
                                                  : by.count(m.label) ? by.at(m.label)
                                                                      : all;
    if (!base && !by.count(m.label)) continue;
    h << "<tr><td>" << xml_escape(m.label) << "</td>";
    for (int64_t k : spec.shots) {
      h << "<td>" << pm(spread_of(values(cells, k, base ? baseline_of : top1_of))) << "</td>";
      if (b2n) {
        h << "<td>" << pm(spread_of(values(cells, k, base ? baseline_new_of : new_of)))
          << "</td><td>" << pm(spread_of(values(cells, k, base ? baseline_hm_of : hm_of)))
          << "</td>";
      }
    }
    h << "<td>" << pm(spread_of(values(cells, spec.shots.back(), base ? baseline_f1_of : f1_of)))
      << "</td><td>" << (base ? std::string("0") : count(parameters_at(cells, spec.shots.back())))
      << "</td></tr>\n";
  }
  h << "</table>\n<p class='note'>Test top-1 %, mean &plusmn; sample std over seeds "
    << (b2n ? "(base: the trained classes; new: the other half; H: their harmonic mean)" : "")
    << ". The "
    << xml_escape(spec.methods.front().baseline ? spec.methods.front().label
                                                : std::string("baseline"))
    << " row is read from the cells' own results on the same test items.</p>\n";
}

// Base-to-new sections plot H, the number that section is about.
void charts(std::ostringstream& h, const StudySpec& spec, const ByMethod& by, bool b2n,
            const std::string& prefix, std::vector<StudyPlot>* plots) {
  double (*const score)(const CellResult&) = b2n ? hm_of : top1_of;
  const std::string y_label = b2n ? "H (base-to-new harmonic mean) %" : "test top-1 %";
  const auto plot = [&](const std::string& kind, const std::string& svg) {
    h << "<div class='plot'>" << svg << "</div>\n";
    if (plots) plots->push_back({prefix + "-" + kind + ".svg", svg});
  };
  const int64_t top = spec.shots.back();
  std::vector<Series> params, shots, curves;
  for (const auto& m : spec.methods) {
    if (m.baseline || !by.count(m.label)) continue;
    const auto& cells = by.at(m.label);
    const Spread s = spread_of(values(cells, top, score));
    if (s.n > 0) {
      Series p{m.label, {static_cast<double>(parameters_at(cells, top))}, {s.mean}};
      p.lines = false;
      p.label_points = true;
      params.push_back(p);
    }
    Series line{m.label, {}, {}};
    for (int64_t k : spec.shots) {
      const Spread at = spread_of(values(cells, k, score));
      if (at.n == 0) continue;
      line.x.push_back(static_cast<double>(k));
      line.y.push_back(at.mean);
      line.low.push_back(at.lo);
      line.high.push_back(at.hi);
    }
    shots.push_back(line);
    for (const auto* r : cells) {
      if (r->cell->shots != top || r->curve.empty()) continue;
      Series c{m.label, {}, {}};
      c.markers = false;
      for (const auto& p : r->curve) {
        c.x.push_back(static_cast<double>(p.step));
        c.y.push_back(p.train_acc);
      }
      curves.push_back(c);
      break;  // the first seed's curve
    }
  }
  ChartOptions o;
  o.title = "Accuracy against trainable parameters (" + std::to_string(top) + " shots)";
  o.x_label = "values in the delta file";
  o.y_label = y_label;
  o.log_x = true;
  plot("parameters", svg_chart(params, o));
  if (spec.shots.size() > 1) {
    ChartOptions s;
    s.title = "Accuracy against shots (bars: min..max over seeds)";
    s.x_label = "shots per class";
    s.y_label = y_label;
    s.log_x = true;
    for (int64_t k : spec.shots) s.x_ticks.emplace_back(static_cast<double>(k), std::to_string(k));
    plot("shots", svg_chart(shots, s));
  }
  ChartOptions c;
  c.title = "Convergence: training accuracy per epoch (" + std::to_string(top) + " shots, seed " +
            std::to_string(spec.seeds.front()) + ")";
  c.x_label = "optimizer steps";
  c.y_label = "train accuracy %";
  plot("convergence", svg_chart(curves, c));
}

// A combination row beside its best single member: positive when combining helped.
void combination_tables(std::ostringstream& h, const StudySpec& spec, const ByMethod& by) {
  const int64_t top = spec.shots.back();
  std::map<std::string, double> single;  // one-stage method -> mean top-1
  for (const auto& m : spec.methods) {
    if (m.baseline || m.stages.size() != 1 || !by.count(m.label)) continue;
    const Spread s = spread_of(values(by.at(m.label), top, top1_of));
    if (s.n > 0) single[m.stages.front()] = s.mean;
  }
  for (const char* group : {"simultaneous", "sequential"}) {
    std::ostringstream rows;
    for (const auto& m : spec.methods) {
      if (m.group != group || !by.count(m.label)) continue;
      const Spread s = spread_of(values(by.at(m.label), top, top1_of));
      std::vector<std::string> parts;
      for (const auto& stage : m.stages) {
        size_t start = 0;
        for (size_t plus = stage.find('+');; plus = stage.find('+', start)) {
          parts.push_back(stage.substr(start, plus == std::string::npos ? plus : plus - start));
          if (plus == std::string::npos) break;
          start = plus + 1;
        }
      }
      double best = -1;
      std::string best_name;
      for (const auto& p : parts) {
        if (single.count(p) && single[p] > best) best = single[p], best_name = p;
      }
      rows << "<tr><td>" << xml_escape(m.label) << "</td><td>" << pm(s) << "</td><td>"
           << (best >= 0 ? xml_escape(best_name) + " " + f2(best) : "-") << "</td><td>"
           << (best >= 0 && s.n ? (s.mean >= best ? "+" : "") + f2(s.mean - best) : "-")
           << "</td></tr>\n";
    }
    if (rows.str().empty()) continue;
    h << "<h4>"
      << (std::string(group) == "simultaneous" ? "Simultaneous combinations"
                                               : "Sequential combinations")
      << " (" << top << " shots)</h4>\n<table><tr><th>combination</th><th>top-1</th>"
      << "<th>best single member</th><th>difference</th></tr>\n"
      << rows.str() << "</table>\n";
  }
}

void cost_table(std::ostringstream& h, const std::vector<const CellResult*>& cells) {
  h << "<details><summary>Every cell</summary><table><tr><th>method</th><th>shots</th>"
    << "<th>seed</th><th>top-1</th><th>macro-F1</th><th>parameters</th><th>delta bytes</th>"
    << "<th>peak memory MB</th><th>ms / step</th><th>steps to 90% of final train acc</th>"
    << "<th>seconds</th></tr>\n";
  for (const auto* r : cells) {
    h << "<tr><td>" << xml_escape(r->cell->method->label) << "</td><td>" << r->cell->shots
      << "</td><td>" << r->cell->seed << "</td><td>" << f2(r->top1) << "</td><td>"
      << f2(r->macro_f1) << "</td><td>" << count(r->parameters) << "</td><td>" << r->delta_bytes
      << "</td><td>" << (r->peak_rss_bytes ? f2(*r->peak_rss_bytes / 1048576.0) : "-")
      << "</td><td>" << (r->seconds_per_step ? f2(*r->seconds_per_step * 1000) : "-") << "</td><td>"
      << (r->steps_to_90 ? std::to_string(*r->steps_to_90) : "-") << "</td><td>"
      << (r->train_seconds ? f2(*r->train_seconds) : "-") << "</td></tr>\n";
  }
  h << "</table></details>\n";
}

}  // namespace

std::string render_study_report(const StudySpec& spec, const std::vector<CellResult>& results,
                                const std::string& command, const std::vector<std::string>& notes,
                                std::vector<StudyPlot>* plots) {
  std::ostringstream h;
  size_t done = 0;
  for (const auto& r : results) done += r.done ? 1 : 0;
  h << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>" << xml_escape(spec.name)
    << "</title><style>body{font-family:sans-serif;margin:24px;max-width:1100px}"
    << "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    << "text-align:right}td:first-child,th:first-child{text-align:left}"
    << ".note{color:#555;font-size:13px}.plot{margin:12px 0}code{background:#f4f4f4}</style>"
    << "</head><body>\n<h1>Study: " << xml_escape(spec.name) << "</h1>\n<p>"
    << xml_escape(spec.description) << "</p>\n<p class='note'>" << done << " of " << results.size()
    << " cells finished. Made by <code>" << xml_escape(command) << "</code> from <code>"
    << xml_escape(spec.file) << "</code>.</p>\n";
  for (const auto& n : notes) h << "<p class='note'>" << xml_escape(n) << "</p>\n";
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& r : results) {
    const Cell& c = *r.cell;
    if (!seen.insert({c.model, c.dataset, c.protocol}).second) continue;
    ByMethod by;
    std::vector<const CellResult*> all;
    for (const auto& x : results) {
      const Cell& o = *x.cell;
      if (!x.done || o.model != c.model || o.dataset != c.dataset || o.protocol != c.protocol) {
        continue;
      }
      by[o.method->label].push_back(&x);
      all.push_back(&x);
    }
    const bool b2n = c.protocol == "base-to-new";
    h << "<h2>" << xml_escape(c.model) << " on " << xml_escape(c.dataset)
      << (b2n ? ", base-to-new" : ", all classes") << "</h2>\n";
    if (all.empty()) {
      h << "<p>No cell finished yet.</p>\n";
      continue;
    }
    accuracy_table(h, spec, by, all, b2n);
    charts(h, spec, by, b2n,
           folder_name(c.model) + "-" + folder_name(c.dataset) + (b2n ? "-base-to-new" : ""),
           plots);
    combination_tables(h, spec, by);
    cost_table(h, all);
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace vlprompt::study
