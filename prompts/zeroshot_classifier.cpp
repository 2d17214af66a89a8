#include "prompts/zeroshot_classifier.h"

#include "prompts/templates.h"
#include "src/core/error.h"

namespace vlprompt::prompts {

at::Tensor zeroshot_weights(models::Clip& model, const text::ClipTokenizer& tokenizer,
                            const std::vector<std::string>& classnames,
                            const std::vector<std::string>& templates, int64_t batch_size) {
  if (classnames.empty() || templates.empty())
    throw Error("zero-shot needs class names and templates");
  // Template-major order: rows t*C .. t*C+C-1 are template t for every class.
  std::vector<std::string> texts;
  texts.reserve(classnames.size() * templates.size());
  for (const auto& t : templates) {
    for (const auto& c : classnames) texts.push_back(fill_template(t, c));
  }
  const int64_t ctx = model->config().text.context_length;
  const at::Tensor ids = tokenizer.tokenize(texts, ctx);
  // Sorting by length groups short prompts so each batch truncates as much as it can.
  const at::Tensor lengths = ids.argmax(1);
  const at::Tensor order = lengths.argsort();
  std::vector<at::Tensor> parts;
  at::NoGradGuard no_grad;
  for (int64_t s = 0; s < ids.size(0); s += batch_size) {
    const at::Tensor idx = order.slice(0, s, std::min<int64_t>(s + batch_size, ids.size(0)));
    parts.push_back(model->encode_text(ids.index_select(0, idx).to(models::weights_device(model))));
  }
  at::Tensor feats = at::empty({ids.size(0), parts[0].size(1)}, parts[0].options());
  feats.index_copy_(0, order.to(feats.device()), at::cat(parts));
  feats = feats / feats.norm(2, -1, true);
  const int64_t n_t = static_cast<int64_t>(templates.size());
  const int64_t n_c = static_cast<int64_t>(classnames.size());
  at::Tensor w = feats.view({n_t, n_c, -1}).mean(0);
  return w / w.norm(2, -1, true);
}

}  // namespace vlprompt::prompts
