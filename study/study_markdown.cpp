#include "study/study_markdown.h"

#include <cstdio>
#include <set>
#include <sstream>
#include <tuple>

namespace vlprompt::study {
namespace {

std::string pm(const std::vector<double>& v) {
  if (v.empty()) return "-";
  const Spread s = spread_of(v);
  char buf[64];
  if (s.n > 1) {
    std::snprintf(buf, sizeof(buf), "%.2f ± %.2f", s.mean, s.std);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f", s.mean);
  }
  return buf;
}

std::string size(int64_t n) {
  char buf[32];
  if (n >= 1000000) {
    std::snprintf(buf, sizeof(buf), "%.2f M", n / 1e6);
  } else if (n >= 10000) {
    std::snprintf(buf, sizeof(buf), "%.1f k", n / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
  }
  return buf;
}

// The finished cells of one method (or, for the baseline row, of every method) in a section.
std::vector<const CellResult*> section_cells(const std::vector<CellResult>& results, const Cell& at,
                                             const StudyMethod& m) {
  std::vector<const CellResult*> out;
  for (const auto& r : results) {
    const Cell& c = *r.cell;
    if (!r.done || c.model != at.model || c.dataset != at.dataset || c.protocol != at.protocol) {
      continue;
    }
    if (m.baseline || c.method == &m) out.push_back(&r);
  }
  return out;
}

template <class F>
std::vector<double> collect(const std::vector<const CellResult*>& cells, int64_t shots, F get) {
  std::vector<double> v;
  for (const auto* r : cells) {
    if (r->cell->shots == shots) v.push_back(get(*r));
  }
  return v;
}

}  // namespace

std::string study_markdown(const StudySpec& spec, const std::vector<CellResult>& results) {
  std::ostringstream md;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  const int64_t top = spec.shots.back();
  for (const auto& r : results) {
    const Cell& at = *r.cell;
    if (!seen.insert({at.model, at.dataset, at.protocol}).second) continue;
    const bool b2n = at.protocol == "base-to-new";
    md << "**" << at.model << " on " << at.dataset << (b2n ? ", base-to-new" : "")
       << "**\n\n| method |";
    if (b2n) {
      md << " base (" << top << "-shot) | new | H |";
    } else {
      for (int64_t k : spec.shots) md << " " << k << "-shot |";
    }
    md << " macro-F1 (" << top << "-shot) | parameters |\n|---|";
    const size_t columns = (b2n ? 3 : spec.shots.size()) + 2;
    for (size_t i = 0; i < columns; ++i) md << "---|";
    md << "\n";
    for (const auto& m : spec.methods) {
      if (b2n && !m.base_to_new) continue;
      const auto cells = section_cells(results, at, m);
      if (cells.empty()) continue;
      const bool base = m.baseline;
      md << "| " << m.label << " |";
      if (b2n) {
        md << " "
           << pm(collect(cells, top,
                         [&](const CellResult& x) { return base ? x.baseline_top1 : x.top1; }))
           << " | "
           << pm(collect(cells, top,
                         [&](const CellResult& x) {
                           return (base ? x.new_baseline_top1 : x.new_top1).value_or(0);
                         }))
           << " | "
           << pm(collect(
                  cells, top,
                  [&](const CellResult& x) { return (base ? x.baseline_hm : x.hm).value_or(0); }))
           << " |";
      } else {
        for (int64_t k : spec.shots) {
          md << " " << pm(collect(cells, k, [&](const CellResult& x) {
            return base ? x.baseline_top1 : x.top1;
          })) << " |";
        }
      }
      md << " "
         << pm(collect(
                cells, top,
                [&](const CellResult& x) { return base ? x.baseline_macro_f1 : x.macro_f1; }))
         << " | " << (base ? std::string("0") : size(parameters_at(cells, top))) << " |\n";
    }
    md << "\n";
  }
  return md.str();
}

}  // namespace vlprompt::study
