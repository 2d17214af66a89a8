// Line and scatter charts as standalone SVG text (axes with ticks and labels, a legend, optional
// log-scale x and error bars), so a study's report.html renders in any browser with no script and
// no plotting package.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vlprompt::study {

struct Series {
  std::string name;
  std::vector<double> x, y;
  // Error bars (both empty, or one entry per point: the bar spans low..high).
  std::vector<double> low, high;
  bool lines = true;          // join the points; false: markers only
  bool markers = true;        // false: the line alone (long curves)
  bool label_points = false;  // write the series name beside its points (scatter plots)
};

struct ChartOptions {
  std::string title, x_label, y_label;
  bool log_x = false;  // x > 0 only; other points are left out and the chart says how many
  int width = 720, height = 420;
  // Explicit x ticks (value, text), e.g. shots 1, 2, 4, 8, 16; empty: chosen from the data.
  std::vector<std::pair<double, std::string>> x_ticks;
};

std::string svg_chart(const std::vector<Series>& series, const ChartOptions& options);

// Text safe inside XML/HTML content and attributes.
std::string xml_escape(const std::string& text);

}  // namespace vlprompt::study
