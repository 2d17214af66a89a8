#include "study/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace vlprompt::study {
namespace {

// Tableau's ten categorical colours, distinguishable for most colour-blind readers.
constexpr const char* kColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr const char* kDashes[] = {"", "6,3", "2,3"};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string tick_text(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) {
    std::snprintf(buf, sizeof(buf), "%.0e", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%g", v);
  }
  return buf;
}

// About `count` round ticks covering [lo, hi] (1, 2 or 5 times a power of ten apart).
std::vector<double> linear_ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / std::max(1, count);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string svg_chart(const std::vector<Series>& series, const ChartOptions& o) {
  const double legend_w = 190, left = 64, top = 34, bottom = 52;
  // A long legend makes the chart taller rather than running off its bottom.
  const int height = std::max(o.height, static_cast<int>(top + 18 * series.size() + 24));
  const double plot_w = o.width - left - legend_w - 16, plot_h = height - top - bottom;
  Range xr, yr;
  int dropped = 0;
  for (const auto& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (o.log_x && !(s.x[i] > 0)) {
        ++dropped;
        continue;
      }
      xr.add(o.log_x ? std::log10(s.x[i]) : s.x[i]);
      yr.add(s.y[i]);
      if (i < s.low.size()) yr.add(s.low[i]);
      if (i < s.high.size()) yr.add(s.high[i]);
    }
  }
  for (const auto& [value, text] : o.x_ticks) xr.add(o.log_x ? std::log10(value) : value);
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << o.width << "' height='" << height
      << "' viewBox='0 0 " << o.width << " " << height
      << "' font-family='sans-serif' font-size='12' class='chart'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << left << "' y='20' font-size='14' font-weight='bold'>" << xml_escape(o.title)
      << "</text>\n";
  if (xr.empty()) return svg.str() + "<text x='80' y='120'>no data</text></svg>\n";
  if (xr.hi - xr.lo < 1e-12) xr.lo -= 0.5, xr.hi += 0.5;
  if (yr.hi - yr.lo < 1e-12) yr.lo -= 1, yr.hi += 1;
  const double xpad = (xr.hi - xr.lo) * 0.05, ypad = (yr.hi - yr.lo) * 0.08;
  xr.lo -= xpad, xr.hi += xpad, yr.lo -= ypad, yr.hi += ypad;
  const auto px = [&](double x) {
    const double v = o.log_x ? std::log10(x) : x;
    return left + (v - xr.lo) / (xr.hi - xr.lo) * plot_w;
  };
  const auto py = [&](double y) { return top + (yr.hi - y) / (yr.hi - yr.lo) * plot_h; };

  // Axes, grid and ticks.
  svg << "<rect x='" << left << "' y='" << top << "' width='" << fmt(plot_w) << "' height='"
      << fmt(plot_h) << "' fill='none' stroke='#333'/>\n";
  for (double t : linear_ticks(yr.lo, yr.hi, 6)) {
    svg << "<line x1='" << left << "' x2='" << fmt(left + plot_w) << "' y1='" << fmt(py(t))
        << "' y2='" << fmt(py(t)) << "' stroke='#ddd'/><text x='" << left - 6 << "' y='"
        << fmt(py(t) + 4) << "' text-anchor='end'>" << tick_text(t) << "</text>\n";
  }
  std::vector<std::pair<double, std::string>> xt = o.x_ticks;
  if (xt.empty()) {
    if (o.log_x) {
      for (int e = static_cast<int>(std::ceil(xr.lo)); e <= static_cast<int>(std::floor(xr.hi));
           ++e) {
        xt.emplace_back(std::pow(10.0, e), tick_text(std::pow(10.0, e)));
      }
    } else {
      for (double t : linear_ticks(xr.lo, xr.hi, 8)) xt.emplace_back(t, tick_text(t));
    }
  }
  for (const auto& [value, text] : xt) {
    const double x = px(value);
    svg << "<line x1='" << fmt(x) << "' x2='" << fmt(x) << "' y1='" << top << "' y2='"
        << fmt(top + plot_h) << "' stroke='#eee'/><text x='" << fmt(x) << "' y='"
        << fmt(top + plot_h + 16) << "' text-anchor='middle'>" << xml_escape(text) << "</text>\n";
  }
  svg << "<text x='" << fmt(left + plot_w / 2) << "' y='" << height - 12
      << "' text-anchor='middle'>" << xml_escape(o.x_label) << (o.log_x ? " (log scale)" : "")
      << (dropped ? " (" + std::to_string(dropped) + " points at 0 not shown)" : "")
      << "</text>\n<text transform='translate(16," << fmt(top + plot_h / 2)
      << ") rotate(-90)' text-anchor='middle'>" << xml_escape(o.y_label) << "</text>\n";

  // Series, then the legend.
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const std::string colour = kColours[k % 10];
    const std::string dash = kDashes[(k / 10) % 3];
    std::string path;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (o.log_x && !(s.x[i] > 0)) continue;
      path += (path.empty() ? "M" : " L") + fmt(px(s.x[i])) + "," + fmt(py(s.y[i]));
    }
    if (s.lines && !path.empty()) {
      svg << "<path d='" << path << "' fill='none' stroke='" << colour << "' stroke-width='1.8'"
          << (dash.empty() ? "" : " stroke-dasharray='" + dash + "'") << "/>\n";
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (o.log_x && !(s.x[i] > 0)) continue;
      const double x = px(s.x[i]);
      if (i < s.low.size() && i < s.high.size()) {
        svg << "<line x1='" << fmt(x) << "' x2='" << fmt(x) << "' y1='" << fmt(py(s.low[i]))
            << "' y2='" << fmt(py(s.high[i])) << "' stroke='" << colour << "'/>\n";
      }
      if (!s.markers) continue;
      svg << "<circle cx='" << fmt(x) << "' cy='" << fmt(py(s.y[i])) << "' r='3.5' fill='" << colour
          << "'><title>" << xml_escape(s.name) << ": " << tick_text(s.x[i]) << ", "
          << tick_text(s.y[i]) << "</title></circle>\n";
      if (s.label_points) {
        svg << "<text x='" << fmt(x + 6) << "' y='" << fmt(py(s.y[i]) - 6)
            << "' font-size='10' fill='" << colour << "'>" << xml_escape(s.name) << "</text>\n";
      }
    }
  }
  const double lx = left + plot_w + 14;
  for (size_t k = 0; k < series.size(); ++k) {
    const double y = top + 8 + 18.0 * k;
    const std::string dash = kDashes[(k / 10) % 3];
    svg << "<line x1='" << fmt(lx) << "' x2='" << fmt(lx + 22) << "' y1='" << fmt(y) << "' y2='"
        << fmt(y) << "' stroke='" << kColours[k % 10] << "' stroke-width='2.5'"
        << (dash.empty() ? "" : " stroke-dasharray='" + dash + "'") << "/><text x='" << fmt(lx + 28)
        << "' y='" << fmt(y + 4) << "'>" << xml_escape(series[k].name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace vlprompt::study
