// `hpsweep extend`: what counts as a widening and which trials are added.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/expression.hpp"
#include "hpsweep/searcher/extension.hpp"
#include "hpsweep/searcher/strategy.hpp"
#include "sweep_config.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

// The sweep of `hpsweep run train.py --NAME EXPR ...` with seed 7.
ExperimentConfig sweep(const std::vector<std::pair<std::string, std::string>>& flags,
                       const std::string& strategy = "grid", long long max_trials = 0) {
    auto c = sweep_config(flags, strategy, max_trials);
    c.searcher.seed = 7;
    return c;
}

// `experiment` with hyper-parameter NAME given as EXPR.
ExperimentConfig widen(ExperimentConfig c, const std::string& name, const std::string& expr) {
    for (auto& hp : c.hyperparameters) {
        if (hp.name == name)
            hp.domain = parse_sweep_expression(expr);
    }
    return c;
}

std::set<std::string> hashes(const std::vector<TrialRecord>& trials) {
    std::set<std::string> out;
    for (const auto& t : trials) out.insert(hyperparameter_hash(t.hyperparameters));
    return out;
}

void check_refused(const ExperimentConfig& experiment, const ExperimentConfig& widened,
                   const std::string& fragment) {
    try {
        check_widening(experiment, widened, 7);
        FAIL("expected a refusal containing: " + fragment);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        CHECK_THAT(e.what(), Catch::Contains(fragment));
        CHECK_THAT(e.what(), Catch::Contains("extend only adds trials of the same experiment"));
    }
}

}  // namespace

TEST_CASE("extend a grid: the widened grid minus what ran, ids after the table",
          "[searcher][extend]") {
    const auto experiment = sweep({{"lr", "[0.1, 0.01]"}, {"bs", "[8, 16]"}});
    const auto existing = generate_trials(experiment, 7);
    REQUIRE(existing.size() == 4);
    // 0.10 is the same value as the experiment's 0.1: not run again.
    const auto widened = widen(experiment, "lr", "[0.001, 0.10, 0.01]");
    check_widening(experiment, widened, 7);
    CHECK(trials_to_add(experiment, widened, std::nullopt) == 0);
    const auto added = extension_trials(widened, 7, existing, 0);
    REQUIRE(added.size() == 2);
    CHECK(added[0].id == 4);
    CHECK(added[1].id == 5);
    for (const auto& t : added) {
        CHECK(t.hyperparameters["lr"] == 0.001);
        CHECK(t.hp_hash == hyperparameter_hash(t.hyperparameters));
        CHECK(t.argv[2] == "--lr");
        CHECK(t.argv[3] == "0.001");
    }
    CHECK(added[0].hyperparameters["bs"] == 8);
    CHECK(added[1].hyperparameters["bs"] == 16);

    // Extending again with the rows added: nothing new.
    auto all = existing;
    all.insert(all.end(), added.begin(), added.end());
    CHECK(extension_trials(widened, 7, all, 0).empty());

    // A fixed value widened into a list that holds it is a widening too.
    const auto fixed = sweep({{"lr", "[0.1, 0.01]"}, {"epochs", "3"}});
    const auto more_epochs = widen(fixed, "epochs", "[3, 5]");
    check_widening(fixed, more_epochs, 7);
    CHECK(extension_trials(more_epochs, 7, generate_trials(fixed, 7), 0).size() == 2);
}

TEST_CASE("extend refuses what is not a widening, naming it", "[searcher][extend]") {
    const auto experiment = sweep({{"lr", "[0.1, 0.01]"}, {"epochs", "3"}});
    check_refused(experiment, widen(experiment, "lr", "[0.1, 0.001]"),
                  "hyper-parameter 'lr' is [0.1, 0.001] (the experiment has [0.1, 0.01]), "
                  "without the experiment's value 0.01");
    check_refused(experiment, widen(experiment, "epochs", "4"), "without the experiment's value 3");

    auto removed = experiment;
    removed.hyperparameters.pop_back();
    check_refused(experiment, removed, "hyper-parameter 'epochs' is missing");

    auto added = experiment;
    added.hyperparameters.push_back(Hyperparameter{"wd", parse_sweep_expression("[0, 1]"), "--wd"});
    check_refused(experiment, added, "hyper-parameter 'wd' (--wd) is not in the experiment");

    auto other_program = experiment;
    other_program.entrypoint = {"/usr/bin/python3", "train2.py"};
    check_refused(experiment, other_program, "entrypoint is");

    auto other_searcher = experiment;
    other_searcher.searcher.strategy = Strategy::random;
    other_searcher.searcher.max_trials = 2;
    check_refused(experiment, other_searcher, "searcher.name is random");

    auto other_time = experiment;
    other_time.resources.time = "1:00:00";
    check_refused(experiment, other_time, "resources.time is");

    // The name and the trial count may differ (an experiment file copied and edited).
    auto renamed = experiment;
    renamed.name = "t2";
    check_widening(experiment, renamed, 7);
}

TEST_CASE("extend: how many trials to add, and what cannot be extended", "[searcher][extend]") {
    const auto grid = sweep({{"lr", "[0.1, 0.01]"}});
    CHECK_THROWS_WITH(trials_to_add(grid, grid, 3),
                      Catch::Contains("--num-trials is for random_search, asha and tpe"));
    const auto random = sweep({{"lr", "[0.1, 0.01, 0.001]"}}, "random", 2);
    CHECK(trials_to_add(random, random, 3) == 3);
    auto raised = random;
    raised.searcher.max_trials = 5;
    CHECK(trials_to_add(random, raised, std::nullopt) == 3);
    try {
        (void)trials_to_add(random, random, std::nullopt);
        FAIL("expected a usage error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::usage);
        CHECK_THAT(e.what(), Catch::Contains("needs --num-trials N"));
    }
    auto pbt = random;
    pbt.searcher.strategy = Strategy::pbt;
    try {
        (void)trials_to_add(pbt, pbt, 2);
        FAIL("expected a config error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        CHECK_THAT(e.what(), Catch::Contains("population is fixed"));
    }
}

TEST_CASE("extend a random search: N more distinct draws, reproducible, none repeated",
          "[searcher][extend]") {
    const auto experiment =
        sweep({{"lr", "[0.1, 0.01, 0.001]"}, {"bs", "[8, 16, 32]"}}, "random", 4);
    const auto existing = generate_trials(experiment, 7);
    REQUIRE(existing.size() == 4);
    const auto added = extension_trials(experiment, 7, existing, 3);
    REQUIRE(added.size() == 3);
    auto seen = hashes(existing);
    for (size_t i = 0; i < added.size(); ++i) {
        CHECK(added[i].id == 4 + static_cast<long>(i));
        CHECK(seen.insert(added[i].hp_hash).second);  // new, and distinct from each other
    }
    // The same extension of the same table draws the same trials.
    const auto again = extension_trials(experiment, 7, existing, 3);
    REQUIRE(again.size() == 3);
    for (size_t i = 0; i < 3; ++i) CHECK(again[i].hyperparameters == added[i].hyperparameters);

    // A finite space runs out: 9 configurations, 7 taken, asking for 5 gives the 2 left.
    auto all = existing;
    all.insert(all.end(), added.begin(), added.end());
    const auto rest = extension_trials(experiment, 7, all, 5);
    REQUIRE(rest.size() == 2);
    for (const auto& t : rest) CHECK(seen.insert(t.hp_hash).second);
    all.insert(all.end(), rest.begin(), rest.end());
    CHECK(extension_trials(experiment, 7, all, 1).empty());
}

TEST_CASE("extend a continuous space: a wider range is a widening, new draws are new",
          "[searcher][extend]") {
    const auto experiment = parse_experiment_config(R"(
name: t
entrypoint: python3 train.py
hyperparameters:
  lr: {type: double, minval: 0.0, maxval: 1.0}
  bs: [8, 16]
searcher: {name: random, max_trials: 3, seed: 7, metric: loss}
)",
                                                    "exp.yaml");
    const auto existing = generate_trials(experiment, 7);
    auto wider = experiment;
    wider.hyperparameters[0].domain.maxval = 2.0;
    check_widening(experiment, wider, 7);
    const auto added = extension_trials(wider, 7, existing, 4);
    REQUIRE(added.size() == 4);
    auto seen = hashes(existing);
    for (const auto& t : added) {
        CHECK(seen.insert(t.hp_hash).second);
        CHECK(t.hyperparameters["lr"].get<double>() >= 0.0);
        CHECK(t.hyperparameters["lr"].get<double>() < 2.0);
    }
    auto narrower = experiment;
    narrower.hyperparameters[0].domain.minval = 0.5;
    try {
        check_widening(experiment, narrower, 7);
        FAIL("expected a refusal");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("does not contain every value"));
    }
}

TEST_CASE("extend tpe: more placeholders after the table", "[searcher][extend]") {
    const auto experiment = parse_experiment_config(R"(
name: t
entrypoint: python3 train.py
hyperparameters:
  lr: {type: log, base: 10, minval: -4, maxval: -1}
searcher: {name: tpe, max_trials: 3, seed: 7, metric: loss}
)",
                                                    "exp.yaml");
    const auto existing = generate_trials(experiment, 7);
    const auto added = extension_trials(experiment, 7, existing, 2);
    REQUIRE(added.size() == 2);
    CHECK(added[0].id == 3);
    CHECK(added[1].chosen_at_start);
    CHECK(added[1].hyperparameters.empty());
    CHECK(added[1].argv == experiment.entrypoint);
}
