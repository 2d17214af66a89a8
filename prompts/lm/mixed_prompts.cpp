#include "prompts/lm/mixed_prompts.h"

#include <map>

#include "src/core/error.h"

namespace vlprompt::prompts::lm {
namespace {

int64_t count_of(const VirtualTokenDeltas& deltas, int64_t row) {
  return row < 0 ? 0 : deltas[row]->n_virtual();
}

std::vector<int64_t> checked_rows(const VirtualTokenDeltas& deltas, const at::Tensor& rows) {
  if (!rows.defined() || rows.dim() != 1) {
    throw Error("mixed prompts: rows must be a [B] tensor of delta indices");
  }
  const at::Tensor cpu = rows.to(at::kCPU, at::kLong).contiguous();
  std::vector<int64_t> out(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel());
  for (size_t b = 0; b < out.size(); ++b) {
    if (out[b] < -1 || out[b] >= static_cast<int64_t>(deltas.size())) {
      throw Error("mixed prompts: row " + std::to_string(b) + " names delta " +
                  std::to_string(out[b]) + ", but there are " + std::to_string(deltas.size()) +
                  " (use -1 for no delta)");
    }
    if (out[b] >= 0 && !deltas[out[b]])
      throw Error("mixed prompts: delta " + std::to_string(out[b]) + " is null");
  }
  return out;
}

}  // namespace

MixedPromptSites::MixedPromptSites(VirtualTokenDeltas deltas, at::Tensor rows)
    : deltas_(std::move(deltas)), rows_(std::move(rows)) {
  const std::vector<int64_t> r = checked_rows(deltas_, rows_);
  if (r.empty()) return;
  n_ = count_of(deltas_, r[0]);
  for (size_t b = 1; b < r.size(); ++b) {
    const int64_t n = count_of(deltas_, r[b]);
    if (n != n_) {
      throw Error("mixed prompts: row 0 prepends " + std::to_string(n_) +
                  " virtual tokens but row " + std::to_string(b) + " prepends " +
                  std::to_string(n) +
                  "; one pass needs one count (no padding: the LM has no mask for it). Run "
                  "mixed_text_logits, which groups rows by count");
    }
  }
}

at::Tensor MixedPromptSites::input_tokens(const at::Tensor& tokens, const at::Tensor&) {
  if (n_ == 0) return tokens;
  if (rows_.numel() != tokens.size(0)) {
    throw Error("mixed prompts: " + std::to_string(rows_.numel()) + " rows given for a batch of " +
                std::to_string(tokens.size(0)));
  }
  // Every row here has a delta (a row without one would prepend 0): one table, one gather.
  std::vector<at::Tensor> table;
  for (const auto& d : deltas_) {
    table.push_back(d && d->n_virtual() == n_ ? d->virtual_tokens()
                                              : at::zeros({n_, tokens.size(2)}, tokens.options()));
  }
  return prepend_rows(at::stack(table).index_select(0, rows_.to(tokens.device(), at::kLong)),
                      tokens);
}

at::Tensor mixed_text_logits(models::llama::LlamaModel& model, const at::Tensor& ids,
                             const VirtualTokenDeltas& deltas, const at::Tensor& rows) {
  const std::vector<int64_t> r = checked_rows(deltas, rows);
  if (static_cast<int64_t>(r.size()) != ids.size(0)) {
    throw Error("mixed prompts: " + std::to_string(r.size()) + " rows given for a batch of " +
                std::to_string(ids.size(0)));
  }
  std::map<int64_t, std::vector<int64_t>> groups;  // count -> batch rows
  for (size_t b = 0; b < r.size(); ++b) groups[count_of(deltas, r[b])].push_back(b);
  at::Tensor out;
  const at::Tensor all_rows = rows.to(at::kCPU, at::kLong);
  for (const auto& [n, members] : groups) {
    const at::Tensor index = at::tensor(members, at::kLong);
    MixedPromptSites sites(deltas, all_rows.index_select(0, index));
    const at::Tensor logits = model->logits(ids.index_select(0, index.to(ids.device())), &sites)
                                  .narrow(1, n, ids.size(1));
    if (!out.defined())
      out = at::empty({ids.size(0), ids.size(1), logits.size(2)}, logits.options());
    out.index_copy_(0, index.to(out.device()), logits);
  }
  return out;
}

}  // namespace vlprompt::prompts::lm
