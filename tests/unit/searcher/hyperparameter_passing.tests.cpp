// How a trial is given its hyper-parameters: hyperparameters_as, flag_style, budget_flag; and
// the warning for a log range written as values instead of exponents.
#include <catch2/catch.hpp>

#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/strategy.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

ExperimentConfig load(const std::string& extra) {
    return parse_experiment_config(
        "name: p\n"
        "entrypoint: python3 train.py\n"
        "hyperparameters:\n"
        "  global_batch_size: 64\n"
        "  learning_rate: {type: categorical, vals: [0.1, 0.01]}\n"
        "searcher: {name: grid, metric: val_loss, max_length: "
        "{epochs: 9}}\n" +
            extra,
        "exp.yaml");
}

std::vector<std::string> first_argv(const ExperimentConfig& config) {
    return generate_trials(config, 1).front().argv;
}

}  // namespace

TEST_CASE("flags by default, as named", "[searcher][passing]") {
    const auto argv = first_argv(load(""));
    CHECK(argv == std::vector<std::string>{"python3", "train.py", "--global_batch_size", "64",
                                           "--learning_rate", "0.1"});
}

TEST_CASE("flag_style: dash turns '_' into '-'", "[searcher][passing]") {
    const auto argv = first_argv(load("flag_style: dash\n"));
    CHECK(argv == std::vector<std::string>{"python3", "train.py", "--global-batch-size", "64",
                                           "--learning-rate", "0.1"});
}

TEST_CASE("hyperparameters_as: env or none passes no flags; the trials keep their values",
          "[searcher][passing]") {
    for (const char* how : {"env", "none"}) {
        const auto config = load(std::string("hyperparameters_as: ") + how + "\n");
        const auto trials = generate_trials(config, 1);
        REQUIRE(trials.size() == 2);
        CHECK(trials[0].argv == std::vector<std::string>{"python3", "train.py"});
        CHECK(trials[1].hyperparameters["learning_rate"] == 0.01);
        CHECK_THAT(to_yaml(config), Catch::Contains(std::string("hyperparameters_as: ") + how));
    }
}

TEST_CASE("budget_flag passes max_length as a flag", "[searcher][passing]") {
    const auto argv = first_argv(load("hyperparameters_as: env\nbudget_flag: epochs\n"));
    CHECK(argv == std::vector<std::string>{"python3", "train.py", "--epochs", "9"});
}

TEST_CASE("bad passing settings are refused with their place", "[searcher][passing]") {
    CHECK_THROWS_WITH(load("hyperparameters_as: json\n"),
                      Catch::Contains("exp.yaml:7:") &&
                          Catch::Contains("hyperparameters_as must be flags, env or none"));
    CHECK_THROWS_WITH(load("flag_style: camel\n"),
                      Catch::Contains("flag_style must be underscore or dash"));
    CHECK_THROWS_WITH(load("budget_flag: --epochs\n"), Catch::Contains("without dashes"));
}

TEST_CASE("a log range whose bounds look like values warns that Determined takes exponents",
          "[searcher][passing]") {
    const auto config = parse_experiment_config(
        "name: p\nentrypoint: python3 train.py\n"
        "hyperparameters:\n"
        "  lr: {type: log, minval: 0.001, maxval: 0.1, base: 10}\n"
        "searcher: {name: random, max_trials: 2, metric: loss}\n",
        "exp.yaml");
    REQUIRE(config.warnings.size() == 1);
    CHECK_THAT(config.warnings[0], Catch::Contains("type log takes exponents") &&
                                       Catch::Contains("minval: -3") &&
                                       Catch::Contains("maxval: -1"));
    const auto plain = parse_experiment_config(
        "name: p\nentrypoint: python3 train.py\n"
        "hyperparameters:\n"
        "  lr: {type: log, minval: -4, maxval: -1, base: 10}\n"
        "searcher: {name: random, max_trials: 2, metric: loss}\n",
        "exp.yaml");
    CHECK(plain.warnings.empty());
}
