#include <catch2/catch.hpp>

#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/pbt_config.hpp"
#include "hpsweep/searcher/strategy.hpp"

using namespace hpsweep::searcher;

namespace {

ExperimentConfig pbt_config(const std::string& searcher) {
    return parse_experiment_config(
        "entrypoint: python train.py\n"
        "hyperparameters:\n"
        "  lr: {type: log, base: 10, minval: -4, maxval: -1}\n"
        "searcher: " +
            searcher + "\n",
        "p.yaml");
}

}  // namespace

TEST_CASE("pbt keys are read, defaulted and written back", "[searcher][pbt]") {
    const auto c = pbt_config(
        "{name: pbt, metric: loss, population_size: 6, max_length: {epochs: 10}, "
        "perturb_every: {epochs: 2}, quantile: 0.2, resample_probability: 0.1, "
        "perturbation_factors: [0.5, 2]}");
    CHECK(is_pbt(c.searcher));
    CHECK(c.searcher.max_trials == 6);
    CHECK(c.searcher.pbt.perturb_every->unit == "epochs");
    CHECK(c.searcher.pbt.perturb_every->value == 2);
    const auto settings = pbt_settings(c);
    CHECK(settings.population_size == 6);
    CHECK(settings.perturb_every == 2);
    CHECK(settings.quantile == 0.2);
    CHECK(settings.resample_probability == 0.1);
    CHECK(settings.factors == std::vector<double>{0.5, 2});
    // experiment.yaml (what the launcher reads) keeps every setting.
    const auto again = parse_experiment_config(to_yaml(c), "experiment.yaml");
    CHECK(again.searcher.max_trials == 6);
    CHECK(again.searcher.pbt.perturb_every->value == 2);
    CHECK(pbt_settings(again).factors == settings.factors);
    CHECK(pbt_settings(again).quantile == 0.2);
    // The population starts from random search's configurations, and each row may be
    // superseded by the trial's latest exploit (trial.json).
    const auto trials = generate_trials(c, 3);
    REQUIRE(trials.size() == 6);
    CHECK(trials[5].chosen_at_start);
    CHECK(trials[5].hyperparameters.contains("lr"));
}

TEST_CASE("Determined's pbt keys are accepted as written", "[searcher][pbt]") {
    const auto c = pbt_config(
        "{name: pbt, metric: validation_loss, smaller_is_better: true, population_size: 4, "
        "num_rounds: 5, length_per_round: {batches: 100}, "
        "replace_function: {truncate_fraction: 0.5}, "
        "explore_function: {resample_probability: 0.3, perturb_factor: 0.2}}");
    CHECK(c.searcher.max_trials == 4);
    REQUIRE(c.searcher.max_length);
    CHECK(c.searcher.max_length->unit == "batches");
    CHECK(c.searcher.max_length->value == 500);
    CHECK(c.searcher.pbt.perturb_every->value == 100);
    CHECK(c.searcher.pbt.quantile == 0.5);
    CHECK(c.searcher.pbt.resample_probability == 0.3);
    REQUIRE(c.searcher.pbt.factors.size() == 2);
    CHECK(c.searcher.pbt.factors[0] == Approx(0.8));
    CHECK(c.searcher.pbt.factors[1] == Approx(1.2));
}

TEST_CASE("ready points fall every perturb_every steps and never at the end", "[searcher][pbt]") {
    const auto c =
        pbt_config("{name: pbt, metric: loss, max_trials: 4, max_length: 10, perturb_every: 3}");
    CHECK_FALSE(pbt_ready_point(c, 2));
    CHECK(pbt_ready_point(c, 3) == 1);
    CHECK(pbt_ready_point(c, 5) == 1);
    CHECK(pbt_ready_point(c, 6) == 2);
    CHECK(pbt_ready_point(c, 9) == 3);
    CHECK_FALSE(pbt_ready_point(c, 10));
    const auto other = pbt_config("{name: random, max_trials: 4}");
    CHECK_FALSE(pbt_ready_point(other, 3));
}

TEST_CASE("bad pbt settings name the key", "[searcher][pbt]") {
    using Catch::Contains;
    const std::string base = "name: pbt, metric: loss, max_trials: 4, ";
    CHECK_THROWS_WITH(pbt_config("{name: pbt, max_trials: 4, max_length: 8, perturb_every: 2}"),
                      Contains("pbt needs 'metric'"));
    CHECK_THROWS_WITH(pbt_config("{" + base + "perturb_every: 2}"),
                      Contains("pbt needs 'max_length'"));
    CHECK_THROWS_WITH(pbt_config("{" + base + "max_length: 8}"),
                      Contains("pbt needs 'perturb_every'"));
    CHECK_THROWS_WITH(pbt_config("{" + base + "max_length: 8, perturb_every: 8}"),
                      Contains("must be shorter than 'max_length'"));
    CHECK_THROWS_WITH(
        pbt_config("{" + base + "max_length: {epochs: 8}, perturb_every: {batches: 2}}"),
        Contains("use one unit"));
    CHECK_THROWS_WITH(pbt_config("{" + base + "max_length: 8, perturb_every: 2, quantile: 0.7}"),
                      Contains("p.yaml:4:") && Contains("'quantile' must be in (0, 0.5]"));
    CHECK_THROWS_WITH(
        pbt_config("{" + base + "max_length: 8, perturb_every: 2, resample_probability: 2}"),
        Contains("'resample_probability' must be in [0, 1]"));
    CHECK_THROWS_WITH(
        pbt_config("{" + base + "max_length: 8, perturb_every: 2, perturbation_factors: [0, 2]}"),
        Contains("perturbation factors must be > 0"));
    CHECK_THROWS_WITH(
        pbt_config("{" + base + "max_length: 8, perturb_every: 2, perturbation_factors: 1.2}"),
        Contains("must be a list of numbers"));
    CHECK_THROWS_WITH(
        pbt_config("{name: pbt, metric: loss, max_trials: 4, population_size: 5, max_length: 8, "
                   "perturb_every: 2}"),
        Contains("'searcher.population_size' (5) and 'searcher.max_trials' (4) disagree"));
    CHECK_THROWS_WITH(pbt_config("{" + base + "num_rounds: 3, length_per_round: 2, max_length: 8}"),
                      Contains("disagree"));
    CHECK_THROWS_WITH(pbt_config("{" + base + "num_rounds: 3}"),
                      Contains("'searcher.num_rounds' needs 'searcher.length_per_round'"));
    CHECK_THROWS_WITH(
        pbt_config("{" + base +
                   "max_length: 8, perturb_every: 2, explore_function: {perturb_factor: 1.5}}"),
        Contains("perturb_factor' must be in (0, 1)"));
    CHECK_THROWS_WITH(
        pbt_config("{" + base + "max_length: 8, perturb_every: 2, replace_function: {x: 1}}"),
        Contains("unknown key 'searcher.replace_function.x'"));
    CHECK_THROWS_WITH(pbt_config("{name: pbt, metric: loss, population_size: 1, max_length: 8, "
                                 "perturb_every: 2}"),
                      Contains("population_size"));
    CHECK_THROWS_WITH(
        parse_experiment_config("entrypoint: python train.py\n"
                                "hyperparameters_as: env\n"
                                "hyperparameters: {lr: {type: double, minval: 0, maxval: 1}}\n"
                                "searcher: {" +
                                    base + "max_length: 8, perturb_every: 2}\n",
                                "p.yaml"),
        Contains("hyperparameters_as must be 'flags'"));
}
