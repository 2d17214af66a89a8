// A batched prefill whose rows use different deltas: the token-level sites as well as the
// module-level ones (MixedRowSites). Row b's input tokens, layer tokens and key/value prefix are
// its member's, computed on its member's rows and put back in place, so each row equals its
// member's own pass. Every row must insert the same number of tokens and carry a prefix of the
// same length (the batch is one rectangle): rows that differ are an Error naming both members
// (callers group rows by token_shape() first).
#pragma once

#include "src/delta/mixed_row_sites.h"

namespace vlprompt::delta {

// What a delta's token-level sites add to a text pass: tokens inserted before the text, and the
// length of its key/value prefix.
struct TokenShape {
  int64_t inserted = 0;
  int64_t prefix = 0;
  bool operator<(const TokenShape& o) const {
    return inserted != o.inserted ? inserted < o.inserted : prefix < o.prefix;
  }
  bool operator==(const TokenShape& o) const {
    return inserted == o.inserted && prefix == o.prefix;
  }
};
// null: none. The inserted count is the sites' inserted_tokens() (text towers), or, given
// `probe_width`, what input_tokens() adds to one token of that width (image towers, whose
// prompts are inserted after the class token and report none).
TokenShape token_shape(nn::DeltaSites* sites, int64_t probe_width = 0);

class MixedTokenSites : public MixedRowSites {
 public:
  MixedTokenSites(std::vector<nn::DeltaSites*> members, std::vector<std::string> names,
                  const std::vector<int64_t>& rows, at::Device device);

  at::Tensor input_tokens(const at::Tensor& tokens, const at::Tensor& token_ids) override;
  int64_t inserted_tokens() const override { return shape_.inserted; }
  at::Tensor layer_tokens(int64_t layer, const at::Tensor& x) override;
  std::optional<nn::KVPrefix> kv_prefix(int64_t layer, int64_t batch) override;

 private:
  struct Member {
    nn::DeltaSites* sites;
    at::Tensor rows;  // [n] int64 on the device
  };
  std::vector<Member> members_;  // those with rows and sites
  TokenShape shape_;
  int64_t batch_;
};

}  // namespace vlprompt::delta
