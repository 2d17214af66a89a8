#include "src/core/config.h"

#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/core/file_io.h"
#include "tests/test_support.h"

namespace vlprompt::core {
namespace {

struct ToyOptim {
  double lr = 0.1;
  int64_t epochs = 5;
  std::string name = "sgd";
  double momentum = 0.9;
  std::vector<std::string> tags;

  template <class V>
  void visit(V& v) {
    v("lr", lr, "base learning rate");
    v("epochs", epochs, "training epochs");
    v("name", name, "optimizer name");
    v("momentum", momentum, "sgd momentum");
    v("tags", tags, "free labels");
  }
};

std::string write_yaml(const std::string& name, const std::string& text) {
  const std::string path = ::vlprompt::testing::scratch_dir("config") + "/" + name;
  atomic_write(path, text);
  return path;
}

ConfigSources all_layers() {
  ConfigSources s;
  add_defaults<ToyOptim>(s.defaults, "optim");
  s.dataset_yaml = write_yaml("dataset.yaml", "optim: {lr: 0.2, epochs: 6, name: d}\n");
  s.method_yamls = {write_yaml("method.yaml", "optim:\n  lr: 0.3\n  epochs: 7\n")};
  s.config_file = write_yaml("run.yaml", "optim:\n  lr: 0.4\n");
  s.overrides = {"optim.lr=0.5", "optim.tags=[a, b]"};
  return s;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, EachLayerOverridesTheOneBefore) {
  ConfigSources s = all_layers();
  ResolvedConfig c = resolve_config(s);
  ToyOptim o = read_config<ToyOptim>(c, "optim");
  EXPECT_EQ(o.lr, 0.5);
  EXPECT_EQ(o.epochs, 7);
  EXPECT_EQ(o.name, "d");
  EXPECT_EQ(o.momentum, 0.9);
  EXPECT_EQ(o.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.origin_of("optim.lr"), kCommandLineSource);
  EXPECT_EQ(c.origin_of("optim.epochs"), s.method_yamls[0]);
  EXPECT_EQ(c.origin_of("optim.name"), s.dataset_yaml);
  EXPECT_EQ(c.origin.at("optim.momentum"), kDefaultsSource);
  EXPECT_EQ(c.tree["optim"]["momentum"].as<double>(), 0.9);  // the defaults layer is in the tree

  // Peel the layers off from the top: each time the next one down shows through.
  s.overrides.clear();
  EXPECT_EQ(read_config<ToyOptim>(resolve_config(s), "optim").lr, 0.4);
  s.config_file.clear();
  EXPECT_EQ(read_config<ToyOptim>(resolve_config(s), "optim").lr, 0.3);
  s.method_yamls.clear();
  o = read_config<ToyOptim>(resolve_config(s), "optim");
  EXPECT_EQ(o.lr, 0.2);
  EXPECT_EQ(o.epochs, 6);
  s.dataset_yaml.clear();
  EXPECT_EQ(read_config<ToyOptim>(resolve_config(s), "optim").lr, 0.1);
}

TEST(Config, UnknownKeyNamesTheFileTheKeyAndTheNearestKey) {
  ConfigSources s = all_layers();
  s.method_yamls = {write_yaml("typo.yaml", "optim:\n  lrr: 0.3\n")};
  const ResolvedConfig c = resolve_config(s);
  EXPECT_THROW(read_config<ToyOptim>(c, "optim"), FileError);
  EXPECT_EQ(message_of([&] { read_config<ToyOptim>(c, "optim"); }),
            s.method_yamls[0] + ": unknown key 'optim.lrr' (did you mean 'optim.lr'?)");

  s = all_layers();
  s.overrides = {"optim.momentm=0.5"};
  EXPECT_EQ(message_of([&] { read_config<ToyOptim>(resolve_config(s), "optim"); }),
            "command line: unknown key 'optim.momentm' (did you mean 'optim.momentum'?)");
}

TEST(Config, BadValuesAndBadInputAreNamed) {
  ConfigSources s = all_layers();
  s.overrides = {"optim.epochs=many"};
  EXPECT_EQ(message_of([&] { read_config<ToyOptim>(resolve_config(s), "optim"); }),
            "command line: key 'optim.epochs' has 'many'; expected an integer");
  s.overrides = {"optim.lr"};
  EXPECT_NE(message_of([&] { resolve_config(s); }).find("'optim.lr' is not key=value"),
            std::string::npos);
  s.overrides = {"optim..lr=1"};
  EXPECT_NE(message_of([&] { resolve_config(s); }).find("empty part"), std::string::npos);
  s.overrides.clear();
  s.config_file = write_yaml("broken.yaml", "optim:\n  lr: [1,\n");
  const std::string m = message_of([&] { resolve_config(s); });
  EXPECT_EQ(m.rfind(s.config_file + ": invalid YAML at line", 0), 0u) << m;
  s.config_file = write_yaml("list.yaml", "- 1\n- 2\n");
  EXPECT_NE(message_of([&] { resolve_config(s); }).find("list.yaml: expected a map"),
            std::string::npos);
  s.config_file = ::vlprompt::testing::scratch_dir("config") + "/missing.yaml";
  EXPECT_THROW(resolve_config(s), FileError);
}

TEST(Config, SectionsChoicesAndEmptySections) {
  ConfigSources s = all_layers();
  s.overrides = {"optimm.lr=1"};
  const ResolvedConfig c = resolve_config(s);
  EXPECT_EQ(message_of([&] {
              check_sections(c, {"optim", "data"});
            }),
            "command line: unknown key 'optimm' (did you mean 'optim'?)");
  EXPECT_EQ(message_of([&] {
              check_choice(c, "optim.name", "sgdd", {"sgd", "adamw"});
            }),
            s.dataset_yaml + ": key 'optim.name' = 'sgdd' must be one of sgd, adamw (did you " +
                "mean 'sgd'?)");
  // `optim:` with every line commented out changes nothing.
  s.overrides.clear();
  s.config_file = write_yaml("empty_section.yaml", "optim:\n  # lr: 1\n");
  EXPECT_EQ(read_config<ToyOptim>(resolve_config(s), "optim").lr, 0.3);
}

TEST(Config, DumpReadsBackToTheSameValues) {
  const ResolvedConfig c = resolve_config(all_layers());
  const std::string text = dump_config(c);
  EXPECT_NE(text.find("lr: 0.5"), std::string::npos) << text;
  ConfigSources again;
  again.config_file = write_yaml("dumped.yaml", text);
  const ToyOptim a = read_config<ToyOptim>(c, "optim");
  const ToyOptim b = read_config<ToyOptim>(resolve_config(again), "optim");
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.epochs, b.epochs);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.momentum, b.momentum);
  EXPECT_EQ(a.tags, b.tags);
}

TEST(Config, DefaultsAreShortestExactTextAndDescribed) {
  YAML::Node defaults;
  add_defaults<ToyOptim>(defaults, "train.optim");
  EXPECT_EQ(defaults["train"]["optim"]["momentum"].as<std::string>(), "0.9");
  const std::vector<ConfigField> fields = describe_config<ToyOptim>();
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[1].key, "epochs");
  EXPECT_EQ(fields[1].default_value, "5");
  EXPECT_EQ(fields[1].help, "training epochs");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(closest_key("bach_size", {"max_epoch", "batch_size"}), "batch_size");
}

// Regressions: each of these merged (or recursed for ever) without a word.
std::string config_error(const std::string& name, const std::string& text) {
  ConfigSources s;
  add_defaults<ToyOptim>(s.defaults, "optim");
  s.config_file = write_yaml(name, text);
  return ::vlprompt::testing::error_of([&] { resolve_config(s); });
}

TEST(Config, SelfReferencingAliasIsAnErrorNotEndlessRecursion) {
  const std::string msg = config_error("alias.yaml", "optim: &a {lr: 1, x: *a}\n");
  EXPECT_NE(msg.find("alias.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("optim.x.x"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nests deeper than"), std::string::npos) << msg;
  // Aliases that multiply (each list repeats the one before) are bounded too.
  std::string laughs = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " +
              p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p +
              "]\n";
  }
  const std::string many = config_error("laughs.yaml", laughs);
  EXPECT_NE(many.find("laughs.yaml"), std::string::npos) << many;
  EXPECT_NE(many.find("more than"), std::string::npos) << many;
}

TEST(Config, DuplicateKeysAreRefusedNamingTheKey) {
  const std::string msg = config_error("dup.yaml", "optim:\n  lr: 1\n  lr: 2\n");
  EXPECT_NE(msg.find("dup.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'optim.lr' is given twice"), std::string::npos) << msg;
  const std::string top = config_error("dup_top.yaml", "optim: {lr: 1}\noptim: {lr: 2}\n");
  EXPECT_NE(top.find("'optim' is given twice"), std::string::npos) << top;
}

TEST(Config, SectionsGivenAsValuesAndFoldersAreRefused) {
  for (const std::string& text : {"optim: [1, 2]\n", "optim: 5\n", "optim: null\n", "optim: ~\n"}) {
    const std::string msg = config_error("section.yaml", text);
    EXPECT_NE(msg.find("section.yaml"), std::string::npos) << text << msg;
    EXPECT_NE(msg.find("'optim'"), std::string::npos) << text << msg;
    EXPECT_NE(msg.find("section"), std::string::npos) << text << msg;
  }
  ConfigSources s;
  add_defaults<ToyOptim>(s.defaults, "optim");
  s.config_file = write_yaml("empty_section.yaml", "optim:   # all commented out\n");
  EXPECT_EQ(read_config<ToyOptim>(resolve_config(s), "optim").lr, 0.1);  // no change
  s.config_file = "";
  s.overrides = {"optim=5"};
  const std::string override_msg = ::vlprompt::testing::error_of([&] { resolve_config(s); });
  EXPECT_NE(override_msg.find("command line"), std::string::npos) << override_msg;
  EXPECT_NE(override_msg.find("'optim' must be a section"), std::string::npos) << override_msg;
  s.overrides = {};
  s.config_file = ::vlprompt::testing::scratch_dir("config_folder");
  const std::string folder = ::vlprompt::testing::error_of([&] { resolve_config(s); });
  EXPECT_NE(folder.find(s.config_file), std::string::npos) << folder;
  EXPECT_NE(folder.find("is a folder; expected a regular file"), std::string::npos) << folder;
}

}  // namespace
}  // namespace vlprompt::core
