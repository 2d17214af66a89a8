#include "serve/metrics.h"

#include <sstream>

namespace vlprompt::serve {
namespace {

const std::vector<double> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                            1,     2.5,  5,     10,   30,  60};
const std::vector<double> kCountBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};

std::string number(double v, int precision = 17) {
  std::ostringstream s;
  s.precision(precision);
  s << v;
  return s.str();
}

Histogram& histogram(std::map<std::string, Histogram>& in, const std::string& key,
                     const std::vector<double>& bounds) {
  auto it = in.find(key);
  if (it == in.end()) it = in.emplace(key, Histogram(bounds)).first;
  return it->second;
}

}  // namespace

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, const std::string& labels, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i], 6) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"" + labels + "} " + std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels.substr(1) + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

void Metrics::count_request(const std::string& route, const std::string& model, int status,
                            double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, model, status}];
  histogram(latency_, route, kLatencyBounds).observe(seconds);
}

void Metrics::observe_batch(const std::string& kind, int64_t rows, int64_t deltas) {
  std::lock_guard<std::mutex> lock(mutex_);
  histogram(batch_rows_, kind, kCountBounds).observe(static_cast<double>(rows));
  histogram(batch_deltas_, kind, kCountBounds).observe(static_cast<double>(deltas));
}

void Metrics::add_generated_tokens(int64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  generated_tokens_ += static_cast<uint64_t>(n);
}

void Metrics::count_reload(const std::string& outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++reloads_[outcome];
}

void Metrics::add_gauge(const std::string& name, const std::string& help,
                        std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mutex_);
  gauges_.emplace_back(name, help, std::move(read));
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP vlprompt_requests_total Requests answered, by route, model and HTTP status.\n";
  out += "# TYPE vlprompt_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, model, status] = key;
    out += "vlprompt_requests_total{route=\"" + prometheus_label(route) + "\",model=\"" +
           prometheus_label(model) + "\",status=\"" + std::to_string(status) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP vlprompt_request_duration_seconds Time from a request's arrival to its answer.\n";
  out += "# TYPE vlprompt_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    h.render("vlprompt_request_duration_seconds", ",route=\"" + prometheus_label(route) + "\"",
             out);
  out += "# HELP vlprompt_batch_rows Rows in one forward pass of a serving loop.\n";
  out += "# TYPE vlprompt_batch_rows histogram\n";
  for (const auto& [kind, h] : batch_rows_)
    h.render("vlprompt_batch_rows", ",kind=\"" + kind + "\"", out);
  out +=
      "# HELP vlprompt_batch_deltas Distinct deltas (base counted as one) in one forward pass.\n";
  out += "# TYPE vlprompt_batch_deltas histogram\n";
  for (const auto& [kind, h] : batch_deltas_)
    h.render("vlprompt_batch_deltas", ",kind=\"" + kind + "\"", out);
  out += "# HELP vlprompt_generated_tokens_total Tokens generated for completions.\n";
  out += "# TYPE vlprompt_generated_tokens_total counter\n";
  out += "vlprompt_generated_tokens_total " + std::to_string(generated_tokens_) + "\n";
  out += "# HELP vlprompt_delta_reloads_total Changes seen in --delta-dir, by outcome.\n";
  out += "# TYPE vlprompt_delta_reloads_total counter\n";
  for (const auto& [outcome, n] : reloads_)
    out += "vlprompt_delta_reloads_total{outcome=\"" + outcome + "\"} " + std::to_string(n) + "\n";
  for (const auto& [name, help, read] : gauges_) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    out += name + " " + number(read()) + "\n";
  }
  return out;
}

}  // namespace vlprompt::serve
