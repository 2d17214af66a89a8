#include "src/engine/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace vlprompt::engine {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string num(double v, int digits = 2) {
  char b[64];
  std::snprintf(b, sizeof(b), "%.*f", digits, v);
  return b;
}

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;
};

// A line chart with axes, min/max labels and a legend.
std::string line_chart(const std::string& title, const std::vector<Series>& series) {
  const double W = 520, H = 260, L = 50, R = 10, T = 30, B = 30;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series) {
    for (auto [x, y] : s.points) {
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  std::ostringstream o;
  o << "<svg width='" << W << "' height='" << H << "' class='chart'><text x='" << L << "' y='18'>"
    << esc(title) << "</text>";
  if (x0 > x1) return o.str() + "<text x='60' y='120'>no data</text></svg>";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  o << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B
    << "' stroke='#888'/><line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B
    << "' stroke='#888'/>";
  o << "<text x='4' y='" << T + 4 << "' font-size='11'>" << num(y1, 3) << "</text><text x='4' y='"
    << H - B << "' font-size='11'>" << num(y0, 3) << "</text><text x='" << L << "' y='" << H - 8
    << "' font-size='11'>" << num(x0, 0) << "</text><text x='" << W - R - 30 << "' y='" << H - 8
    << "' font-size='11'>" << num(x1, 0) << "</text>";
  double ly = T;
  for (const auto& s : series) {
    o << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.5' points='";
    for (auto [x, y] : s.points) o << num(px(x), 1) << "," << num(py(y), 1) << " ";
    o << "'/><text x='" << W - R - 120 << "' y='" << ly << "' fill='" << s.color
      << "' font-size='12'>" << esc(s.name) << "</text>";
    ly += 14;
  }
  return o.str() + "</svg>";
}

std::string per_class_bars(const nlohmann::json& per_class) {
  const double row = 16, W = 520, L = 160;
  std::ostringstream o;
  o << "<svg width='" << W << "' height='" << row * per_class.size() + 10 << "' class='chart'>";
  double y = 4;
  for (const auto& [name, acc] : per_class.items()) {
    const double a = acc.get<double>();
    o << "<text x='0' y='" << y + 12 << "' font-size='12'>" << esc(name) << "</text><rect x='" << L
      << "' y='" << y << "' width='" << num((W - L - 50) * a / 100.0, 1) << "' height='" << row - 3
      << "' fill='#4a7fb5'/><text x='" << L + (W - L - 50) * a / 100.0 + 4 << "' y='" << y + 12
      << "' font-size='11'>" << num(a, 1) << "</text>";
    y += row;
  }
  return o.str() + "</svg>";
}

// Rows are true classes, columns predictions; each cell prints its count (when it fits) and names
// both classes on hover. Column labels are rotated so long class names fit.
std::string confusion_heatmap(const nlohmann::json& confusion,
                              const std::vector<std::string>& names) {
  const size_t n = confusion.size();
  if (n == 0) return "";
  const auto name = [&](size_t i) { return esc(i < names.size() ? names[i] : std::to_string(i)); };
  const double cell = std::max(8.0, std::min(34.0, 480.0 / n)), L = 140, T = 110;
  std::ostringstream o;
  o << "<svg width='" << L + cell * n + 10 << "' height='" << T + cell * n + 24
    << "' class='chart'>";
  o << "<text x='" << L << "' y='12' font-size='11'>predicted &#8594;</text>";
  for (size_t j = 0; j < n; ++j) {
    const double x = L + cell * j + cell * 0.65, y = T - 4;
    o << "<text x='" << x << "' y='" << y << "' font-size='11' transform='rotate(-60 " << x << ","
      << y << ")'>" << name(j) << "</text>";
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t row_total = 0;
    for (const auto& v : confusion[i]) row_total += v.get<int64_t>();
    o << "<text x='0' y='" << T + cell * i + cell * 0.7 << "' font-size='11'>" << name(i)
      << "</text>";
    for (size_t j = 0; j < n; ++j) {
      const int64_t v = confusion[i][j].get<int64_t>();
      const double f = row_total ? static_cast<double>(v) / row_total : 0.0;
      const int shade = static_cast<int>(255 - 200 * f);
      o << "<rect x='" << L + cell * j << "' y='" << T + cell * i << "' width='" << cell
        << "' height='" << cell << "' fill='rgb(" << shade << "," << shade << ",255)'><title>true "
        << name(i) << ", predicted " << name(j) << ": " << v << "</title></rect>";
      if (cell >= 18) {
        o << "<text x='" << L + cell * j + cell / 2 << "' y='" << T + cell * i + cell * 0.65
          << "' font-size='" << (cell >= 28 ? 10 : 8) << "' text-anchor='middle' fill='"
          << (f > 0.6 ? "white" : "black") << "' pointer-events='none'>" << v << "</text>";
      }
    }
  }
  o << "<text x='0' y='" << T + cell * n + 16 << "' font-size='11'>rows: true class</text>";
  return o.str() + "</svg>";
}

// A class-incremental run's accuracy matrix: row i is task i, column t after training task t;
// cells shaded by accuracy, empty where the task was not yet seen.
std::string accuracy_matrix_svg(const nlohmann::json& matrix) {
  const size_t n = matrix.size();
  const double cell = std::max(28.0, std::min(56.0, 480.0 / std::max<size_t>(n, 1))), L = 70,
               T = 40;
  std::ostringstream o;
  o << "<svg width='" << L + cell * n + 10 << "' height='" << T + cell * n + 24
    << "' class='chart'><text x='" << L << "' y='14' font-size='11'>after training task "
    << "&#8594;</text>";
  for (size_t t = 0; t < n; ++t) {
    o << "<text x='" << L + cell * t + cell / 2 << "' y='" << T - 6
      << "' font-size='11' text-anchor='middle'>" << t + 1 << "</text>";
  }
  for (size_t i = 0; i < n; ++i) {
    o << "<text x='0' y='" << T + cell * i + cell * 0.6 << "' font-size='11'>task " << i + 1
      << "</text>";
    for (size_t t = 0; t < matrix[i].size(); ++t) {
      const auto& v = matrix[i][t];
      if (!v.is_number()) continue;
      const double a = v.get<double>();
      const int shade = static_cast<int>(255 - 2.0 * std::clamp(a, 0.0, 100.0));
      o << "<rect x='" << L + cell * t << "' y='" << T + cell * i << "' width='" << cell
        << "' height='" << cell << "' fill='rgb(" << shade << "," << shade << ",255)'><title>task "
        << i + 1 << " after task " << t + 1 << ": " << num(a) << "%</title></rect><text x='"
        << L + cell * t + cell / 2 << "' y='" << T + cell * i + cell * 0.6
        << "' font-size='10' text-anchor='middle' fill='" << (a > 60 ? "white" : "black") << "'>"
        << num(a, 1) << "</text>";
    }
  }
  o << "<text x='0' y='" << T + cell * n + 16 << "' font-size='11'>rows: the task tested (top-1 %"
    << ")</text>";
  return o.str() + "</svg>";
}

std::vector<std::pair<double, double>> per_task_points(const nlohmann::json& values) {
  std::vector<std::pair<double, double>> out;
  for (size_t t = 0; t < values.size(); ++t) {
    if (values[t].is_number()) out.emplace_back(t + 1.0, values[t].get<double>());
  }
  return out;
}

void continual_section(std::ostream& o, const nlohmann::json& c) {
  o << "<h2>Continual learning</h2><p>" << esc(c.value("protocol", std::string())) << "; tested "
    << "among " << esc(c.value("tested_among", std::string())) << ".</p>";
  if (c.contains("accuracy_matrix")) {
    o << "<h3>Accuracy matrix (test top-1)</h3>" << accuracy_matrix_svg(c["accuracy_matrix"]);
  }
  std::vector<Series> series;
  if (c.contains("average_accuracy")) {
    series.push_back({"learned", "#c0392b", per_task_points(c["average_accuracy"])});
  }
  if (c.contains("hand_written") && c["hand_written"].contains("average_accuracy")) {
    series.push_back(
        {"hand-written prompt", "#2471a3", per_task_points(c["hand_written"]["average_accuracy"])});
  }
  o << line_chart("average accuracy (%) after each task", series);
  // One value (two tasks) is a point, not a curve: the matrix already shows it.
  if (c.contains("forgetting") && per_task_points(c["forgetting"]).size() >= 2) {
    o << line_chart("forgetting (points) after each task",
                    {{"learned", "#c0392b", per_task_points(c["forgetting"])}});
  }
}

std::vector<Series> curves(const std::vector<nlohmann::json>& metrics,
                           const std::vector<std::pair<std::string, std::string>>& keys) {
  static const char* kColors[] = {"#c0392b", "#2471a3", "#229954", "#7d3c98"};
  std::vector<Series> out;
  for (size_t k = 0; k < keys.size(); ++k) {
    Series s{keys[k].second, kColors[k % 4], {}};
    for (const auto& m : metrics) {
      if (m.contains(keys[k].first) && m[keys[k].first].is_number() && m.contains("epoch")) {
        s.points.emplace_back(m["epoch"].get<double>(), m[keys[k].first].get<double>());
      }
    }
    if (!s.points.empty()) out.push_back(s);
  }
  return out;
}

// Says plainly what the weights are: a random initialisation reads as such, not as CLIP.
void model_paragraph(std::ostream& o, const nlohmann::json& m) {
  const auto pretrained = m.value("pretrained", nlohmann::json());
  o << "<p>Model: " << esc(m.value("source", std::string())) << " &mdash; "
    << (pretrained.is_boolean()
            ? (pretrained.get<bool>() ? "pretrained" : "<b>not pretrained</b> (random weights)")
            : "pretrained or not: not recorded in the file")
    << ". " << esc(m.value("provenance", std::string())) << "</p>";
}

void comparison_table(std::ostream& o, const nlohmann::json& comparison) {
  // The columns the rows carry, in a fixed order: classification runs have accuracies, causal-LM
  // runs perplexity.
  static const std::vector<std::pair<std::string, std::string>> kColumns{
      {"top1", "top-1"},        {"top5", "top-5"}, {"macro", "macro"},
      {"macro_f1", "macro-F1"}, {"nll", "NLL"},    {"ppl", "perplexity"}};
  std::vector<std::pair<std::string, std::string>> columns;
  for (const auto& c : kColumns) {
    for (const auto& r : comparison) {
      if (r.contains(c.first)) {
        columns.push_back(c);
        break;
      }
    }
  }
  o << "<h2>Baseline vs learned prompts (test)</h2><table><tr><th>prompts</th>";
  for (const auto& c : columns) o << "<th>" << c.second << "</th>";
  o << "</tr>";
  for (const auto& r : comparison) {
    o << "<tr><td>" << esc(r.value("name", std::string())) << "</td>";
    for (const auto& c : columns) o << "<td>" << num(r.value(c.first, 0.0)) << "</td>";
    o << "</tr>";
  }
  o << "</table>";
}

}  // namespace

std::string render_report(const nlohmann::json& results,
                          const std::vector<nlohmann::json>& metrics) {
  std::ostringstream o;
  const std::string title = results.value("title", std::string("vlprompt run"));
  o << "<!doctype html><html><head><meta charset='utf-8'><title>" << esc(title)
    << "</title><style>body{font-family:sans-serif;margin:24px;max-width:1100px}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px "
       "10px;text-align:right}"
       "th:first-child,td:first-child{text-align:left}.chart{margin:8px 16px 8px 0}"
       "</style></head><body><h1>"
    << esc(title) << "</h1>";
  if (results.contains("model") && results["model"].is_object()) {
    model_paragraph(o, results["model"]);
  }
  if (results.contains("comparison")) comparison_table(o, results["comparison"]);
  if (results.contains("continual")) continual_section(o, results["continual"]);
  o << "<h2>Training</h2>" << line_chart("loss", curves(metrics, {{"loss", "train loss"}}))
    << line_chart("accuracy (%)",
                  curves(metrics, {{"train_acc", "train"}, {"val_top1", "val top-1"}}));
  if (results.contains("test")) {
    const auto& t = results["test"];
    std::vector<std::string> names;
    if (results.contains("classnames"))
      names = results["classnames"].get<std::vector<std::string>>();
    if (t.contains("per_class"))
      o << "<h2>Per-class accuracy (test)</h2>" << per_class_bars(t["per_class"]);
    if (t.contains("confusion")) {
      o << "<h2>Confusion matrix (test; rows = true class)</h2>"
        << confusion_heatmap(t["confusion"], names);
    }
  }
  o << "<h2>Run</h2><pre>" << esc(results.dump(2).substr(0, 4000)) << "</pre></body></html>\n";
  return o.str();
}

}  // namespace vlprompt::engine
