// A method's keys are written once, in its Options struct's visit(). These tests hold the other
// places to it: the method's YAML in prompts/configs must list exactly those keys with the same
// defaults, and every key must survive the delta file (hyper-parameters -> rebuilt delta) with
// the value it was set to, so a key a delta forgets to write fails here instead of being lost.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <set>

#include "prompts/registry.h"
#include "prompts/run_config.h"
#include "src/core/config.h"
#include "tests/lm/lm_test_support.h"
#include "tests/prompts/tiny_clip.h"

namespace vlprompt::prompts {
namespace {

// Keys a delta rewrites from what it was built with, so the file holds the effective value
// rather than the requested one: the context length follows ctx_init's token count (CoOp,
// CoCoOp, MaPLe, IVLP start from words by default), prompt depths are capped at the towers'
// layers (the tiny model has 2), and DAPL's empty domain list is filled from the run's domains.
const std::set<std::string> kNormalised = {"n_ctx",      "n_ctx_text",   "depth",
                                           "depth_text", "depth_vision", "domains"};

bool as_number(const std::string& text, double* out) {
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

// Equal as YAML values: 1.0 and 1, "" and '', true and true.
bool same_value(const std::string& a, const std::string& b) {
  double x = 0, y = 0;
  if (as_number(a, &x) && as_number(b, &y)) return x == y;
  return a == b;
}

std::string scalar(const std::string& yaml_text) { return YAML::Load(yaml_text).as<std::string>(); }

// A value other than the default, of the same type, that every method accepts.
std::string changed(const core::ConfigField& field) {
  const std::string value = scalar(field.default_value);
  if (field.key == "seed") return "12345";
  if (field.type == core::config_detail::type_name<bool>())
    return value == "true" ? "false" : "true";
  double number = 0;
  if (field.type == core::config_detail::type_name<int64_t>() && as_number(value, &number))
    return std::to_string(static_cast<int64_t>(number) + 1);
  if (field.type == core::config_detail::type_name<double>() && as_number(value, &number)) {
    char buffer[32];
    const auto r = std::to_chars(buffer, buffer + sizeof(buffer), number + 0.125);
    return std::string(buffer, r.ptr);
  }
  return value;  // a string: most have a closed set of choices
}

MethodContext clip_context() {
  MethodContext c;
  c.clip = testing::tiny_clip();
  c.tokenizer = testing::clip_tokenizer();
  c.classnames = {"cat", "dog", "bird"};
  c.domains = {"photo", "sketch"};
  c.seed = 3;
  return c;
}

std::shared_ptr<delta::Delta> build(const MethodEntry& entry, const core::ResolvedConfig& config) {
  static const MethodContext clip = clip_context();
  static const LmMethodContext lm = lm_test_support::context(lm_test_support::tiny_llama(), 3);
  return entry.is_lm_delta() ? make_lm_delta(entry.name, config, lm)
                             : make_delta(entry.name, config, clip);
}

TEST(MethodOptions, EveryMethodYamlListsExactlyItsKeysWithTheirDefaults) {
  int checked = 0;
  for (const std::string& name : method_names()) {
    const MethodEntry& entry = find_method(name);
    const std::vector<core::ConfigField> fields = entry.options();
    const std::string path = method_yaml(name);
    if (!entry.is_delta() && !entry.is_lm_delta()) continue;   // a fitted baseline has no YAML
    if (path.empty() && name.rfind("toy_", 0) == 0) continue;  // registered by a test
    ASSERT_FALSE(path.empty()) << name << " has no prompts/configs/" << name << ".yaml";
    const YAML::Node section = YAML::LoadFile(path)[name];
    ASSERT_TRUE(section.IsMap()) << path << " has no `" << name << ":` section";
    std::set<std::string> yaml_keys;
    for (const auto& kv : section) yaml_keys.insert(kv.first.as<std::string>());
    std::set<std::string> option_keys;
    for (const auto& f : fields) {
      // The seed defaults to the run's --seed, so the YAML leaves it out.
      if (f.key == "seed") continue;
      option_keys.insert(f.key);
      if (!section[f.key].IsDefined()) continue;  // reported by the key comparison below
      EXPECT_TRUE(same_value(section[f.key].as<std::string>(), scalar(f.default_value)))
          << path << ": " << name << "." << f.key << " is " << section[f.key].as<std::string>()
          << " but the Options default is " << f.default_value;
    }
    EXPECT_EQ(yaml_keys, option_keys) << path;
    ++checked;
  }
  EXPECT_GE(checked, 9);  // the six CLIP deltas and the three LM deltas
}

TEST(MethodOptions, EveryKeyRoundTripsThroughTheDeltaFileWithItsValue) {
  for (const std::string& name : method_names()) {
    const MethodEntry& entry = find_method(name);
    if (!entry.is_delta() && !entry.is_lm_delta()) continue;
    std::map<std::string, std::string> set;
    for (const auto& f : entry.options()) set[name + "." + f.key] = changed(f);
    // BitFit's two switches cannot both be off (it would tune nothing): flip one.
    if (name == "bitfit") set["bitfit.norms"] = "true";
    const auto delta = build(entry, core::config_from_strings(set, "test"));
    const std::map<std::string, std::string> written = delta->hyperparameters();
    for (const auto& f : entry.options()) {
      ASSERT_TRUE(written.count(f.key)) << name << " does not write " << f.key;
      if (kNormalised.count(f.key)) continue;
      EXPECT_TRUE(same_value(written.at(f.key), set.at(name + "." + f.key)))
          << name << "." << f.key << " was set to " << set.at(name + "." + f.key)
          << " but the delta file says " << written.at(f.key);
    }
    // What a delta file's reader rebuilds from those strings writes them back unchanged.
    const auto rebuilt = build(entry, file_config({name}, written, "delta file"));
    EXPECT_EQ(rebuilt->hyperparameters(), written) << name;
  }
}

TEST(MethodOptions, DoublesAreWrittenExactly) {
  // Six significant digits (what c10::str printed before) would lose this value.
  std::map<std::string, std::string> set{{"coop.init_std", "0.0123456789012345"}};
  const auto delta = build(find_method("coop"), core::config_from_strings(set, "test"));
  const std::string written = delta->hyperparameters().at("init_std");
  double back = 0;
  ASSERT_TRUE(as_number(written, &back)) << written;
  EXPECT_EQ(back, 0.0123456789012345);
}

}  // namespace
}  // namespace vlprompt::prompts
