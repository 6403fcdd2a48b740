#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {
const std::filesystem::path examples_dir =
    std::filesystem::path(HPSWEEP_TEST_DATA_DIR) / ".." / ".." / "site-configs" / "examples";

// The message a bad config raises (and that it is a config error).
std::string error_of(const std::string& yaml) {
    try {
        (void)parse_experiment_config(yaml, "exp.yaml");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("no error for:\n" << yaml);
    return {};
}

const Hyperparameter& hp(const ExperimentConfig& c, const std::string& name) {
    for (const auto& h : c.hyperparameters) {
        if (h.name == name)
            return h;
    }
    FAIL("no hyperparameter " << name);
    throw std::logic_error("unreachable");
}
}  // namespace

TEST_CASE("a Determined experiment file loads unchanged", "[searcher][config]") {
    const auto c = load_experiment_config(examples_dir / "mnist-adaptive.yaml");
    CHECK(c.name == "mnist_pytorch_adaptive_search");
    CHECK(c.entrypoint == std::vector<std::string>{"python3", "train.py"});
    REQUIRE(c.hyperparameters.size() == 7);
    CHECK(c.hyperparameters[0].name == "global_batch_size");
    CHECK(c.hyperparameters[0].domain.kind == Domain::Kind::constant);
    CHECK(hp(c, "learning_rate").domain.kind == Domain::Kind::log_range);
    CHECK(hp(c, "learning_rate").domain.minval == -4.0);
    CHECK(hp(c, "n_filters1").domain.kind == Domain::Kind::int_range);
    CHECK(hp(c, "dropout2").domain.maxval == 0.8);
    CHECK(hp(c, "optimizer").domain.values.size() == 2);
    CHECK(c.searcher.strategy == Strategy::adaptive_asha);
    CHECK(c.searcher.metric == "validation_loss");
    CHECK(c.searcher.max_trials == 16);
    REQUIRE(c.searcher.max_length.has_value());
    CHECK(c.searcher.max_length->unit == "batches");
    CHECK(c.searcher.max_length->value == 937);
    CHECK(c.searcher.max_concurrent_trials == 4);
    CHECK(c.resources.slots_per_trial == 1);
    // Determined-only settings are named in warnings with their position.
    REQUIRE(c.warnings.size() == 3);
    CHECK_THAT(c.warnings[0], Catch::Contains("'data'"));
    CHECK_THAT(c.warnings[1], Catch::Contains("'max_restarts'"));
    // records_per_epoch sizes an epoch only when searcher.step_unit asks for a conversion.
    CHECK_THAT(c.warnings[2],
               Catch::Contains("mnist-adaptive.yaml:36:20: warning: 'records_per_epoch' "
                               "converts lengths only when 'searcher.step_unit'"));
}

TEST_CASE("stop_once picks ASHA's form: true stops for good (the default), false pauses",
          "[searcher][config]") {
    const std::string asha =
        "entrypoint: x\nsearcher:\n  name: adaptive_asha\n  metric: loss\n  max_trials: 4\n"
        "  max_length: 9\n";
    CHECK(parse_experiment_config(asha, "exp.yaml").searcher.stop_once);
    const auto stop_once = parse_experiment_config(asha + "  stop_once: true\n", "exp.yaml");
    CHECK(stop_once.searcher.stop_once);
    CHECK(stop_once.warnings.empty());
    const auto promotion = parse_experiment_config(asha + "  stop_once: false\n", "exp.yaml");
    CHECK_FALSE(promotion.searcher.stop_once);
    CHECK(promotion.warnings.empty());
    // Written into the experiment directory and read back by the launcher.
    CHECK_FALSE(parse_experiment_config(to_yaml(promotion), "experiment.yaml").searcher.stop_once);
    CHECK(error_of(asha + "  stop_once: sometimes\n") ==
          "exp.yaml:7:14: 'searcher.stop_once' must be true or false, got 'sometimes'");
    // The promotion form hands a paused trial to another trial's task: only adaptive_asha
    // trials, one per task, do that.
    const std::string bohb =
        "entrypoint: x\nsearcher:\n  name: bohb\n  metric: loss\n  max_trials: 4\n"
        "  max_length: 9\n  stop_once: false\n";
    CHECK(error_of(bohb) ==
          "exp.yaml:7:14: stop_once: false (ASHA's promotion form) applies to "
          "the adaptive_asha searcher only, not bohb");
    CHECK_THAT(error_of(asha + "  stop_once: false\nresources:\n  trials_per_task: 2\n"),
               Catch::StartsWith("exp.yaml:7:14: stop_once: false (ASHA's promotion form) runs "
                                 "one trial per task"));
}

TEST_CASE("the shipped examples load", "[searcher][config]") {
    const auto grid = load_experiment_config(examples_dir / "grid-digits.yaml");
    CHECK(grid.searcher.strategy == Strategy::grid);
    CHECK(hp(grid, "lr").domain.values.size() == 3);
    CHECK(hp(grid, "hidden").domain.values.size() == 2);
    CHECK(hp(grid, "epochs").domain.values[0].text == "5");
    CHECK(grid.resources.max_concurrent == 4);
    CHECK(grid.resources.time == "10:00");
    const auto random = load_experiment_config(examples_dir / "random-typed.yaml");
    CHECK(random.searcher.seed == 42u);
    CHECK(random.entrypoint.size() == 2);
    CHECK(random.resources.mem == "2G");
    CHECK(random.resources.cpus_per_gpu == 1);
}

TEST_CASE("every hyperparameter form", "[searcher][config]") {
    const auto c = parse_experiment_config(R"Y(
entrypoint: python3 train.py --data "/data/my set"
hyperparameters:
  constant_int: 32
  constant_string: resnet18
  quoted_number: "8"
  list_expr: "[8, 16, 32]"
  yaml_list: [adam, sgd]
  range_expr: range(1, 10, 2)
  uniform_expr: "uniform(1e-5, 1e-2, 5)"
  loguniform_expr: 'loguniform(1e-5, 1e-1, 4)'
  typed_const: {type: const, val: 0.5}
  typed_int: {type: int, minval: 1, maxval: 4, count: 4}
  typed_double: {type: double, minval: 0.1, maxval: 0.9, count: 3}
  typed_log: {type: log, base: 2, minval: 1, maxval: 4, count: 4}
  typed_categorical: {type: categorical, vals: [1, two, 3.0]}
  optimizer:
    lr: 0.1
    momentum: {type: categorical, vals: [0.9, 0.99]}
)Y",
                                           "forms.yaml");
    CHECK(c.entrypoint ==
          std::vector<std::string>{"python3", "train.py", "--data", "/data/my set"});
    CHECK(c.name == "forms");  // defaults to the file's stem
    CHECK(hp(c, "constant_int").domain.values[0].typed.is_number_integer());
    CHECK(hp(c, "constant_string").domain.values[0].typed == "resnet18");
    CHECK(hp(c, "quoted_number").domain.values[0].typed.is_string());
    CHECK(hp(c, "list_expr").domain.grid_size() == 3u);
    CHECK(hp(c, "yaml_list").domain.values[1].text == "sgd");
    CHECK(hp(c, "range_expr").domain.grid_size() == 5u);
    CHECK(hp(c, "uniform_expr").domain.kind == Domain::Kind::sampled);
    CHECK(hp(c, "loguniform_expr").domain.log_scale);
    CHECK(hp(c, "typed_const").domain.values[0].typed.get<double>() == 0.5);
    CHECK(hp(c, "typed_int").domain.grid_size() == 4u);
    CHECK(hp(c, "typed_double").domain.grid_values(0)[1].typed.get<double>() == Approx(0.5));
    CHECK(hp(c, "typed_log").domain.grid_values(0)[3].typed.get<double>() == Approx(16.0));
    CHECK(hp(c, "typed_categorical").domain.values[1].typed == "two");
    CHECK(hp(c, "optimizer.lr").domain.values[0].text == "0.1");
    CHECK(hp(c, "optimizer.momentum").domain.grid_size() == 2u);
    CHECK(c.searcher.strategy == Strategy::grid);  // the default searcher
}

TEST_CASE("typos and wrong types point at file:line:col and name the key", "[searcher][config]") {
    struct Case {
        std::string yaml;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"entrypoint: x\nresources:\n  slot_per_trial: 2\n",
         "exp.yaml:3:3: unknown key 'resources.slot_per_trial' in resources (did you mean "
         "'slots_per_trial'?)"},
        {"entrypoint: x\nhyperparamters:\n  lr: 1\n",
         "exp.yaml:2:1: unknown key 'hyperparamters' (did you mean 'hyperparameters'?)"},
        {"entrypoint: x\nresources:\n  slots_per_trial: two\n",
         "exp.yaml:3:20: 'resources.slots_per_trial' must be an integer, got 'two'"},
        {"entrypoint: x\nresources:\n  nodes: 0\n",
         "exp.yaml:3:10: 'resources.nodes' must be at least 1, got 0"},
        {"entrypoint: x\nsearcher:\n  name: grdi\n",
         "exp.yaml:3:9: unknown searcher 'grdi' (expected single, grid, random, adaptive_asha, "
         "tpe, pbt or bohb) (did you mean 'grid'?)"},
        {"entrypoint: x\nsearcher:\n  name: grid\n  smaller_is_better: maybe\n",
         "exp.yaml:4:22: 'searcher.smaller_is_better' must be true or false, got 'maybe'"},
        {"entrypoint: x\nhyperparameters:\n  lr: \"uniform(1e-5, 1e-2\"\n",
         "exp.yaml:3:15: hyperparameter 'lr': missing ')' to close uniform("},
        {"entrypoint: x\nhyperparameters:\n  bs: \"[8, 16\"\n",
         "exp.yaml:3:8: hyperparameter 'bs': missing ']' to close the list opened here"},
        {"entrypoint: x\nhyperparameters:\n  lr: range(1, 10, 0)\n",
         "exp.yaml:3:20: hyperparameter 'lr': range step must not be zero"},
        {"entrypoint: x\nhyperparameters:\n  lr:\n    type: lgo\n    minval: 1\n",
         "exp.yaml:4:11: hyperparameter 'lr': unknown type 'lgo' (expected const, int, double, log "
         "or categorical) (did you mean 'log'?)"},
        {"entrypoint: x\nhyperparameters:\n  lr:\n    type: int\n    minval: 1\n    maxvl: 3\n",
         "exp.yaml:6:5: unknown key 'hyperparameters.lr.maxvl' in hyperparameters.lr (did you "
         "mean 'maxval'?)"},
        {"entrypoint: x\nhyperparameters:\n  lr:\n    type: int\n    minval: 1\n",
         "exp.yaml:4:5: hyperparameter 'lr' of type int needs 'maxval'"},
        {"entrypoint: x\nhyperparameters:\n  lr:\n    type: int\n    minval: 5\n    maxval: 1\n",
         "exp.yaml:6:13: hyperparameter 'lr': maxval (1) is below minval (5)"},
        {"entrypoint: x\nhyperparameters:\n  lr: {type: double, minval: 0, maxval: 1}\n",
         "exp.yaml:3:7: hyperparameter 'lr' is a continuous range: grid search needs 'count'"},
        {"entrypoint: x\nsearcher:\n  name: random\n",
         "exp.yaml:3:9: the random searcher needs max_trials"},
        {"entrypoint: x\nsearcher:\n  name: adaptive_asha\n  max_trials: 4\n  max_length: 10\n",
         "exp.yaml:3:9: adaptive_asha needs 'metric'"},
        {"entrypoint: x\nsearcher:\n  name: adaptive_asha\n  metric: m\n  max_trials: 4\n",
         "exp.yaml:3:9: adaptive_asha needs 'max_length'"},
        {"entrypoint: x\nsearcher:\n  name: adaptive_asha\n  divisor: 1\n",
         "exp.yaml:4:12: 'searcher.divisor' must be at least 2, got 1"},
        {"entrypoint: x\nsearcher:\n  mode: wild\n",
         "exp.yaml:3:9: 'searcher.mode' must be aggressive, standard or conservative, got 'wild'"},
        {"entrypoint: x\nsearcher:\n  max_length: {epochs: 1, batches: 2}\n",
         "exp.yaml:3:15: 'searcher.max_length' must be one of"},
        {"entrypoint: x\nsearcher:\n  max_length: {epoch: 3}\n",
         "exp.yaml:3:16: unknown key 'searcher.max_length.epoch' in searcher.max_length (did you "
         "mean 'epochs'?)"},
        {"entrypoint: x\nresources:\n  slots_per_trial: 3\n  nodes: 2\n",
         "exp.yaml:3:20: slots_per_trial (3) must be a multiple of nodes (2)"},
        {"entrypoint: x\nresources:\n  mem: lots\n", "exp.yaml:3:8: mem 'lots' is not a size"},
        {"entrypoint: x\nresources:\n  time: 1h\n", "exp.yaml:3:9: time '1h' is not a Slurm time"},
        {"entrypoint: x\nname: my experiment\n", "exp.yaml:2:7: experiment name 'my experiment'"},
        {"name: a\n", "exp.yaml:1:1: missing required key 'entrypoint'"},
        {"entrypoint: x\nname: a\nname: b\n", "exp.yaml:3:1: duplicate key 'name'"},
        {"entrypoint: x\nresources: {nodes: 1\n", "exp.yaml:3:1: invalid YAML"},
        {"entrypoint: [x, [y]]\n", "exp.yaml:1:17: entrypoint words must be strings"},
        {"- a\n- b\n", "exp.yaml:1:1: the experiment file must be a mapping"},
        {"", "exp.yaml:1:1: the experiment file is empty"},
        {"entrypoint: x\nhyperparameters:\n  \"bad name\": 1\n",
         "exp.yaml:3:3: hyperparameter name 'bad name' may only use"},
        {"entrypoint: x\ndatastores: cifar10\n", "exp.yaml:2:13: 'datastores' must be a list"},
    };
    for (const auto& c : cases) {
        INFO(c.yaml);
        CHECK_THAT(error_of(c.yaml), Catch::StartsWith(c.message));
    }
}

TEST_CASE("a missing file is an io error naming the path", "[searcher][config]") {
    try {
        (void)load_experiment_config("/nonexistent/exp.yaml");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::io);
        CHECK_THAT(std::string(e.what()), Catch::Contains("/nonexistent/exp.yaml"));
    }
}

TEST_CASE("the resolved YAML reads back as the same experiment", "[searcher][config]") {
    auto c = load_experiment_config(examples_dir / "random-typed.yaml");
    const std::string yaml = to_yaml(c);
    const auto back = parse_experiment_config(yaml, "resolved.yaml");
    CHECK(back.name == c.name);
    CHECK(back.entrypoint == c.entrypoint);
    REQUIRE(back.hyperparameters.size() == c.hyperparameters.size());
    for (size_t i = 0; i < c.hyperparameters.size(); ++i) {
        CHECK(back.hyperparameters[i].name == c.hyperparameters[i].name);
        CHECK(back.hyperparameters[i].domain.describe() == c.hyperparameters[i].domain.describe());
    }
    CHECK(back.searcher.seed == c.searcher.seed);
    CHECK(back.searcher.max_trials == c.searcher.max_trials);
    CHECK(back.resources.mem == c.resources.mem);
    CHECK(back.resources.time == c.resources.time);
    CHECK(back.resources.slots_per_trial == c.resources.slots_per_trial);
    const auto grid = load_experiment_config(examples_dir / "grid-digits.yaml");
    const auto grid_back = parse_experiment_config(to_yaml(grid), "resolved.yaml");
    CHECK(grid_back.hyperparameters[0].domain.describe() == "[0.01, 0.03, 0.1]");
}

TEST_CASE("command words split like a shell, without expansion", "[searcher][config]") {
    CHECK(split_command_words("python3 train.py") ==
          std::vector<std::string>{"python3", "train.py"});
    CHECK(split_command_words("a 'b c' \"d \\\"e\\\"\" f\\ g $HOME") ==
          std::vector<std::string>{"a", "b c", "d \"e\"", "f g", "$HOME"});
    CHECK(split_command_words("x ''") == std::vector<std::string>{"x", ""});
    CHECK_THROWS_AS(split_command_words("a 'b"), Error);
}

TEST_CASE("Slurm time syntax", "[searcher][config]") {
    for (const char* ok :
         {"30", "30:00", "1:00:00", "2-00", "2-00:30", "2-00:30:00", "UNLIMITED"}) {
        CHECK(is_valid_slurm_time(ok));
    }
    for (const char* bad : {"", "1h", "1:2:3:4", "-1", "a-1", "1::2"}) {
        CHECK_FALSE(is_valid_slurm_time(bad));
    }
}

// Caught by the experiment_yaml fuzzer (tests/fuzz/corpus/experiment_yaml/finding-latin1-value):
// yaml-cpp passes any bytes through, so a Latin-1 file loaded and `hpsweep submit` stopped
// later with an internal JSON error ("invalid UTF-8 byte") instead of naming the place.
TEST_CASE("text that is not UTF-8 is an error at its line and column", "[searcher][config]") {
    CHECK_THAT(error_of("entrypoint: x\nhyperparameters:\n  lr: \"unifo\x88m(1e-5, 1e-2\"\n"),
               Catch::StartsWith("exp.yaml:3:13: the file is not valid UTF-8 (byte 0x88)"));
    CHECK_THAT(error_of("\xe9ntrypoint: x\n"),
               Catch::StartsWith("exp.yaml:1:1: the file is not valid UTF-8 (byte 0xe9)"));
    CHECK_THAT(error_of("entrypoint: python3 caf\xc3.py\n"),
               Catch::StartsWith("exp.yaml:1:24: the file is not valid UTF-8"));
    // Proper UTF-8 is fine, in values and in the command.
    const auto c = parse_experiment_config(
        "entrypoint: python3 caf\xc3\xa9.py\nhyperparameters:\n  name: \xe2\x82\xac\n", "u.yaml");
    CHECK(c.entrypoint[1] == "caf\xc3\xa9.py");
    // Configs built on the command line are checked too.
    ExperimentConfig cli = c;
    cli.entrypoint = {"python3", "caf\xe9.py"};
    CHECK_THROWS_AS(validate_experiment_config(cli), Error);
}

// Found by code review while writing the experiment_yaml fuzz target and confirmed by its
// round-trip check (tests/fuzz/corpus/experiment_yaml/review-const-looks-like-sweep.yaml):
// a constant string that reads like a sweep was written to experiment.yaml plainly, so the
// launcher read it back as a sweep ("[1, 2]") or could not read it at all ("range(3").
TEST_CASE("constant strings that look like sweeps survive the resolved YAML",
          "[searcher][config]") {
    const auto c = parse_experiment_config(
        "entrypoint: x\n"
        "hyperparameters:\n"
        "  a: {type: const, val: \"[1, 2]\"}\n"
        "  b: {type: const, val: \"range(3\"}\n"
        "  c: [\"[1\", x]\n",
        "c.yaml");
    const auto back = parse_experiment_config(to_yaml(c), "resolved.yaml");
    REQUIRE(back.hyperparameters.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        INFO(c.hyperparameters[i].name);
        CHECK(back.hyperparameters[i].domain.kind == c.hyperparameters[i].domain.kind);
        CHECK(back.hyperparameters[i].domain.values == c.hyperparameters[i].domain.values);
    }
    CHECK(back.hyperparameters[0].domain.values[0].text == "[1, 2]");
}

// Found by code review while writing the experiment_yaml fuzz target and confirmed by it
// (review-int-maxval-huge.yaml under UBSan, review-log-overflow.yaml by its finiteness check).
TEST_CASE("typed ranges that no trial value can represent are config errors",
          "[searcher][config]") {
    CHECK_THAT(error_of("entrypoint: x\nhyperparameters:\n"
                        "  a: {type: int, minval: 0, maxval: 9223372036854775807}\n"),
               Catch::StartsWith("exp.yaml:3:37: hyperparameter 'a': maxval must be at most 2^52"));
    CHECK_THAT(error_of("entrypoint: x\nhyperparameters:\n"
                        "  a: {type: log, minval: 0, maxval: 400}\n"),
               Catch::Contains("10.0^0.0 .. 10.0^400.0 is outside the numbers"));
    CHECK_THAT(error_of("entrypoint: x\nhyperparameters:\n"
                        "  a: {type: log, base: 2, minval: -2000, maxval: 1}\n"),
               Catch::StartsWith("exp.yaml:3:35: hyperparameter 'a': 2.0^-2000.0"));
    // The largest ones that still work.
    const auto c = parse_experiment_config(
        "entrypoint: x\nhyperparameters:\n"
        "  a: {type: int, minval: 0, maxval: 4503599627370496}\n"
        "  b: {type: log, minval: -300, maxval: 300, count: 3}\n",
        "ok.yaml");
    CHECK(c.hyperparameters[1].domain.grid_values(0)[2].typed.get<double>() == 1e300);
}
