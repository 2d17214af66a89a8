// LibTorch 2's fused-attention branch (src/nn/fused_sdpa.h) compiled against this build: with
// LibTorch < 2, at::scaled_dot_product_attention is declared here as LibTorch 2.1+ declares it
// (ATen/ops/scaled_dot_product_attention.h), so a wrong argument list or type fails this build
// instead of the first CUDA build. Compile-only: the call is never emitted (unevaluated operand).
#include <gtest/gtest.h>
#include <torch/version.h>

#include <type_traits>

#if TORCH_VERSION_MAJOR < 2
#include <ATen/ATen.h>
namespace at {
at::Tensor scaled_dot_product_attention(const at::Tensor& query, const at::Tensor& key,
                                        const at::Tensor& value,
                                        const c10::optional<at::Tensor>& attn_mask = {},
                                        double dropout_p = 0.0, bool is_causal = false,
                                        c10::optional<double> scale = c10::nullopt);
}  // namespace at
#endif

#include "src/nn/fused_sdpa.h"

namespace vlprompt::nn {
namespace {

TEST(FusedSdpaBranch, CompilesAgainstLibTorch2sDeclaration) {
  using Result =
      decltype(torch2::fused_sdpa(std::declval<at::Tensor>(), std::declval<at::Tensor>(),
                                  std::declval<at::Tensor>(), std::declval<at::Tensor>(), true));
  EXPECT_TRUE((std::is_same_v<Result, at::Tensor>));
}

}  // namespace
}  // namespace vlprompt::nn
