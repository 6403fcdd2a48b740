// searcher.step_unit: Determined's lengths (records, batches, epochs) converted into the unit
// the trial reports steps in, and every refusal with the keys and places it names.
#include <catch2/catch.hpp>

#include <string>

#include "hpsweep/error.hpp"
#include "hpsweep/searcher/config.hpp"
#include "hpsweep/searcher/length_units.hpp"
#include "hpsweep/searcher/strategy.hpp"

using namespace hpsweep;
using namespace hpsweep::searcher;

namespace {

// A Determined file whose trial reports per epoch: `sizes` at the top level (line 6, a
// description when empty), `searcher_extra` inside the searcher block (line 11 onwards).
ExperimentConfig load(const std::string& sizes, const std::string& searcher_extra,
                      const std::string& batch_size = "64") {
    return parse_experiment_config(
        "name: det\n"                     // 1
        "entrypoint: python3 train.py\n"  // 2
        "hyperparameters:\n"              // 3
        "  global_batch_size: " +
            batch_size +
            "\n"                                                           // 4
            "  lr: {type: categorical, vals: [0.1, 0.01]}\n"               // 5
            + (sizes.empty() ? std::string("description: d\n") : sizes) +  // 6
            "searcher:\n"                                                  // 7
            "  name: adaptive_asha\n"                                      // 8
            "  metric: val_loss\n"                                         // 9
            "  max_trials: 2\n"                                            // 10
            + searcher_extra,
        "exp.yaml");
}

std::string error_of(const std::string& sizes, const std::string& searcher_extra,
                     const std::string& batch_size = "64") {
    try {
        (void)load(sizes, searcher_extra, batch_size);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e.what();
    }
    FAIL("no error for " << sizes << searcher_extra);
    return {};
}

const UnitSizes sizes{60000, 64};

}  // namespace

TEST_CASE("lengths convert between records, epochs and batches", "[searcher][length_units]") {
    auto in = [](long long value, const std::string& from, const std::string& to) {
        return convert_length(MaxLength{from, value}, to, sizes);
    };
    CHECK(in(960000, "records", "epochs").length.value == 16);
    CHECK_FALSE(in(960000, "records", "epochs").rounded);
    CHECK(in(16, "epochs", "records").length.value == 960000);
    CHECK(in(6400, "records", "batches").length.value == 100);
    CHECK(in(100, "batches", "records").length.value == 6400);
    CHECK(in(2, "epochs", "batches").length.value == 1875);  // 120000 / 64
    CHECK(in(1875, "batches", "epochs").length.value == 2);
    CHECK(in(7, "steps", "steps").length.value == 7);
    CHECK(in(7, "epochs", "epochs").length.unit == "epochs");
    const auto partial = in(1000000, "records", "epochs");
    CHECK(partial.length == MaxLength{"epochs", 16});  // rounded down
    CHECK(partial.rounded);
    CHECK(partial.exact == Approx(16.6667).epsilon(1e-4));
    CHECK(in(59999, "records", "epochs").length.value == 0);  // under one: the caller refuses
    // Units that have no size, sizes that are missing, and results that do not fit.
    CHECK_THROWS_WITH(in(5, "steps", "epochs"), Catch::Contains("steps have no size"));
    CHECK_THROWS_WITH(convert_length(MaxLength{"records", 5}, "epochs", UnitSizes{{}, 64}),
                      Catch::Contains("without records_per_epoch"));
    CHECK_THROWS_WITH(convert_length(MaxLength{"records", 5}, "batches", UnitSizes{60000, {}}),
                      Catch::Contains("without global_batch_size"));
    CHECK_THROWS_WITH(convert_length(MaxLength{"epochs", 1LL << 62}, "records", sizes),
                      Catch::Contains("too many records"));
    CHECK(missing_size("records", "records", UnitSizes{}).empty());
    CHECK(missing_size("epochs", "batches", UnitSizes{60000, {}}) == "global_batch_size");
}

TEST_CASE("step_unit converts max_length into the unit the trial reports",
          "[searcher][length_units]") {
    const auto c = load("records_per_epoch: 60000\n",
                        "  max_length: {records: 960000}\n  step_unit: epochs\n");
    REQUIRE(c.searcher.max_length);
    CHECK(*c.searcher.max_length == MaxLength{"epochs", 16});
    CHECK(c.searcher.step_unit == "epochs");
    REQUIRE(c.searcher.as_written);
    CHECK(c.searcher.as_written->max_length == MaxLength{"records", 960000});
    CHECK(c.searcher.as_written->records_per_epoch == 60000);
    CHECK_FALSE(c.searcher.as_written->global_batch_size);  // not used by this conversion
    CHECK(c.warnings.empty());
    CHECK(describe_conversion(c.searcher) ==
          "960000 records = 16 epochs at records_per_epoch 60000");

    const auto batches = load("", "  max_length: {records: 6400}\n  step_unit: batches\n");
    CHECK(*batches.searcher.max_length == MaxLength{"batches", 100});
    CHECK(batches.searcher.as_written->global_batch_size == 64);
    CHECK(describe_conversion(batches.searcher) ==
          "6400 records = 100 batches at global_batch_size 64");

    const auto both =
        load("records_per_epoch: 640\n", "  max_length: {batches: 30}\n  step_unit: epochs\n");
    CHECK(*both.searcher.max_length == MaxLength{"epochs", 3});
    CHECK(describe_conversion(both.searcher) ==
          "30 batches = 3 epochs at records_per_epoch 640, global_batch_size 64");
}

TEST_CASE("the converted length is what budget_flag passes", "[searcher][length_units]") {
    const auto c = load("records_per_epoch: 60000\nhyperparameters_as: env\nbudget_flag: epochs\n",
                        "  max_length: {records: 960000}\n  step_unit: epochs\n");
    CHECK(generate_trials(c, 1).front().argv ==
          std::vector<std::string>{"python3", "train.py", "--epochs", "16"});
}

TEST_CASE("without step_unit nothing converts, as before", "[searcher][length_units]") {
    const auto c = load("records_per_epoch: 60000\n", "  max_length: {records: 960000}\n");
    CHECK(*c.searcher.max_length == MaxLength{"records", 960000});
    CHECK(c.searcher.step_unit.empty());
    CHECK_FALSE(c.searcher.as_written);
    REQUIRE(c.warnings.size() == 1);
    CHECK_THAT(c.warnings[0], Catch::StartsWith("exp.yaml:6:20: warning: 'records_per_epoch'") &&
                                  Catch::Contains("'searcher.step_unit'"));
    CHECK(describe_conversion(c.searcher).empty());
    // A step_unit that is max_length's own unit needs no sizes and records no conversion.
    const auto same = load("", "  max_length: {epochs: 4}\n  step_unit: epochs\n");
    CHECK(*same.searcher.max_length == MaxLength{"epochs", 4});
    CHECK_FALSE(same.searcher.as_written);
    CHECK(same.warnings.empty());
}

TEST_CASE("a length that does not divide evenly is rounded down with a warning",
          "[searcher][length_units]") {
    const auto c = load("records_per_epoch: 60000\n",
                        "  max_length: {records: 1000000}\n  step_unit: epochs\n");
    CHECK(*c.searcher.max_length == MaxLength{"epochs", 16});
    REQUIRE(c.warnings.size() == 1);
    CHECK_THAT(c.warnings[0],
               Catch::StartsWith("exp.yaml:11:15: warning: 'searcher.max_length' (1000000 "
                                 "records) is 16.6667 epochs at records_per_epoch 60000; "
                                 "rounded down to 16 epochs"));
    CHECK(describe_conversion(c.searcher) ==
          "1000000 records = 16.6667 epochs at records_per_epoch 60000, rounded down to 16 "
          "epochs");
}

TEST_CASE("conversions that cannot be made are refused with the keys and places",
          "[searcher][length_units]") {
    // records_per_epoch missing: at max_length, naming step_unit and its place.
    CHECK_THAT(error_of("", "  max_length: {records: 960000}\n  step_unit: epochs\n"),
               Catch::StartsWith("exp.yaml:11:15: converting 'searcher.max_length' (960000 "
                                 "records) into epochs (searcher.step_unit: epochs at "
                                 "exp.yaml:12:14) needs 'records_per_epoch'") &&
                   Catch::Contains("add `records_per_epoch: N` at its top level"));
    // global_batch_size a sweep: at the hyper-parameter.
    CHECK_THAT(error_of("", "  max_length: {records: 6400}\n  step_unit: batches\n", "[32, 64]"),
               Catch::StartsWith("exp.yaml:4:22: converting 'searcher.max_length'") &&
                   Catch::Contains("needs the hyper-parameter 'global_batch_size' to be one "
                                   "integer") &&
                   Catch::Contains("[32, 64]"));
    CHECK_THAT(error_of("", "  max_length: {records: 6400}\n  step_unit: batches\n", "64.5"),
               Catch::StartsWith("exp.yaml:4:22:") &&
                   Catch::Contains("'global_batch_size' to be an integer >= 1") &&
                   Catch::Contains("64.5"));
    CHECK_THAT(error_of("", "  max_length: {records: 6400}\n  step_unit: batches\n", "0"),
               Catch::Contains("'global_batch_size' to be an integer >= 1"));
    // global_batch_size missing: at max_length.
    CHECK_THAT(
        [] {
            try {
                (void)parse_experiment_config(
                    "entrypoint: t\nhyperparameters: {lr: 0.1}\nsearcher: {name: adaptive_asha, "
                    "metric: l, max_length: {records: 640}, step_unit: batches}\n",
                    "exp.yaml");
            } catch (const Error& e) {
                return std::string(e.what());
            }
            return std::string("no error");
        }(),
        Catch::StartsWith("exp.yaml:3:") &&
            Catch::Contains("needs the hyper-parameter 'global_batch_size' (the records in a "
                            "batch), which the file does not give") &&
            Catch::Contains("searcher.step_unit: batches at exp.yaml:3:"));
    // Under one unit.
    CHECK_THAT(error_of("records_per_epoch: 60000\n",
                        "  max_length: {records: 500}\n  step_unit: epochs\n"),
               Catch::StartsWith("exp.yaml:11:15: 'searcher.max_length' (500 records) is "
                                 "0.008333 epochs at records_per_epoch 60000") &&
                   Catch::Contains("under one epoch"));
    CHECK_THAT(error_of("", "  max_length: {records: 32}\n  step_unit: batches\n"),
               Catch::StartsWith("exp.yaml:11:15: 'searcher.max_length' (32 records) is 0.5 "
                                 "batches at global_batch_size 64") &&
                   Catch::Contains("under one batch,"));
    // Steps have no size, either way.
    CHECK_THAT(error_of("records_per_epoch: 60000\n", "  max_length: 16\n  step_unit: epochs\n"),
               Catch::StartsWith("exp.yaml:11:15: converting 'searcher.max_length' (16 steps)") &&
                   Catch::Contains("steps have no size"));
    CHECK_THAT(
        error_of("records_per_epoch: 60000\n", "  max_length: {epochs: 16}\n  step_unit: steps\n"),
        Catch::Contains("steps have no size"));
    // Unknown units and bad sizes, at their own keys.
    CHECK_THAT(
        error_of("records_per_epoch: 60000\n", "  max_length: {epochs: 16}\n  step_unit: epoch\n"),
        Catch::StartsWith("exp.yaml:12:14: 'searcher.step_unit' must be epochs, batches, "
                          "records or steps"));
    CHECK_THAT(error_of("records_per_epoch: 0\n", "  max_length: {epochs: 16}\n"),
               Catch::StartsWith("exp.yaml:6:20: 'records_per_epoch' must be at least 1"));
}

TEST_CASE("pbt's lengths convert too, Determined's rounds kept", "[searcher][length_units]") {
    const auto c = parse_experiment_config(
        "entrypoint: t\n"
        "hyperparameters: {lr: {type: double, minval: 0.001, maxval: 0.1}}\n"
        "records_per_epoch: 600\n"
        "hyperparameters_as: flags\n"
        "searcher:\n"
        "  name: pbt\n"
        "  metric: val_loss\n"
        "  population_size: 4\n"
        "  num_rounds: 5\n"
        "  length_per_round: {records: 1200}\n"
        "  step_unit: epochs\n",
        "exp.yaml");
    CHECK(*c.searcher.pbt.perturb_every == MaxLength{"epochs", 2});
    CHECK(*c.searcher.max_length == MaxLength{"epochs", 10});
    CHECK(c.searcher.as_written->perturb_every == MaxLength{"records", 1200});
    CHECK(c.searcher.as_written->max_length == MaxLength{"records", 6000});
    CHECK_THAT(
        [] {
            try {
                (void)parse_experiment_config(
                    "entrypoint: t\nhyperparameters: {lr: 0.1}\nrecords_per_epoch: 600\n"
                    "searcher: {name: pbt, metric: l, population_size: 4, num_rounds: 5,\n"
                    "           length_per_round: {records: 100}, step_unit: epochs}\n",
                    "exp.yaml");
            } catch (const Error& e) {
                return std::string(e.what());
            }
            return std::string("no error");
        }(),
        Catch::StartsWith("exp.yaml:5:30: 'searcher.length_per_round' (100 records) is") &&
            Catch::Contains("under one epoch"));
}

TEST_CASE("experiment.yaml keeps the converted lengths and reads back unchanged",
          "[searcher][length_units]") {
    const auto c = load("records_per_epoch: 60000\n",
                        "  max_length: {records: 960000}\n  step_unit: epochs\n");
    const std::string yaml = to_yaml(c);
    CHECK_THAT(yaml,
               Catch::Contains("max_length: {epochs: 16}") && Catch::Contains("step_unit: epochs"));
    const auto back = parse_experiment_config(yaml, "EXP/experiment.yaml");
    CHECK(*back.searcher.max_length == MaxLength{"epochs", 16});
    CHECK(back.searcher.step_unit == "epochs");
    CHECK_FALSE(back.searcher.as_written);
    CHECK(back.warnings.empty());
}
