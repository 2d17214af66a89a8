// One registration for a Delta Tuning method that trains on either model kind: the CLIP factory
// lays the delta over the towers its `towers` key names, the LM factory over the LLaMA decoder.
//   VLPROMPT_MODULE_DELTA(lora, "description", Lora, LoraOptions);
// (in the method's .cpp, where Lora's constructor takes (Options, std::vector<TowerLayout>)).
#pragma once

#include "prompts/delta_tuning/site_layout.h"
#include "prompts/registry.h"

namespace vlprompt::prompts::delta_tuning {

template <class Holder, class Options>
std::shared_ptr<delta::Delta> make_on_clip(const core::ResolvedConfig& config,
                                           const std::string& section,
                                           const MethodContext& context) {
  Options options = read_delta_options<Options>(config, section, context.seed);
  return Holder(options, clip_layouts(context.clip, options.towers(), section)).ptr();
}

template <class Holder, class Options>
std::shared_ptr<delta::Delta> make_on_llama(const core::ResolvedConfig& config,
                                            const std::string& section,
                                            const LmMethodContext& context) {
  Options options = read_delta_options<Options>(config, section, context.seed);
  return Holder(options,
                llama_layouts(context.model->config(), context.model->head_weight().device()))
      .ptr();
}

}  // namespace vlprompt::prompts::delta_tuning

#define VLPROMPT_MODULE_DELTA(name, description, Holder, Options)                                \
  static const ::vlprompt::prompts::MethodRegistrar vlprompt_method_##name(                      \
      ::vlprompt::prompts::MethodEntry{                                                          \
          #name, description, &::vlprompt::prompts::delta_tuning::make_on_clip<Holder, Options>, \
          nullptr, &::vlprompt::prompts::delta_tuning::make_on_llama<Holder, Options>,           \
          &::vlprompt::core::describe_config<Options>})
