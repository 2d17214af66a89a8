#include "src/nn/row_packing.h"

#include <string>

#include "src/core/error.h"

namespace vlprompt::nn {

RowPacking::RowPacking(const at::Tensor& lengths, int64_t length)
    : batch_(lengths.size(0)), length_(length) {
  const auto index = at::TensorOptions(lengths.device()).dtype(at::kLong);
  const at::Tensor len = lengths.to(index);
  const at::Tensor real = at::arange(length, index).unsqueeze(0).lt(len.unsqueeze(1)).reshape(-1);
  packed_ = real.nonzero().squeeze(1);  // syncs: T is known from here on
  tokens_ = packed_.size(0);
  const at::Tensor min_max = at::stack({len.min(), len.max()}).cpu();
  if (min_max[0].item<int64_t>() < 1 || min_max[1].item<int64_t>() > length) {
    throw Error("row packing: row lengths " + std::to_string(min_max[0].item<int64_t>()) + ".." +
                std::to_string(min_max[1].item<int64_t>()) + " outside 1.." +
                std::to_string(length));
  }
  padded_ = at::where(real, real.to(at::kLong).cumsum(0) - 1, at::full({}, tokens_, index));
  last_ = len.cumsum(0) - 1;
}

at::Tensor RowPacking::pack(const at::Tensor& padded) const {
  const int64_t width = padded.size(-1);
  return padded.reshape({batch_ * length_, width}).index_select(0, packed_).unsqueeze(0);
}

at::Tensor RowPacking::unpack(const at::Tensor& packed) const {
  const int64_t width = packed.size(-1);
  const at::Tensor rows = at::cat({packed.reshape({tokens_, width}), packed.new_zeros({1, width})});
  return rows.index_select(0, padded_).view({batch_, length_, width});
}

}  // namespace vlprompt::nn
