#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/searcher/strategy.hpp"
#include "sweep_config.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {
std::string key(const TrialRecord& t) {
    return t.hyperparameters.dump();
}
}  // namespace

TEST_CASE("grid: every combination, first hyperparameter slowest, argv in declared order",
          "[searcher][strategy]") {
    const auto c = sweep_config(
        {{"lr", "[0.1, 0.01]"}, {"backbone", "['resnet18', 'resnet50']"}, {"epochs", "3"}});
    CHECK(count_trials(c) == 4);
    const auto trials = generate_trials(c, 0);
    REQUIRE(trials.size() == 4);
    CHECK(trials[0].argv == std::vector<std::string>{"/usr/bin/python3", "train.py", "--lr", "0.1",
                                                     "--backbone", "resnet18", "--epochs", "3"});
    CHECK(trials[1].argv[5] == "resnet50");
    CHECK(trials[2].argv[3] == "0.01");
    for (long i = 0; i < 4; ++i) CHECK(trials[static_cast<size_t>(i)].id == i);
    CHECK(trials[3].hyperparameters.dump() == R"({"lr":0.01,"backbone":"resnet50","epochs":3})");
}

TEST_CASE("the issue's command lines give the documented trial counts", "[searcher][strategy]") {
    CHECK(generate_trials(sweep_config({{"lr", "uniform(1e-5, 1e-2, 5)"},
                                        {"backbone", "['resnet18', 'resnet50']"}}),
                          1)
              .size() == 10);
    CHECK(generate_trials(sweep_config({{"batch_size", "[8, 16, 32, 64]"}}), 1).size() == 4);
    const auto ranged = generate_trials(sweep_config({{"n", "range(1, 10, 2)"}}), 1);
    REQUIRE(ranged.size() == 5);
    CHECK(ranged[4].argv.back() == "9");
    CHECK(generate_trials(sweep_config({{"lr", "loguniform(1e-5, 1e-1, 4)"}}), 1).size() == 4);
    const auto two_of_four = generate_trials(
        sweep_config({{"batch_size", "[1, 2]"}, {"layers", "[3, 5]"}}, "random", 2), 5);
    REQUIRE(two_of_four.size() == 2);
    CHECK(key(two_of_four[0]) != key(two_of_four[1]));  // two distinct combinations
}

TEST_CASE("random search is reproducible from the seed and changes with it",
          "[searcher][strategy]") {
    const auto c = sweep_config({{"a", "range(0, 100)"}, {"b", "range(0, 100)"}}, "random", 50);
    const auto first = generate_trials(c, 42);
    const auto again = generate_trials(c, 42);
    const auto other = generate_trials(c, 43);
    REQUIRE(first.size() == 50);
    std::set<std::string> distinct;
    bool differs = false;
    for (size_t i = 0; i < first.size(); ++i) {
        CHECK(first[i].argv == again[i].argv);
        distinct.insert(key(first[i]));
        differs = differs || key(first[i]) != key(other[i]);
    }
    CHECK(distinct.size() == 50);
    CHECK(differs);
}

TEST_CASE("random search asking for more trials than combinations runs each once",
          "[searcher][strategy]") {
    const auto c = sweep_config({{"a", "[1, 2]"}, {"b", "[x, y]"}}, "random", 10);
    CHECK(count_trials(c) == 4);
    const auto trials = generate_trials(c, 9);
    std::set<std::string> distinct;
    for (const auto& t : trials) distinct.insert(key(t));
    CHECK(distinct.size() == 4);
}

TEST_CASE("continuous Determined ranges are sampled per trial within their bounds",
          "[searcher][strategy]") {
    const auto c = parse_experiment_config(R"(
entrypoint: train
hyperparameters:
  lr: {type: log, minval: -4, maxval: -1}
  hidden: {type: int, minval: 16, maxval: 128}
  act: {type: categorical, vals: [relu, tanh]}
searcher: {name: random, max_trials: 40, seed: 3}
)",
                                           "r.yaml");
    const auto trials = generate_trials(c, *c.searcher.seed);
    REQUIRE(trials.size() == 40);
    std::set<std::string> acts;
    for (const auto& t : trials) {
        const double lr = t.hyperparameters["lr"].get<double>();
        CHECK(lr >= 1e-4);
        CHECK(lr <= 1e-1);
        const long hidden = t.hyperparameters["hidden"].get<long>();
        CHECK(hidden >= 16);
        CHECK(hidden <= 128);
        acts.insert(t.hyperparameters["act"].get<std::string>());
        CHECK(t.argv.size() == 7);
    }
    CHECK(acts.size() == 2);
    // Adding a hyperparameter does not change the values drawn for the others.
    auto wider = c;
    wider.hyperparameters.push_back(Hyperparameter{"extra", parse_sweep_expression("[1, 2]"), "x"});
    const auto wider_trials = generate_trials(wider, *c.searcher.seed);
    for (size_t i = 0; i < trials.size(); ++i) {
        CHECK(wider_trials[i].hyperparameters["lr"] == trials[i].hyperparameters["lr"]);
    }
}

TEST_CASE("single runs one trial; adaptive_asha draws max_trials", "[searcher][strategy]") {
    const auto single = sweep_config({{"lr", "[0.1, 0.2]"}}, "single");
    CHECK(count_trials(single) == 1);
    CHECK(generate_trials(single, 1).size() == 1);
    auto asha = sweep_config({{"lr", "uniform(0, 1, 100)"}}, "random", 16);
    asha.searcher.strategy = Strategy::adaptive_asha;
    asha.searcher.metric = "loss";
    asha.searcher.max_length = MaxLength{"epochs", 10};
    validate_experiment_config(asha);
    CHECK(generate_trials(asha, 1).size() == 16);
}

TEST_CASE("huge grids are counted without being built", "[searcher][strategy]") {
    const auto c = sweep_config({{"a", "range(100000)"},
                                 {"b", "range(100000)"},
                                 {"c", "range(100000)"},
                                 {"d", "range(100000)"}});
    CHECK(count_trials(c) == UINT64_MAX);  // saturated, not wrapped
    const auto ten_thousand = sweep_config({{"a", "range(100)"}, {"b", "range(100)"}});
    CHECK(count_trials(ten_thousand) == 10000);
    const auto trials = generate_trials(ten_thousand, 0);
    REQUIRE(trials.size() == 10000);
    CHECK(trials.back().argv ==
          std::vector<std::string>{"/usr/bin/python3", "train.py", "--a", "99", "--b", "99"});
}
