#include "serve/decode_batch.h"

#include <algorithm>

#include "src/core/error.h"

namespace vlprompt::serve {
namespace {

// t [N, H, T, d] with zero columns appended up to `columns`.
at::Tensor pad_columns(const at::Tensor& t, int64_t columns) {
  const int64_t extra = columns - t.size(2);
  if (extra <= 0) return t;
  auto sizes = t.sizes().vec();
  sizes[2] = extra;
  return at::cat({t, at::zeros(sizes, t.options())}, 2);
}

}  // namespace

void DecodeBatch::add(const models::llama::LlamaCache& cache, const std::vector<int64_t>& lengths) {
  const int64_t rows = static_cast<int64_t>(lengths.size());
  if (cache.empty() || cache.key[0].size(0) != rows)
    throw Error("DecodeBatch::add: a cache of " +
                std::to_string(cache.empty() ? 0 : cache.key[0].size(0)) + " rows for " +
                std::to_string(rows) + " lengths");
  if (!positions_.empty() && cache.key.size() != cache_.key.size())
    throw Error("DecodeBatch::add: a cache of " + std::to_string(cache.key.size()) +
                " layers joins a batch of " + std::to_string(cache_.key.size()));
  const int64_t length = cache.length();
  for (int64_t n : lengths)
    if (n < 1 || n > length)
      throw Error("DecodeBatch::add: a row of length " + std::to_string(n) + " in a cache of " +
                  std::to_string(length) + " columns");
  const auto bool_options = at::TensorOptions(cache.key[0].device()).dtype(at::kBool);
  const int64_t columns = std::max(length, this->columns());
  const at::Tensor lengths_t = at::tensor(lengths, at::kLong).to(cache.key[0].device());
  const at::Tensor joining =
      at::arange(columns, lengths_t.options()).unsqueeze(0).lt(lengths_t.unsqueeze(1));
  if (positions_.empty()) {
    cache_ = cache;
    visible_ = joining.narrow(1, 0, length).clone();
  } else {
    for (size_t l = 0; l < cache_.key.size(); ++l) {
      cache_.key[l] =
          at::cat({pad_columns(cache_.key[l], columns), pad_columns(cache.key[l], columns)});
      cache_.value[l] =
          at::cat({pad_columns(cache_.value[l], columns), pad_columns(cache.value[l], columns)});
    }
    visible_ = at::cat(
        {at::cat({visible_, at::zeros({size(), columns - visible_.size(1)}, bool_options)}, 1),
         joining});
  }
  positions_.insert(positions_.end(), lengths.begin(), lengths.end());
  compact();
}

void DecodeBatch::keep(const std::vector<int64_t>& rows) {
  if (static_cast<int64_t>(rows.size()) == size()) return;
  std::vector<int64_t> positions;
  for (int64_t r : rows) {
    if (r < 0 || r >= size()) throw Error("DecodeBatch::keep: no row " + std::to_string(r));
    positions.push_back(positions_[r]);
  }
  positions_ = std::move(positions);
  if (rows.empty()) {
    cache_ = {};
    visible_ = at::Tensor();
    return;
  }
  const at::Tensor index = at::tensor(rows, at::kLong).to(visible_.device());
  visible_ = visible_.index_select(0, index);
  for (size_t l = 0; l < cache_.key.size(); ++l) {
    cache_.key[l] = cache_.key[l].index_select(0, index);
    cache_.value[l] = cache_.value[l].index_select(0, index);
  }
  compact();
}

void DecodeBatch::compact() {
  const at::Tensor counts = visible_.sum(1);
  const int64_t longest = counts.max().item<int64_t>();
  const int64_t columns = this->columns();
  if (columns <= longest + std::max<int64_t>(16, longest / 2)) return;
  // A stable sort puts each row's visible columns first, in their order.
  // (optional<bool> spelled out: a plain `true` binds to sort(dim, descending).)
  const at::Tensor order = std::get<1>(visible_.logical_not().to(at::kInt).sort(
                                           c10::optional<bool>(true), /*dim=*/1, false))
                               .narrow(1, 0, longest);
  for (size_t l = 0; l < cache_.key.size(); ++l) {
    for (at::Tensor* t : {&cache_.key[l], &cache_.value[l]}) {
      const at::Tensor index =
          order.view({size(), 1, longest, 1}).expand({size(), t->size(1), longest, t->size(3)});
      *t = t->gather(2, index);
    }
  }
  visible_ = at::arange(longest, counts.options()).unsqueeze(0).lt(counts.unsqueeze(1));
  ++compactions_;
}

at::Tensor DecodeBatch::step(models::llama::LlamaModel& model, const std::vector<int64_t>& ids,
                             nn::DeltaSites* sites) {
  if (static_cast<int64_t>(ids.size()) != size())
    throw Error("DecodeBatch::step: " + std::to_string(ids.size()) + " ids for " +
                std::to_string(size()) + " rows");
  const at::Device device = visible_.device();
  const at::Tensor new_ids = at::tensor(ids, at::kLong).view({size(), 1}).to(device);
  const at::Tensor positions = at::tensor(positions_, at::kLong).to(device);
  at::Tensor logits = model->decode_step(new_ids, cache_, visible_, positions, sites);
  visible_ = at::cat({visible_, at::ones({size(), 1}, visible_.options())}, 1);
  for (int64_t& p : positions_) ++p;
  return logits;
}

}  // namespace vlprompt::serve
