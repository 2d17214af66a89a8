// The server's counters in Prometheus's text exposition format (GET /metrics): requests by route,
// model and status, queue depth, batch sizes, deltas per batch, latency histograms, tokens
// generated. Thread-safe; rendering takes one lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace vlprompt::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double value);
  // Appends NAME_bucket{le=...}, NAME_sum and NAME_count lines with `labels` (",k=\"v\"" form).
  void render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  void count_request(const std::string& route, const std::string& model, int status,
                     double seconds);
  // One forward pass of a serving loop ("lm_prefill", "lm_decode", "clip"): its rows and the
  // distinct deltas among them.
  void observe_batch(const std::string& kind, int64_t rows, int64_t deltas);
  void add_generated_tokens(int64_t n);
  void count_reload(const std::string& outcome);  // "loaded" | "removed" | "failed"
  // A gauge read when rendering (queue depth, rows in flight, deltas loaded).
  void add_gauge(const std::string& name, const std::string& help, std::function<double()> read);

  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  std::map<std::string, Histogram> batch_rows_, batch_deltas_;
  uint64_t generated_tokens_ = 0;
  std::map<std::string, uint64_t> reloads_;
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
};

// Escapes a label value (backslash, quote, newline) as the exposition format wants.
std::string prometheus_label(const std::string& value);

}  // namespace vlprompt::serve
