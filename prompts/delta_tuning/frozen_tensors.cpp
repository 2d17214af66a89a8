#include "prompts/delta_tuning/frozen_tensors.h"

namespace vlprompt::prompts::delta_tuning {

std::vector<FrozenTower> clip_frozen(const models::Clip& clip,
                                     const std::vector<TowerLayout>& layouts) {
  const core::TensorMap w = clip->weights();
  std::vector<FrozenTower> out;
  for (const TowerLayout& layout : layouts) {
    const bool image = layout.tower == delta::Tower::kImage;
    const std::string prefix = image ? "visual." : "";
    FrozenTower t;
    const int64_t width = layout.width;
    for (int64_t l = 0; l < layout.layers; ++l) {
      const std::string b = prefix + "transformer.resblocks." + std::to_string(l) + ".";
      const at::Tensor in_w = w.at(b + "attn.in_proj_weight"), in_b = w.at(b + "attn.in_proj_bias");
      const nn::LinearSite qkv[] = {nn::LinearSite::kQ, nn::LinearSite::kK, nn::LinearSite::kV};
      for (int64_t i = 0; i < 3; ++i) {
        t.linear[{l, qkv[i]}] = {in_w.narrow(0, i * width, width),
                                 in_b.narrow(0, i * width, width)};
      }
      for (const auto& [site, name] :
           std::map<nn::LinearSite, std::string>{{nn::LinearSite::kOut, "attn.out_proj"},
                                                 {nn::LinearSite::kUp, "mlp.c_fc"},
                                                 {nn::LinearSite::kDown, "mlp.c_proj"}}) {
        t.linear[{l, site}] = {w.at(b + name + ".weight"), w.at(b + name + ".bias")};
      }
      t.norm[{l, nn::NormSite::kAttention}] = {w.at(b + "ln_1.weight"), w.at(b + "ln_1.bias")};
      t.norm[{l, nn::NormSite::kMlp}] = {w.at(b + "ln_2.weight"), w.at(b + "ln_2.bias")};
    }
    if (image) {
      t.norm[{-1, nn::NormSite::kInput}] = {w.at("visual.ln_pre.weight"),
                                            w.at("visual.ln_pre.bias")};
      t.norm[{-1, nn::NormSite::kFinal}] = {w.at("visual.ln_post.weight"),
                                            w.at("visual.ln_post.bias")};
      for (const char* name : {"visual.conv1.weight", "visual.class_embedding",
                               "visual.positional_embedding", "visual.proj"}) {
        t.edges[name] = w.at(name);
      }
    } else {
      t.norm[{-1, nn::NormSite::kFinal}] = {w.at("ln_final.weight"), w.at("ln_final.bias")};
      for (const char* name :
           {"token_embedding.weight", "positional_embedding", "text_projection"}) {
        t.edges[name] = w.at(name);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<FrozenTower> llama_frozen(const models::llama::LlamaModel& model) {
  FrozenTower t;
  const auto& layers = model->model->layer_list;
  for (int64_t l = 0; l < static_cast<int64_t>(layers.size()); ++l) {
    const auto& attn = layers[l]->self_attn;
    const auto& mlp = layers[l]->mlp;
    t.linear[{l, nn::LinearSite::kQ}] = {attn->q_proj->weight, at::Tensor()};
    t.linear[{l, nn::LinearSite::kK}] = {attn->k_proj->weight, at::Tensor()};
    t.linear[{l, nn::LinearSite::kV}] = {attn->v_proj->weight, at::Tensor()};
    t.linear[{l, nn::LinearSite::kOut}] = {attn->o_proj->weight, at::Tensor()};
    t.linear[{l, nn::LinearSite::kGate}] = {mlp->gate_proj->weight, at::Tensor()};
    t.linear[{l, nn::LinearSite::kUp}] = {mlp->up_proj->weight, at::Tensor()};
    t.linear[{l, nn::LinearSite::kDown}] = {mlp->down_proj->weight, at::Tensor()};
    t.norm[{l, nn::NormSite::kAttention}] = {layers[l]->input_layernorm->weight, at::Tensor()};
    t.norm[{l, nn::NormSite::kMlp}] = {layers[l]->post_attention_layernorm->weight, at::Tensor()};
  }
  t.norm[{-1, nn::NormSite::kFinal}] = {model->model->norm->weight, at::Tensor()};
  t.edges["model.embed_tokens.weight"] = model->model->embed_tokens->weight;
  if (model->lm_head) t.edges["lm_head.weight"] = model->lm_head->weight;
  return {t};
}

}  // namespace vlprompt::prompts::delta_tuning
