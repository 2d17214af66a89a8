// vlprompt summarize: many runs (train or eval results.json) reduced to one table: mean ± sample
// std over seeds of the test top-1 per experiment (dataset, backbone, shots, method and its
// settings, classes), beside the hand-written prompt's; and for base/new pairs CoCoOp's harmonic
// mean H = 2bn/(b+n) of the two mean accuracies.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "datasets/fewshot.h"
#include "src/core/file_io.h"
#include "src/engine/run_records.h"
#include "tools/cli/command.h"

namespace vlprompt::cli {
namespace {

using engine::RunRecord;
using nlohmann::json;

struct Stats {
  int64_t n = 0;
  double mean = 0;
  std::optional<double> std;  // sample std (n - 1); none for a single run
};

Stats stats(const std::vector<double>& v) {
  Stats s;
  s.n = static_cast<int64_t>(v.size());
  for (double x : v) s.mean += x / static_cast<double>(s.n);
  if (s.n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(s.n - 1));
  }
  return s;
}

json stats_json(const Stats& s, const std::vector<double>& values) {
  return {{"mean", s.mean},
          {"std", s.std ? json(*s.std) : json(nullptr)},
          {"n", s.n},
          {"values", values}};
}

std::string pm(const Stats& s) {
  char buf[64];
  if (s.std) {
    std::snprintf(buf, sizeof(buf), "%6.2f ± %5.2f", s.mean, *s.std);
  } else {
    std::snprintf(buf, sizeof(buf), "%6.2f ±   n/a", s.mean);
  }
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

// (dataset, backbone, shots, method label) names an experiment; the classes (all/base/new) and
// the seed vary within it.
using PairKey = std::tuple<std::string, std::string, int64_t, std::string>;
using GroupKey = std::tuple<PairKey, std::string>;

struct GroupStats {
  Stats learned, manual;
};

std::map<GroupKey, std::vector<RunRecord>> group_runs(const std::vector<std::string>& args) {
  std::vector<RunRecord> records;
  std::set<std::string> seen;
  for (const auto& a : args) {
    RunRecord r = engine::read_run_record(a);
    if (!seen.insert(std::filesystem::weakly_canonical(r.file).string()).second) {
      std::cerr << "[vlprompt] warning: " << r.file << " given twice; counted once\n";
      continue;
    }
    records.push_back(std::move(r));
  }
  const std::vector<std::string> labels = engine::method_labels(records);
  std::map<GroupKey, std::vector<RunRecord>> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    const RunRecord& r = records[i];
    auto& g = groups[{{r.dataset, r.backbone, r.shots, labels[i]}, r.subsample}];
    for (const auto& other : g) {
      if (other.seed == r.seed) {
        std::cerr << "[vlprompt] warning: seed " << r.seed << " appears twice in " << r.dataset
                  << " " << r.shots << "-shot " << labels[i] << " (" << r.subsample
                  << "): " << other.file << " and " << r.file << "\n";
      }
    }
    g.push_back(r);
  }
  return groups;
}

// One row of the table, of the JSON and of the CSV.
GroupStats add_group(const GroupKey& key, const std::vector<RunRecord>& runs, int width, json* out,
                     std::string* csv) {
  const auto& [experiment, subsample] = key;
  const auto& [dataset, backbone, shots, method] = experiment;
  std::vector<double> learned, manual;
  json seeds = json::array(), files = json::array();
  std::string seed_list;
  for (const auto& r : runs) {
    learned.push_back(r.test_top1);
    manual.push_back(r.manual_top1);
    seeds.push_back(r.seed);
    files.push_back(r.file);
    seed_list += (seed_list.empty() ? "" : ";") + std::to_string(r.seed);
  }
  const GroupStats g{stats(learned), stats(manual)};
  (*out)["groups"].push_back({{"dataset", dataset},
                              {"backbone", backbone},
                              {"shots", shots},
                              {"method", method},
                              {"subsample", subsample},
                              {"n", g.learned.n},
                              {"seeds", seeds},
                              {"test_top1", stats_json(g.learned, learned)},
                              {"zeroshot_manual_top1", stats_json(g.manual, manual)},
                              {"files", files}});
  *csv += csv_field(dataset) + "," + csv_field(backbone) + "," + std::to_string(shots) + "," +
          csv_field(method) + "," + csv_field(subsample) + "," + std::to_string(g.learned.n) + "," +
          seed_list + "," + num(g.learned.mean) + "," + (g.learned.std ? num(*g.learned.std) : "") +
          "," + num(g.manual.mean) + "," + (g.manual.std ? num(*g.manual.std) : "") + "\n";
  std::printf("%-14s %-10s %5lld %-*s %-7s %5lld  %-15s  %-15s\n", dataset.c_str(),
              backbone.c_str(), static_cast<long long>(shots), width, method.c_str(),
              subsample.c_str(), static_cast<long long>(g.learned.n), pm(g.learned).c_str(),
              pm(g.manual).c_str());
  return g;
}

// CoCoOp's base-to-new number, for every experiment that has both halves.
void add_harmonic_means(const std::map<PairKey, std::map<std::string, GroupStats>>& pairs,
                        int width, json* out, std::string* csv) {
  bool header = false;
  for (const auto& [key, by_subsample] : pairs) {
    auto b = by_subsample.find("base"), n = by_subsample.find("new");
    if (b == by_subsample.end() || n == by_subsample.end()) continue;
    const auto& [dataset, backbone, shots, method] = key;
    const GroupStats &base = b->second, &novel = n->second;
    const double h = datasets::harmonic_mean(base.learned.mean, novel.learned.mean);
    const double hm = datasets::harmonic_mean(base.manual.mean, novel.manual.mean);
    if (!header) {
      std::printf("\nbase-to-new: H = 2bn/(b+n) of the mean top-1\n");
      std::printf("%-14s %-10s %5s %-*s %7s %7s %7s  %s\n", "dataset", "backbone", "shots", width,
                  "method", "base", "new", "H", "hand-written H");
      header = true;
    }
    std::printf("%-14s %-10s %5lld %-*s %7.2f %7.2f %7.2f  %7.2f\n", dataset.c_str(),
                backbone.c_str(), static_cast<long long>(shots), width, method.c_str(),
                base.learned.mean, novel.learned.mean, h, hm);
    (*out)["harmonic_means"].push_back({{"dataset", dataset},
                                        {"backbone", backbone},
                                        {"shots", shots},
                                        {"method", method},
                                        {"base_top1", base.learned.mean},
                                        {"new_top1", novel.learned.mean},
                                        {"H", h},
                                        {"zeroshot_manual_H", hm}});
    *csv += csv_field(dataset) + "," + csv_field(backbone) + "," + std::to_string(shots) + "," +
            csv_field(method) + ",H,,," + num(h) + ",," + num(hm) + ",\n";
  }
}

int run_summarize(const std::vector<std::string>& args, const std::string& prefix) {
  const auto groups = group_runs(args);
  json out{{"runs", args}, {"groups", json::array()}, {"harmonic_means", json::array()}};
  std::string csv =
      "dataset,backbone,shots,method,subsample,n,seeds,test_top1_mean,test_top1_std,"
      "zeroshot_manual_top1_mean,zeroshot_manual_top1_std\n";
  int width = 6;  // the method column fits the longest label
  for (const auto& [key, runs] : groups) {
    width = std::max(width, static_cast<int>(std::get<3>(std::get<0>(key)).size()));
  }
  std::printf("%-14s %-10s %5s %-*s %-7s %5s  %-15s  %-15s\n", "dataset", "backbone", "shots",
              width, "method", "classes", "seeds", "test top1", "hand-written");
  std::map<PairKey, std::map<std::string, GroupStats>> pairs;
  for (const auto& [key, runs] : groups) {
    pairs[std::get<0>(key)][std::get<1>(key)] = add_group(key, runs, width, &out, &csv);
  }
  add_harmonic_means(pairs, width, &out, &csv);
  core::atomic_write(prefix + ".json", out.dump(2) + "\n");
  core::atomic_write(prefix + ".csv", csv);
  std::printf("\nwritten: %s.json, %s.csv\n", prefix.c_str(), prefix.c_str());
  return 0;
}

Runner setup_summarize(CLI::App& app) {
  auto runs = std::make_shared<std::vector<std::string>>();
  auto prefix = std::make_shared<std::string>("summary");
  app.add_option("runs", *runs, "run folders (or their results.json), train or eval")->required();
  app.add_option("--out", *prefix, "output prefix: PREFIX.json and PREFIX.csv")
      ->default_val("summary");
  app.footer(
      "Example:\n  vlprompt summarize runs/coop-16-* --out runs/summary\n"
      "  (CSV rows whose subsample is 'H' hold the base-to-new harmonic means)");
  return [runs, prefix] { return run_summarize(*runs, *prefix); };
}

}  // namespace

VLPROMPT_COMMAND(summarize, "mean ± std over seeds of many runs, and base-to-new H",
                 setup_summarize);

}  // namespace vlprompt::cli
