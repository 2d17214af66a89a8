#include "src/delta/mixed_token_sites.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::delta {

TokenShape token_shape(nn::DeltaSites* sites, int64_t probe_width) {
  TokenShape shape;
  if (!sites) return shape;
  shape.inserted = sites->inserted_tokens();
  if (probe_width > 0) {
    at::NoGradGuard no_grad;
    shape.inserted = sites->input_tokens(at::zeros({1, 1, probe_width}), at::Tensor()).size(1) - 1;
  }
  const std::optional<nn::KVPrefix> prefix = sites->kv_prefix(0, 1);
  if (prefix && prefix->key.defined()) shape.prefix = prefix->key.size(1);
  return shape;
}

MixedTokenSites::MixedTokenSites(std::vector<nn::DeltaSites*> members,
                                 std::vector<std::string> names, const std::vector<int64_t>& rows,
                                 at::Device device)
    : MixedRowSites(members, names, rows, device), batch_(static_cast<int64_t>(rows.size())) {
  std::vector<std::vector<int64_t>> member_rows(members.size());
  bool none = false;
  for (size_t b = 0; b < rows.size(); ++b) {
    if (rows[b] < 0)
      none = true;
    else
      member_rows[rows[b]].push_back(static_cast<int64_t>(b));
  }
  bool first = !none;
  std::string first_name = "no delta";
  for (size_t k = 0; k < members.size(); ++k) {
    if (member_rows[k].empty()) continue;
    const TokenShape shape = token_shape(members[k]);
    if (first) {
      shape_ = shape;
      first_name = names[k];
      first = false;
    } else if (!(shape == shape_)) {
      throw Error("a batched prefill holds '" + first_name + "' (" +
                  std::to_string(shape_.inserted) + " inserted tokens, prefix " +
                  std::to_string(shape_.prefix) + ") and '" + names[k] + "' (" +
                  std::to_string(shape.inserted) + ", " + std::to_string(shape.prefix) +
                  "): rows of one pass must agree");
    }
    if (members[k])
      members_.push_back({members[k], at::tensor(member_rows[k], at::kLong).to(device)});
  }
}

at::Tensor MixedTokenSites::input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) {
  std::vector<at::Tensor> outputs;
  int64_t length = -1, covered = 0;
  for (const Member& m : members_) {
    const at::Tensor ids = token_ids.defined() ? token_ids.index_select(0, m.rows) : token_ids;
    const at::Tensor rows_in = tokens.index_select(0, m.rows);
    outputs.push_back(m.sites->input_tokens(rows_in, ids));
    if (outputs.back().is_same(rows_in)) outputs.back() = at::Tensor();
    const int64_t n = outputs.back().defined() ? outputs.back().size(1) : tokens.size(1);
    if (length >= 0 && n != length)
      throw Error("a batched pass mixes input tokens of lengths " + std::to_string(length) +
                  " and " + std::to_string(n) + ": rows of one pass must agree");
    length = n;
    covered += m.rows.size(0);
  }
  if (length < 0 ||
      (length == tokens.size(1) && std::all_of(outputs.begin(), outputs.end(),
                                               [](const at::Tensor& t) { return !t.defined(); })))
    return tokens;
  if (length != tokens.size(1) && covered != batch_)
    throw Error("a batched pass mixes rows whose deltas insert tokens with rows that have none");
  auto sizes = tokens.sizes().vec();
  sizes[1] = length;
  at::Tensor out = length == tokens.size(1) ? tokens : at::zeros(sizes, tokens.options());
  for (size_t k = 0; k < members_.size(); ++k) {
    if (outputs[k].defined()) out = out.index_copy(0, members_[k].rows, outputs[k]);
  }
  return out;
}

at::Tensor MixedTokenSites::layer_tokens(int64_t layer, const at::Tensor& x) {
  at::Tensor out = x;
  for (const Member& m : members_) {
    const at::Tensor rows_in = x.index_select(0, m.rows);
    const at::Tensor rows_out = m.sites->layer_tokens(layer, rows_in);
    if (rows_out.is_same(rows_in)) continue;
    if (rows_out.sizes() != rows_in.sizes())
      throw Error("a batched prefill cannot mix layer tokens that change the length");
    out = out.index_copy(0, m.rows, rows_out);
  }
  return out;
}

std::optional<nn::KVPrefix> MixedTokenSites::kv_prefix(int64_t layer, int64_t batch) {
  if (shape_.prefix == 0) return std::nullopt;
  nn::KVPrefix out;
  for (const Member& m : members_) {
    const std::optional<nn::KVPrefix> p = m.sites->kv_prefix(layer, m.rows.size(0));
    if (!p) continue;
    if (!out.key.defined()) {
      out.key = at::zeros({batch, p->key.size(1), p->key.size(2)}, p->key.options());
      out.value = at::zeros({batch, p->value.size(1), p->value.size(2)}, p->value.options());
    }
    out.key = out.key.index_copy(0, m.rows, p->key);
    out.value = out.value.index_copy(0, m.rows, p->value);
  }
  if (!out.key.defined()) return std::nullopt;
  return out;
}

}  // namespace vlprompt::delta
